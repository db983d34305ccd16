"""What one pipeline run becomes in an experiment tracker, read from MLMD only.

Params are the settings the run's executions recorded (the Trainer's hyperparameters and
steps, the ModelGate's rules), not the config as it reads today, so a later export of an
old run still says what that run used. Nothing here talks to a tracker: the payload is
plain data, and its digest tells whether a run changed since it was last exported.
"""
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Optional

from components.model_gate import verdict as model_verdict
from driftline.analysis.report import JSON_FILE as ANALYSIS_JSON
from driftline.mlmd import provenance
from driftline.mlmd.lineage import Lineage, props_of, source_of, steps_of
from pipeline import nodes

# What a tracker's key may hold (MLflow's rule: letters, digits, _ - . space / :).
_NOT_KEY = re.compile(r"[^A-Za-z0-9_\-. /:]")


def key(*parts) -> str:
    return ".".join(_NOT_KEY.sub("_", str(p)) for p in parts if p not in (None, ""))


def is_remote(uri: Optional[str]) -> bool:
    """Whether a location lives in remote storage (gs://, s3://, ...), where a tracker is
    given a link instead of a copy."""
    return bool(uri) and "://" in uri and not uri.startswith("file://")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def params(lineage: Lineage, run, executions: dict, record: dict) -> dict:
    """The run's settings: span window, seed, training and evaluation settings."""
    found = {"span": record["span"], "window": record["window"]}
    run_props = props_of(run)
    for name in ("drift_gate", "drift_baseline", "runner"):
        if run_props.get(name) is not None:
            found[key("drift" if name.startswith("drift") else "run", name.replace("drift_", ""))] = run_props[name]
    trainer = executions.get(nodes.TRAINER)
    if trainer is not None:
        trainer_props = props_of(trainer)
        custom = trainer_props.get("custom_config") or {}
        for name, value in sorted((custom.get("hparams") or {}).items()):
            found[key("training", name)] = value
        found["seed"] = (custom.get("hparams") or {}).get("seed")
        found["training.train_steps"] = steps_of(trainer_props.get("train_args"))
        found["training.eval_steps"] = steps_of(trainer_props.get("eval_args"))
    judge = executions.get(nodes.MODEL_GATE)
    if judge is not None:
        for name, value in sorted((props_of(judge).get("rules") or {}).items()):
            found[key("evaluation", name)] = value
    return {k: _text(v) for k, v in found.items()}


def _drift_verdict(drift: Optional[dict]) -> Optional[str]:
    if drift is None:
        return None
    if not drift["passed"]:
        return "blocked"
    return "passed" if drift["clean"] else "over threshold, let through (gate warns)"


def tags(lineage: Lineage, run, executions: dict, record: dict, judged: Optional[dict], store_label: str) -> dict:
    """Where the run came from and what it decided."""
    found = {
        "driftline.run_id": run.name, "driftline.pipeline": lineage.pipeline_name,
        "driftline.mlmd_store": store_label, "driftline.span": record["span"],
        "driftline.spans": " ".join(str(s) for s in record["window"] or []),
        "driftline.git_commit": record["git_commit"], "mlflow.source.git.commit": record["git_commit"],
        "driftline.state": state_of(record),
    }
    for execution in executions.values():
        source = source_of(props_of(execution))
        if source is not None:
            for name, digest in sorted(source["sha256"].items()):
                found[key("data", f"span-{source['span']}", name, "sha256")] = digest
    for node in (nodes.TRANSFORM, nodes.TRAINER, nodes.MODEL_GATE):
        if node in executions:
            props = props_of(executions[node])
            custom = props.get("custom_config") or {}
            fingerprint = custom.get("code_fingerprint") if isinstance(custom, dict) else None
            found[key("code", node, "fingerprint")] = fingerprint or props.get("code_fingerprint")
    schema = lineage.run_output(executions, nodes.IMPORT_SCHEMA_GEN, nodes.SCHEMA)
    if schema is not None:
        found["schema.sha256"] = lineage.describe_artifact(schema).get("schema_sha256")
    drift = record["drift"]
    if drift is not None:
        found["drift.verdict"] = _drift_verdict(drift)
        found["drift.offending"] = ", ".join(drift["offending"]) or "none"
        found["drift.baseline"] = f"span {drift['baseline_span']} ({drift['baseline_kind']})"
    found["blessed"] = {True: "yes", False: "no", None: "not judged"}[record["blessed"]]
    why = _why_not_blessed(lineage, run, executions, record, judged)
    if why:
        found["blessed.why_not"] = why
    if record["pushed_version"] is not None:
        found["pushed.version"] = record["pushed_version"]
    return {k: str(v) for k, v in found.items() if v is not None}


def state_of(record: dict) -> str:
    if record["stopped"]:
        return "stopped"
    if record["drift"] is not None and not record["drift"]["passed"]:
        return "blocked by the drift gate"
    states = set(record["nodes"].values())
    if "failed" in states:
        return "failed"
    return "complete" if states <= {"complete", "cached", "skipped", "skipped by gate"} else "under way"


# An MLflow run's status for each state; a run still under way stays RUNNING.
STATUS = {"complete": "FINISHED", "blocked by the drift gate": "FINISHED", "stopped": "KILLED", "failed": "FAILED"}


def _why_not_blessed(lineage: Lineage, run, executions: dict, record: dict, judged: Optional[dict]) -> Optional[str]:
    if record["blessed"]:
        return None
    if judged is None:
        return lineage.why_no_model(run, executions)
    failed = [c["text"] for c in judged["checks"] if not c["passed"]]
    return "; ".join(failed) or None


def _with_bounds(found: dict, prefix, values: dict):
    for metric, v in sorted(values.items()):
        for part, suffix in (("value", None), ("low", "low"), ("high", "high")):
            if _number(v.get(part)):
                found[key(prefix, metric, suffix)] = float(v[part])


def metrics(judged: Optional[dict], report, slices_report: Optional[dict]) -> dict:
    """Every gate metric with its interval bounds, the constant baseline and the
    reference learner beside it, the drift distances, and each slice when asked."""
    found = {}
    if judged is not None:
        _with_bounds(found, None, judged["metrics"])
        _with_bounds(found, "reference", judged["reference"])
        _with_bounds(found, "vs_serving", judged["diffs"])
        trivial = judged["trivial"] or {}
        for metric, value in sorted((trivial.get("constant") or {}).items()):
            if _number(value):
                found[key("constant", metric)] = float(value)
        _with_bounds(found, "vs_constant", trivial.get("lift") or {})
        for name in ("examples", "evaluation_rows", "calibration_error", "operating_threshold"):
            if _number(judged[name]):
                found[key("eval", name)] = float(judged[name])
    if report is not None:
        for name in report.custom_properties:
            if name.startswith("distance."):
                found[key("drift", name)] = float(report.custom_properties[name].double_value)
    for entry in (slices_report or {}).get("slices", []):
        for name, value in sorted(entry.items()):
            if _number(value):
                found[key("slice", entry["slice"], name)] = float(value)
    return found


def _error_analysis(run) -> Optional[str]:
    path = props_of(run).get(provenance.ERROR_ANALYSIS)
    return str(path) if path else None


def _slices(report_page: Optional[str]) -> Optional[dict]:
    if not report_page or is_remote(report_page):
        return None
    path = Path(report_page).parent / ANALYSIS_JSON
    return json.loads(path.read_text()) if path.exists() else None


def documents(run, report) -> dict:
    """{name: directory or URL}: the drift report and the error-analysis page."""
    found = {}
    if report is not None and (is_remote(report.uri) or os.path.isdir(report.uri)):
        found["drift_report"] = report.uri
    page = _error_analysis(run)
    if page and (is_remote(page) or os.path.exists(page)):
        found["error_analysis"] = page if is_remote(page) else str(Path(page).parent)
    return found


def pushed(lineage: Lineage, executions: dict, record: dict) -> Optional[dict]:
    """The version this run put in place, or None (not pushed, or the same files as a
    version already there)."""
    artifact = lineage.run_output(executions, nodes.PUSHER, nodes.PUSHED_MODEL)
    if record["pushed_version"] is None or artifact is None:
        return None
    props = props_of(artifact)
    if props.get("already_pushed") == 1:
        return None
    return {"version": int(record["pushed_version"]), "destination": props.get("pushed_destination"),
            "artifact_id": artifact.id}


def run_payload(lineage: Lineage, run, store_label: str, with_slices: bool = False) -> dict:
    """Everything one run exports, with the digest of it."""
    executions = lineage.run_nodes(run.name)
    record = lineage.run_record(run, executions)
    # Read once here, for the tags, the metrics and the documents alike.
    blessing = lineage.run_output(executions, nodes.MODEL_GATE, nodes.BLESSING)
    judged = model_verdict.read(blessing) if blessing is not None else None
    report = lineage.run_output(executions, nodes.DRIFT_GATE, nodes.REPORT)
    page = _error_analysis(run)
    payload = {
        "run_id": run.name,
        "start_ms": run.create_time_since_epoch,
        "seconds": record["seconds"],
        "status": STATUS.get(state_of(record)),
        "params": params(lineage, run, executions, record),
        "tags": tags(lineage, run, executions, record, judged, store_label),
        "metrics": metrics(judged, report, _slices(page) if with_slices else None),
        "documents": documents(run, report),
        "pushed": pushed(lineage, executions, record),
    }
    payload["digest"] = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return payload
