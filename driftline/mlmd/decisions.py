"""Retraining and canary decisions in MLMD, by hand (`driftline retrain`) or by the
watcher (driftline/autopilot): why it ran, the run it started, whether the model was
blessed, the canary it became or why not, and for a canary the verdict on its online
metrics. A decision about a pushed model has that PushedModel as its input, so
`driftline lineage trace` of the model reaches it."""
import json
from typing import Optional

from driftline.mlmd import records
from driftline.mlmd.records import INT, STRING

RETRAINING = records.RecordType("driftline.Retraining", {
    "model": STRING, "reason": STRING, "trigger": STRING, "run": STRING, "outcome": STRING,
    "pushed_version": STRING, "canary_deployment": INT, "details": STRING})


def record(store, model: str, trigger: str, reason: str, run_id: str, outcome: str,
           pushed_version: str = "", canary_deployment: int = 0, details: dict = None,
           also_about: tuple = ()) -> int:
    """`also_about`: other pushed versions the decision concerns (a canary verdict keeps
    or replaces the stable version), linked as inputs too."""
    from driftline.mlmd.deployments import pushed_model

    run = store.get_context_by_type_and_name("pipeline_run", run_id) if run_id else None
    inputs = [(key, pushed_model(store, version)) for key, version in
              [("pushed_model", pushed_version)] + [("also_about", v) for v in also_about] if version]
    return records.write(store, RETRAINING, {
        "model": model, "trigger": trigger, "reason": reason, "run": run_id, "outcome": outcome,
        "pushed_version": pushed_version, "canary_deployment": canary_deployment,
        "details": details or {}}, inputs=inputs, contexts=[run])


def history(store, model: Optional[str] = None, artifact_id: Optional[int] = None) -> list:
    """Every decision (oldest first), of one model or about one pushed model."""
    found = records.read(store, RETRAINING, model, about=artifact_id)
    for entry in found:
        entry.pop("inputs")
        entry["details"] = json.loads(entry.get("details") or "{}")
    return found
