"""The run summary as a person reads it in the terminal."""
from components.drift_gate.comparison import OVER
from driftline.run_summary import HEADLINE_METRICS, Summary


def finding(feature: dict) -> str:
    """One offending feature (a FeatureDrift as JSON) as a person reads it."""
    if feature["distance"] is None:
        return f"{feature['name']}: {feature['verdict']}"
    return (f"{feature['name']}: distance {feature['distance']:.4f} > threshold "
            f"{feature['threshold']:.4f} ({feature['kind']})")


def drift_findings(drift: dict) -> list:
    """One line per reason the gate would stop a run."""
    lines = [finding(f) for f in drift["offending"]]
    if drift["examples_verdict"] == OVER:
        lines.append(
            f"example count ratio {drift['examples_ratio']:.3f} outside {drift['examples_bounds']}"
        )
    lines += [f"schema anomaly in {name}: {text}" for name, text in drift["anomalies"]]
    return lines


def gate_block_message(summary: Summary) -> str:
    drift = summary.drift
    lines = [
        f"the drift gate stopped span {summary.span} before Transform and Trainer: "
        "nothing was trained or pushed, the serving model is unchanged.",
        f"  current: {drift['current']}    baseline: {drift['baseline']}",
    ]
    lines += [f"  - {line}" for line in drift_findings(drift)]
    lines += [
        f"  report: {drift['report']}",
        f"  lineage (MLMD): {summary.metadata_path}",
        "  To accept this data: fix it, edit the thresholds or domains in the schema file, "
        "or set [drift] gate = \"warn\" in a config file.",
    ]
    return "\n".join(lines)


def render(summary: Summary, seconds: float) -> str:
    lines = [
        "",
        f"Run {summary.run_id} finished in {seconds:.1f} s",
        f"  span            {summary.span} (trained on spans {', '.join(map(str, summary.window))})",
    ]
    if summary.rows:
        lines.append(
            "  rows            "
            + ", ".join(f"{split} {count}" for split, count in summary.rows.items())
            + f" (span {summary.span})"
        )
    if summary.metrics:
        lines.append(
            "  metrics         "
            + "  ".join(f"{k} {summary.metrics[k]:.3f}" for k in HEADLINE_METRICS if k in summary.metrics)
        )
    if summary.weakest_slice:
        name, f1 = summary.weakest_slice
        lines.append(f"  weakest slice   {name}: f1_score {f1:.3f}")
    if summary.drift:
        d = summary.drift
        gated = [f for f in d["features"] if f["threshold"] is not None and f["distance"] is not None]
        worst = max(gated, key=lambda f: f["distance"] / f["threshold"] if f["threshold"] else 0, default=None)
        state = "passed" if d["clean"] else ("WARNINGS (gate = warn)" if d["passed"] else "BLOCKED")
        closest = f"; closest: {worst['name']} {worst['distance']:.3f} / {worst['threshold']:.3f}" if worst else ""
        lines.append(f"  drift           {state} vs {d['baseline']}{closest}")
        lines.extend(f"    - {line}" for line in drift_findings(d))
        lines.append(f"  drift report    {d['report']}")
    if summary.blessed is None:
        lines.append("  blessed         not evaluated")
    elif summary.blessed:
        lines.append("  blessed         yes: every threshold met")
    else:
        lines.append("  blessed         NO")
        lines.extend(f"    - {reason}" for reason in summary.blessing_reasons)
    if summary.pushed_path:
        lines.append(f"  pushed          {summary.pushed_path}")
    else:
        lines.append("  pushed          nothing: the serving model is unchanged")
    lines.append(f"  lineage (MLMD)  {summary.metadata_path}")
    return "\n".join(lines) + "\n"
