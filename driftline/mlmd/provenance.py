"""Facts about a run that TFX does not put in MLMD, written there after the run.

TFX already records, per execution, what lineage needs most: each ExampleGen's span and
the sha256 of its files (its custom_config), Transform's and Trainer's code fingerprint
and hyperparameters (their custom_config), the schema file imported; the ModelGate
records the metrics with their intervals on its blessing. Missing is the code version
the whole run came from and the run's settings; this module adds them as custom
properties on the pipeline_run context.
"""
import json
import subprocess

from pipeline import metadata
from pipeline.config import PROJECT_ROOT, Config

def git_commit(root=PROJECT_ROOT) -> str:
    """HEAD's commit, with "-dirty" when tracked files differ from it; "unknown" outside
    a git checkout (an installed package, a container image)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _set(properties, key, value):
    if isinstance(value, bool):
        properties[key].int_value = int(value)
    elif isinstance(value, int):
        properties[key].int_value = value
    elif isinstance(value, float):
        properties[key].double_value = value
    else:
        properties[key].string_value = str(value)


def record_run(store, config: Config, run_id: str, span: int, window: list, runner: str = "local"):
    """The run's code version and settings, on its pipeline_run context; `runner` names
    what ran it ("local", "airflow")."""
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, run_id)
    if context is None:  # nothing ran: there is no run to annotate
        return
    facts = {
        "git_commit": git_commit(),
        "span": span,
        "window": json.dumps(window),
        "schema_file": str(config.schema_file),
        "drift_gate": config.drift.gate,
        "drift_baseline": config.drift.baseline,
        "runner": runner,
        # Whether the graph held TFMA's Evaluator: a run the drift gate stopped lists it
        # as skipped only then.
        "tfma_evaluator": config.evaluation.tfma,
    }
    for key, value in facts.items():
        _set(context.custom_properties, key, value)
    store.put_contexts([context])


# The run context's property naming its error-analysis report (driftline/analysis).
ERROR_ANALYSIS = "error_analysis_report"


def record_report(store, run_id: str, path: str):
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, run_id)
    if context is not None:
        _set(context.custom_properties, ERROR_ANALYSIS, path)
        store.put_contexts([context])


# The run context's property naming the MLflow run each tracking server holds for it:
# JSON {tracking URI: {"run_id": ..., "digest": sha256 of what was exported}}.
MLFLOW_EXPORTS = "mlflow_exports"


def exports_of(context) -> dict:
    if MLFLOW_EXPORTS not in context.custom_properties:
        return {}
    return json.loads(context.custom_properties[MLFLOW_EXPORTS].string_value or "{}")


def record_export(store, run_id: str, tracking_uri: str, mlflow_run_id: str, digest: str):
    """Keeps the MLflow run that mirrors `run_id` on its run context, so a later export
    updates that run instead of adding another."""
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, run_id)
    if context is None:
        return
    found = exports_of(context)
    found[tracking_uri] = {"run_id": mlflow_run_id, "digest": digest}
    _set(context.custom_properties, MLFLOW_EXPORTS, json.dumps(found, sort_keys=True))
    store.put_contexts([context])
