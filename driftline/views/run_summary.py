"""The run summary as a person reads it in the terminal."""
from components.drift_gate.comparison import OVER
from driftline.mlmd.runs import HEADLINE_METRICS, Summary


def finding(feature: dict) -> str:
    """One offending feature (a FeatureDrift as JSON) as a person reads it."""
    if feature["distance"] is None:
        return f"{feature['name']}: {feature['verdict']}"
    return (f"{feature['name']}: distance {feature['distance']:.4f} > threshold "
            f"{feature['threshold']:.4f} ({feature['kind']})")


def label_text(finding: dict) -> str:
    """A label-consistency finding (its JSON) as one line."""
    from components.drift_gate.label_consistency import Finding

    return Finding(**finding).text()


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


NAMES = {"auc": "AUC", "f1_score": "F1", "precision": "precision", "recall": "recall",
         "binary_accuracy": "accuracy"}


def _interval(value: dict, signed: bool = False) -> str:
    form = "+.3f" if signed else ".3f"
    if value.get("low") is None or value["low"] != value["low"]:
        return f"{value['value']:{form}}"
    return f"{value['value']:{form}} ({value['low']:{form}} to {value['high']:{form}})" if signed else \
        f"{value['value']:.3f} ({value['low']:.3f}–{value['high']:.3f})"


def baseline_lines(judged: dict) -> list:
    """The candidate between the trivial baselines and the reference learner: constant →
    candidate → reference, each with its interval, and what is left on the table."""
    from components.model_gate.decision import no_better_line

    trivial, lines = judged.get("trivial"), []
    if not trivial:
        return lines
    lift = trivial["lift"]
    lines.append(f"  vs constant     AUC {_interval(lift['auc'], signed=True)}; log loss "
                 f"{_interval(lift['log_loss'], signed=True)} (base rate {trivial['base_rate']:.3f}: log loss "
                 f"{trivial['constant']['log_loss']:.3f}); F1 {judged['metrics']['f1_score']['value']:.3f} vs "
                 f"{trivial['yes_f1']:.3f} always \"yes\"")
    said = no_better_line(trivial, judged["metrics"])
    if said:
        lines.append(f"                  {said}")
    if not judged.get("baselines_required", True):
        floors = {c["name"] for c in judged.get("checks", []) if c["name"].startswith("min ")}
        relaxed = "" if floors else "; no min_auc or min_f1 floor either"
        lines.append("                  (reported, not required: [evaluation] beat_constant = false, "
                     f"as --fast sets it{relaxed})")
    if judged.get("calibration_error") is not None:
        lines.append(f"  calibration     expected calibration error {judged['calibration_error']:.3f} (10 bins of "
                     "predicted probability; the error-analysis page has the table)")
    reference = judged.get("reference") or {}
    if "auc" in reference:
        gap = reference["auc"]["value"] - judged["metrics"]["auc"]["value"]
        lines.append(f"  reference       AUC {_interval(reference['auc'])} by gradient-boosted trees on the same "
                     f"rows: {max(gap, 0.0):.3f} left on the table")
    return lines


def threshold_lines(judged: dict) -> list:
    """The threshold F1, precision and recall are taken at, and how it was chosen."""
    point = judged.get("operating_point")
    if not point:
        return []
    from components.model.operating_point import OperatingPoint

    line = f"  threshold       {OperatingPoint(**point).text()}"
    if judged.get("baseline_threshold") is not None:
        line += f"; the serving model's: {judged['baseline_threshold']:.3f}"
    return [line]


def _number(value: dict, signed: bool = False) -> str:
    """A number of the label's own scale (an error, a difference), with its interval."""
    form = "+.4g" if signed else ".4g"
    return f"{value['value']:{form}} ({value['low']:{form}} to {value['high']:{form}})"


def regression_lines(judged: dict, spans: str) -> list:
    """A regression task's verdict: errors with intervals, against the mean, the serving
    model and the reference learner."""
    level = f"{judged['confidence'] * 100:g}%"
    rows = judged.get("evaluation_rows") or judged["examples"]
    population = "the rows whose label can be known" if rows != judged["examples"] else "every row"
    metrics, trivial = judged["metrics"], judged.get("trivial") or {}
    lines = [f"  evaluation      {judged['examples']:,} examples: {population}, of {rows:,} rows in the eval "
             f"splits of spans {spans}; span {judged['newest_span']} alone: {judged['newest_span_examples']:,}",
             f"  metrics         RMSE {_number(metrics['rmse'])}  MAE {_number(metrics['mae'])}  ({level} intervals)"]
    if judged["diffs"]:
        lines.append(f"  vs serving      RMSE {_number(judged['diffs']['rmse'], signed=True)} (model "
                     f"#{judged['baseline_model_id']}, same examples)")
    else:
        lines.append("  vs serving      no model is serving yet: judged against the mean")
    if trivial:
        lines.append(f"  vs constant     RMSE {_number(trivial['lift']['rmse'], signed=True)} (the train mean "
                     f"{trivial['constant']['mean']:.4g} for every row: RMSE {trivial['constant']['rmse']:.4g})")
    reference = (judged.get("reference") or {}).get("rmse")
    if reference:
        gap = metrics["rmse"]["value"] - reference["value"]
        lines.append(f"  reference       RMSE {_number(reference)} by gradient-boosted trees on the same rows: "
                     f"{max(gap, 0.0):.4g} left on the table")
    return lines


def judgement_lines(summary: Summary) -> list:
    judged = summary.judgement
    lines = []
    if judged is None:
        return ["  blessed         not evaluated"]
    if judged.get("kind") == "regression":
        return (regression_lines(judged, ", ".join(map(str, summary.window))) + _verdict_lines(judged))
    level = f"{judged['confidence'] * 100:g}%" if judged.get("confidence") else ""
    spans = ", ".join(map(str, summary.window))
    rows = judged.get("evaluation_rows") or judged["examples"]
    population = ("the rows whose label can be known" if rows != judged["examples"]
                  else "every row")
    lines.append(f"  evaluation      {judged['examples']:,} examples ({judged['positives']:,} positive): "
                 f"{population}, of {rows:,} rows in the eval splits of spans {spans}; "
                 f"span {judged['newest_span']} alone: {judged['newest_span_examples']:,}")
    shown = [f"{NAMES[m]} {_interval(judged['metrics'][m])}" for m in HEADLINE_METRICS
             if m in judged["metrics"]]
    lines.append(f"  metrics         {'  '.join(shown[:2])}  ({level} intervals)")
    if len(shown) > 2:
        lines.append(f"                  {'  '.join(shown[2:])}")
    lines += threshold_lines(judged)
    if judged["diffs"]:
        changes = [f"{NAMES[m]} {_interval(judged['diffs'][m], signed=True)}"
                   for m in ("auc", "f1_score") if m in judged["diffs"]]
        lines.append(f"  vs serving      {'; '.join(changes)} (model #{judged['baseline_model_id']}, "
                     "same examples)")
    else:
        lines.append("  vs serving      no model is serving yet: judged against the floors and the baselines")
    lines += baseline_lines(judged)
    floor = judged.get("noise_floor")
    if floor:
        lines.append(f"  noise floor     {floor['conflicting_rows']:,} of {floor['rows']:,} training and "
                     f"evaluation rows share every model input with a row of the other label: "
                     f"no model can err on fewer than {floor['min_error_rate']:.1%} of them "
                     f"({floor['rows_with_repeated_inputs']:,} rows repeat their inputs at all)")
    if summary.weakest_slice:
        name, f1 = summary.weakest_slice
        lines.append(f"  weakest slice   {name}: f1_score {f1:.3f}")
    return lines + _verdict_lines(judged)


def _verdict_lines(judged: dict) -> list:
    lines = [f"  blessed         {'yes' if judged['blessed'] else 'NO'}"]
    lines.extend(f"    {'-' if check['passed'] else '✗'} {check['text']}" for check in judged["checks"])
    lines.extend(f"    ! {warning}" for warning in judged["warnings"])
    return lines


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
    if summary.drift:
        d = summary.drift
        gated = [f for f in d["features"] if f["threshold"] is not None and f["distance"] is not None]
        worst = max(gated, key=lambda f: f["distance"] / f["threshold"] if f["threshold"] else 0, default=None)
        state = "passed" if d["clean"] else ("WARNINGS (gate = warn)" if d["passed"] else "BLOCKED")
        closest = f"; closest: {worst['name']} {worst['distance']:.3f} / {worst['threshold']:.3f}" if worst else ""
        lines.append(f"  drift           {state} vs {d['baseline']}{closest}")
        lines.extend(f"    - {line}" for line in drift_findings(d))
        lines.append(f"  drift report    {d['report']}")
        for finding in d.get("label_findings", []):
            lines.append(f"  label warning   {label_text(finding)}")
    if not summary.gate_blocked:
        lines += judgement_lines(summary)
    if summary.pushed_path:
        lines.append(f"  pushed          {summary.pushed_path}"
                     + (" (already there: the same model as before, no new version)"
                        if summary.already_pushed else ""))
    else:
        lines.append("  pushed          nothing: the serving model is unchanged")
    if summary.report_path:
        lines.append(f"  error analysis  {summary.report_path}")
    lines.append(f"  lineage (MLMD)  {summary.metadata_path}")
    return "\n".join(lines) + "\n"
