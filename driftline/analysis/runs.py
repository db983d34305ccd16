"""Finds a run's judged predictions in MLMD and writes its error-analysis report."""
from pathlib import Path
from typing import Optional

from components.errors import DriftlineError
from components.model_gate import verdict
from pipeline import metadata, nodes
from pipeline.config import Config


def report_dir(config: Config, run_id: str) -> Path:
    """Where a run's report goes unless told otherwise (one home for the path: the run
    summary and `lineage trace` name it from here)."""
    return Path(config.output_dir) / "reports" / run_id


def judged(store, config: Config, run_id: str):
    """(predictions parquet path, judgement) of a run's ModelGate; a clear error when the
    run judged no model."""
    from driftline.mlmd.store import find_run, output_artifacts

    run = find_run(store, run_id)
    executions = metadata.run_executions(store, config.pipeline_name, run.name)
    gate = executions.get(nodes.MODEL_GATE)
    outputs = output_artifacts(store, gate.id) if gate is not None else {}
    found = outputs.get(nodes.PREDICTIONS)
    if not found:
        why = ("the drift gate stopped it before training" if nodes.DRIFT_GATE in executions
               and nodes.TRAINER not in executions else "its ModelGate did not complete")
        raise DriftlineError(f"run {run.name} judged no model ({why}): there is nothing to analyze; "
                             "`driftline lineage runs` lists the runs that did")
    blessing = outputs.get(nodes.BLESSING)
    judgement = verdict.read(blessing[0]) if blessing else None
    return run.name, f"{found[0].uri}/{verdict.PREDICTIONS_FILE}", judgement


def write_report(store, config: Config, run_id: str = "latest", baseline_run: Optional[str] = None,
                 output: Optional[Path] = None, slicings=None):
    """Analyzes a run (against another run's model on the same rows, when given) and
    writes the report. Returns (report path, result)."""
    from driftline.analysis import report

    name, path, judgement = judged(store, config, run_id)
    predictions = report.read_predictions(path, name)
    # Each model decides at its own operating threshold, as the gate judged it.
    thresholds = (_threshold(judgement, "operating_threshold"), _threshold(judgement, "baseline_threshold"))
    if baseline_run is not None:
        other_name, other_path, other = judged(store, config, baseline_run)
        predictions = report.with_baseline(predictions, report.read_predictions(other_path, other_name))
        thresholds = (thresholds[0], _threshold(other, "operating_threshold"))
    from pipeline.inputs import resolve_task, slice_features

    evaluation = config.evaluation
    default = report.default_slicings(slice_features(config, resolve_task(config)), predictions.features,
                                      evaluation.analysis_slices)
    if (judgement or {}).get("kind") == "regression":
        from driftline.analysis import regression_report

        result = regression_report.analyze(predictions, slicings or default, evaluation.min_slice_examples,
                                           evaluation.confidence, seed=config.training.seed, judgement=judgement)
        return regression_report.write(result, output or report_dir(config, name)), result
    result = report.analyze(
        predictions, slicings or default,
        evaluation.min_slice_examples, evaluation.confidence, seed=config.training.seed,
        judgement=judgement, thresholds=thresholds)
    return report.write(result, output or report_dir(config, name)), result


def _threshold(judgement: Optional[dict], key: str) -> float:
    """A threshold the gate recorded (the default for a judgement from before they were)."""
    from components.model_gate.metrics import THRESHOLD

    found = (judgement or {}).get(key)
    return THRESHOLD if found is None else float(found)
