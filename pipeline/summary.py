"""The end-of-run summary, read back from MLMD and the artifacts it points to."""
import math
import os
from dataclasses import dataclass, field
from typing import Optional

from components.drift.compare import OVER
from pipeline import metadata
from pipeline.config import Config

HEADLINE_METRICS = ["auc", "f1_score", "precision", "recall", "binary_accuracy"]
# Slices smaller than this are too noisy to call "weakest".
MIN_SLICE_EXAMPLES = 30


@dataclass
class Summary:
    run_id: str
    span: int
    window: list
    rows: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    weakest_slice: Optional[tuple] = None
    blessed: Optional[bool] = None
    blessing_reasons: list = field(default_factory=list)
    pushed_path: Optional[str] = None
    metadata_path: str = ""
    node_states: dict = field(default_factory=dict)
    drift: Optional[dict] = None

    @property
    def gate_blocked(self) -> bool:
        return self.drift is not None and not self.drift["passed"]


def read_drift(report_artifact) -> dict:
    """The DriftGate's verdict, from its artifact's properties and the JSON beside it."""
    import json

    verdict = metadata.drift_verdict(report_artifact)
    with open(os.path.join(report_artifact.uri, "drift.json")) as f:
        comparison = json.load(f)
    return {
        "passed": verdict["passed"],
        "clean": verdict["clean"],
        "gate": verdict["gate"],
        "baseline": comparison["baseline_label"],
        "current": comparison["current_label"],
        "features": comparison["features"],
        "offending": [f for f in comparison["features"] if f["name"] in comparison["offending"]],
        "examples_verdict": comparison["examples_verdict"],
        "examples_ratio": comparison["examples_ratio"],
        "examples_bounds": comparison["examples_bounds"],
        "anomalies": verdict["anomalies"],
        "report": verdict["report"],
    }


def drift_findings(drift: dict) -> list:
    """One line per reason the gate would stop a run."""
    lines = [
        f"{f['name']}: distance {f['distance']:.4f} > threshold {f['threshold']:.4f} ({f['kind']})"
        for f in drift["offending"]
    ]
    if drift["examples_verdict"] == OVER:
        lines.append(
            f"example count ratio {drift['examples_ratio']:.3f} outside {drift['examples_bounds']}"
        )
    lines += [f"schema anomaly in {name}: {text}" for name, text in drift["anomalies"]]
    return lines


def gate_block_message(summary: "Summary") -> str:
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


def _stats_rows(uri: str) -> dict:
    import tensorflow_data_validation as tfdv

    rows = {}
    for split in ("train", "eval"):
        path = os.path.join(uri, f"Split-{split}", "FeatureStats.pb")
        if os.path.exists(path):
            stats = tfdv.load_stats_binary(path)
            rows[split] = stats.datasets[0].num_examples
    return rows


def _slice_metrics(eval_uri: str) -> dict:
    """slice name ('overall' or 'feature=value') -> {metric: value} for the candidate."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(eval_uri)
    by_slice = {}
    for slice_key, metrics in result.slicing_metrics:
        name = "overall" if not slice_key else ", ".join(f"{k}={v}" for k, v in slice_key)
        values = {}
        for output in metrics.values():
            for sub in output.values():
                for metric, value in sub.items():
                    if isinstance(value, dict) and "doubleValue" in value:
                        # TFMA writes NaN (e.g. F1 of a slice with no positives) as text.
                        values[metric] = float(value["doubleValue"])
        by_slice[name] = values
    return by_slice


def _validation_failures(eval_uri: str) -> list:
    import tensorflow_model_analysis as tfma

    try:
        validation = tfma.load_validation_result(eval_uri)
    except Exception:  # no validation file: nothing to explain
        return []
    reasons = []
    for per_slice in validation.metric_validations_per_slice:
        for failure in per_slice.failures:
            reasons.append(
                f"{failure.metric_key.name}: {failure.metric_value.double_value.value:.4f} "
                f"fails {_threshold_text(failure.metric_threshold)}"
                + (" (vs. serving model)" if failure.metric_key.is_diff else "")
            )
    return reasons


def _threshold_text(threshold) -> str:
    if threshold.HasField("value_threshold"):
        return f"lower bound {threshold.value_threshold.lower_bound.value}"
    if threshold.HasField("change_threshold"):
        return f"allowed change {threshold.change_threshold.absolute.value}"
    return str(threshold).replace("\n", " ")


def summarize(config: Config, run) -> Summary:
    import ml_metadata as mlmd

    store = mlmd.MetadataStore(metadata.sqlite_config(config.metadata_path))
    executions = metadata.run_executions(store, config.pipeline_name, run.run_id)
    summary = Summary(run.run_id, run.span, run.window, metadata_path=str(config.metadata_path))
    summary.node_states = {
        node: metadata.STATE_NAMES.get(e.last_known_state, "?") for node, e in executions.items()
    }

    def outputs(node):
        return metadata.output_artifacts(store, executions[node].id) if node in executions else {}

    report = outputs("DriftGate").get("report")
    if report:
        summary.drift = read_drift(report[0])

    stats = outputs("StatisticsGen").get("statistics")
    if stats:
        summary.rows = _stats_rows(stats[0].uri)

    evaluation = outputs("Evaluator")
    if evaluation.get("evaluation"):
        uri = evaluation["evaluation"][0].uri
        by_slice = _slice_metrics(uri)
        summary.metrics = {k: v for k, v in by_slice.get("overall", {}).items() if k in HEADLINE_METRICS}
        candidates = [
            (name, values["f1_score"])
            for name, values in by_slice.items()
            if name != "overall" and not math.isnan(values.get("f1_score", math.nan))
            and values.get("example_count", 0) >= MIN_SLICE_EXAMPLES
        ]
        if candidates:
            summary.weakest_slice = min(candidates, key=lambda item: item[1])
        summary.blessing_reasons = _validation_failures(uri)
        from pipeline.provenance import record_metrics

        record_metrics(store, evaluation["evaluation"][0],
                       {k: v for k, v in by_slice.get("overall", {}).items() if not math.isnan(v)})
    if evaluation.get("blessing"):
        summary.blessed = metadata.custom_property(evaluation["blessing"][0], "blessed") == 1

    pushed = outputs("Pusher").get("pushed_model")
    if pushed and metadata.custom_property(pushed[0], "pushed") == 1:
        summary.pushed_path = metadata.custom_property(pushed[0], "pushed_destination")
    return summary


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
