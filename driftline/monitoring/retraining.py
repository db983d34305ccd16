"""Retraining and canary decisions, by hand (`driftline retrain`) or by the watcher's
policy (driftline/monitoring/autopilot.py), each an MLMD execution: why it ran, the run
it started, whether the model was blessed, the canary it became or why not, and for a
canary the verdict on its online metrics. A decision about a pushed model has that
PushedModel as its input, so `driftline lineage trace` of the model reaches it."""
import json
import time
from pathlib import Path
from typing import Callable, Optional

from ml_metadata.proto import metadata_store_pb2

RETRAINING_TYPE = "driftline.Retraining"
PROPERTIES = {"model": metadata_store_pb2.STRING, "reason": metadata_store_pb2.STRING,
              "trigger": metadata_store_pb2.STRING, "run": metadata_store_pb2.STRING,
              "outcome": metadata_store_pb2.STRING, "pushed_version": metadata_store_pb2.STRING,
              "canary_deployment": metadata_store_pb2.INT, "details": metadata_store_pb2.STRING}


def record(store, model: str, trigger: str, reason: str, run_id: str, outcome: str,
           pushed_version: str = "", canary_deployment: int = 0, details: dict = None,
           also_about: tuple = ()) -> int:
    """`also_about`: other pushed versions the decision concerns (a canary verdict keeps
    or replaces the stable version), linked as inputs too."""
    from driftline.mlmd.deployments import pushed_model

    execution_type = metadata_store_pb2.ExecutionType(name=RETRAINING_TYPE)
    for name, kind in PROPERTIES.items():
        execution_type.properties[name] = kind
    type_id = store.put_execution_type(execution_type, can_add_fields=True)
    execution = metadata_store_pb2.Execution(type_id=type_id,
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    props = execution.properties
    props["model"].string_value = model
    props["trigger"].string_value = trigger
    props["reason"].string_value = reason
    props["run"].string_value = run_id
    props["outcome"].string_value = outcome
    props["pushed_version"].string_value = pushed_version
    props["canary_deployment"].int_value = canary_deployment
    props["details"].string_value = json.dumps(details or {}, sort_keys=True, default=str)
    contexts = []
    run = store.get_context_by_type_and_name("pipeline_run", run_id) if run_id else None
    if run is not None:
        contexts.append(run)
    events = []
    for key, version in [("pushed_model", pushed_version)] + [("also_about", v) for v in also_about]:
        pushed = pushed_model(store, version) if version else None
        if pushed is not None:
            event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.INPUT)
            event.path.steps.add().key = key
            events.append((pushed, event))
    execution_id, _, _ = store.put_execution(execution, events, contexts)
    return execution_id


def history(store, model: Optional[str] = None, artifact_id: Optional[int] = None) -> list:
    """Every decision (oldest first), of one model or about one pushed model."""
    from components.properties import value_of

    try:
        executions = store.get_executions_by_type(RETRAINING_TYPE)
    except Exception:  # noqa: BLE001 - a store without the type has no decisions
        return []
    if artifact_id is not None:
        linked = {e.execution_id for e in store.get_events_by_artifact_ids([artifact_id])
                  if e.type == metadata_store_pb2.Event.INPUT}
        executions = [e for e in executions if e.id in linked]
    found = []
    for execution in sorted(executions, key=lambda e: e.id):
        props = {k: value_of(v) for k, v in execution.properties.items()}
        if model and props.get("model") != model:
            continue
        props["details"] = json.loads(props.get("details") or "{}")
        found.append({"execution": execution.id, "time_ms": execution.create_time_since_epoch, **props})
    return found


def retrain(config, store, target, trigger: str, reason: str, percent: float, force: bool = False,
            load_timeout: float = 120.0, say: Callable[[str], None] = print,
            details: Optional[dict] = None) -> dict:
    """Runs the pipeline on the newest span and, when its model is blessed and pushed,
    starts it as a canary at `percent`, never at all traffic. Returns the decision as
    recorded. Raises GateBlocked (after recording it) when the drift gate stops the run."""
    from driftline import pipeline_run
    from driftline.errors import GateBlocked
    from driftline.serving import policy as policies, rollout
    from driftline.serving.errors import RolloutRefused
    from driftline.views.run_summary import render

    details = dict(details or {})
    rollout.check_percent(percent)

    def decided(run_id, outcome, version="", deployment=0) -> dict:
        execution = record(store, config.model_name, trigger, reason, run_id, outcome, version, deployment,
                           details)
        return {"execution": execution, "trigger": trigger, "reason": reason, "run": run_id,
                "outcome": outcome, "pushed_version": version, "canary_deployment": deployment}

    # The server must be up first: without a policy it serves the newest version, so a
    # push with nobody holding the traffic would reach every user at once.
    state = rollout.server_state(target)
    if policies.read(target.serving_dir) is None:
        serving = rollout.current(target, state).stable
        if serving is not None:
            new, execution = rollout.switch_pin(target, serving, f"pinned before retraining: {reason}")
            say(f"pinned          version {serving} takes all the traffic while the new model is "
                f"trained (revision {new.revision}, deployment {execution})")
    try:
        outcome = pipeline_run.run(config, force=force)
    except GateBlocked as blocked:
        first_line = str(blocked).splitlines()[0] if str(blocked) else "the drift gate stopped the run"
        decision = decided("", f"blocked: {first_line}")
        say(f"retrain         blocked by the drift gate: the serving model is unchanged "
            f"(MLMD execution {decision['execution']})")
        raise
    if outcome.reused_summary:
        decision = decided(outcome.run_id, "up to date: nothing trained")
        say(f"retrain         span {outcome.inputs.span} is up to date (run {outcome.run_id}): nothing to "
            f"retrain on (MLMD execution {decision['execution']})")
        return decision
    summary = outcome.summary
    say(render(summary, outcome.seconds).rstrip("\n"))
    if not summary.pushed_path:
        why = "not blessed" if summary.blessed is False else "nothing pushed"
        decision = decided(summary.run_id, f"{why}: the serving model is unchanged")
        say(f"retrain         {why}: no canary; the serving model is unchanged "
            f"(MLMD execution {decision['execution']})")
        return decision
    version = int(Path(summary.pushed_path).name)
    routed = rollout.current(target, rollout.server_state(target))
    if summary.already_pushed or version in (routed.stable, routed.canary):
        role = "the stable version" if version == routed.stable else "the canary" \
            if version == routed.canary else "a version pushed before"
        decision = decided(summary.run_id, f"unchanged: the model is version {version} again ({role})",
                           str(version))
        say(f"retrain         the run's model is version {version} again, {role} (the same files: "
            f"the Trainer reused its model): no canary; nothing changed (MLMD execution "
            f"{decision['execution']})")
        return decision
    try:
        wait_until_loaded(target, version, timeout=load_timeout)
        new, deployment = rollout.canary(target, version, percent, reason)
    except RolloutRefused as exc:
        decision = decided(summary.run_id, f"pushed, canary not started: {exc}", str(version))
        say(f"retrain         pushed {version}, but no canary: {exc} (MLMD execution "
            f"{decision['execution']}); `driftline rollout canary --version {version}` starts it")
        decision["refused"] = True
        return decision
    decision = decided(summary.run_id, f"canary at {percent:g}%", str(version), deployment)
    say(f"retrain         version {version} is a canary at {percent:g}% beside stable {new.stable} "
        f"(revision {new.revision}, deployment {deployment}; MLMD execution {decision['execution']})")
    return decision


def wait_until_loaded(target, version: int, timeout: float):
    from driftline.serving import rollout
    from driftline.serving.errors import RolloutRefused

    deadline = time.monotonic() + timeout
    while True:
        info = rollout.server_state(target)["versions"].get(str(version))
        if info and info["state"] in ("AVAILABLE", "FAILED"):
            return
        if time.monotonic() > deadline:
            raise RolloutRefused(f"the server at {target.url} did not load version {version} within "
                                 f"{timeout:g} s")
        time.sleep(0.5)
