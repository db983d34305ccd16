"""Deployments in MLMD: every rollout change is an execution whose inputs are the pushed
models it routes to, and whose properties are the policy and the reason.

So `driftline lineage` can answer, months later, which model served, from when, at what
share and why: a PushedModel's downstream events lead to every deployment that routed to
it, and the deployments context lists them in order.
"""
import json
from typing import List, Optional

from ml_metadata.proto import metadata_store_pb2

from components.properties import value_of
from driftline.mlmd.store import custom_property

DEPLOYMENT_TYPE = "driftline.Deployment"
DEPLOYMENTS_CONTEXT_TYPE = "driftline.deployments"
PROPERTIES = {"action": metadata_store_pb2.STRING, "reason": metadata_store_pb2.STRING,
              "revision": metadata_store_pb2.INT, "policy": metadata_store_pb2.STRING,
              "stable_version": metadata_store_pb2.INT, "canary_version": metadata_store_pb2.INT,
              "canary_percent": metadata_store_pb2.DOUBLE, "model": metadata_store_pb2.STRING}


def _types(store):
    execution_type = metadata_store_pb2.ExecutionType(name=DEPLOYMENT_TYPE)
    for name, kind in PROPERTIES.items():
        execution_type.properties[name] = kind
    context_type = metadata_store_pb2.ContextType(name=DEPLOYMENTS_CONTEXT_TYPE)
    return (store.put_execution_type(execution_type, can_add_fields=True),
            store.put_context_type(context_type))


def pushed_model(store, version: int):
    """The PushedModel artifact that put `version` in place (pushed = 1), or None."""
    for artifact in store.get_artifacts_by_type("PushedModel"):
        if custom_property(artifact, "pushed") == 1 and \
                str(custom_property(artifact, "pushed_version")) == str(version):
            return artifact
    return None


def record(store, model: str, policy, versions: List[int]) -> int:
    """Records a policy change as a COMPLETE deployment execution reading the pushed
    models of `versions`; returns its id."""
    execution_type_id, context_type_id = _types(store)
    execution = metadata_store_pb2.Execution(type_id=execution_type_id,
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    execution.properties["model"].string_value = model
    execution.properties["action"].string_value = policy.action
    execution.properties["reason"].string_value = policy.reason
    execution.properties["revision"].int_value = policy.revision
    execution.properties["policy"].string_value = json.dumps(
        {k: v for k, v in policy.to_json().items() if k != "previous"}, sort_keys=True)
    if policy.stable is not None:
        execution.properties["stable_version"].int_value = policy.stable
    if policy.canary is not None:
        execution.properties["canary_version"].int_value = policy.canary
    execution.properties["canary_percent"].double_value = float(policy.canary_percent if policy.canary else 0)
    context = store.get_context_by_type_and_name(DEPLOYMENTS_CONTEXT_TYPE, model)
    if context is None:
        context = metadata_store_pb2.Context(type_id=context_type_id, name=model)
    events = []
    for version in versions:
        artifact = pushed_model(store, version)
        if artifact is not None:
            event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.INPUT)
            event.path.steps.add().key = "stable" if version == policy.stable else "canary"
            events.append((artifact, event))
    execution_id, _, _ = store.put_execution(execution, events, [context])
    return execution_id


def history(store, model: Optional[str] = None) -> List[dict]:
    """Every deployment, oldest first."""
    try:
        executions = store.get_executions_by_type(DEPLOYMENT_TYPE)
    except Exception:  # noqa: BLE001 - a store without the type has no deployments
        return []
    found = []
    for execution in sorted(executions, key=lambda e: e.id):
        props = {k: value_of(v) for k, v in execution.properties.items()}
        if model and props.get("model") != model:
            continue
        found.append({"execution": execution.id, "time_ms": execution.create_time_since_epoch,
                      **{k: props.get(k) for k in PROPERTIES}})
    return found


def of_artifact(store, artifact_id: int) -> List[dict]:
    """The deployments that routed to a pushed model, oldest first, with the share each gave it."""
    events = [e for e in store.get_events_by_artifact_ids([artifact_id])
              if e.type == metadata_store_pb2.Event.INPUT]
    ids = {e.execution_id: (e.path.steps[0].key if e.path.steps else "") for e in events}
    found = []
    for entry in history(store):
        if entry["execution"] in ids:
            role = ids[entry["execution"]]
            share = (100 - entry["canary_percent"]) if role == "stable" else entry["canary_percent"]
            found.append({**entry, "role": role, "share_percent": share})
    return found


def _has_traffic(entry: dict, version: int) -> bool:
    return entry["stable_version"] == version or \
        (entry["canary_version"] == version and (entry["canary_percent"] or 0) > 0)


def traffic(store, model: str, version: int) -> dict:
    """When `version` took traffic, from the deployments: {"serving": bool, "since": the
    deployment that began its newest stretch of traffic, "stopped": the deployment that
    ended it (None while it serves)}; empty when no deployment ever routed to it."""
    entries = history(store, model)
    began = ended = None
    for before, entry in zip([None] + entries, entries):
        now, then = _has_traffic(entry, version), before is not None and _has_traffic(before, version)
        if now and not then:
            began, ended = entry, None
        elif then and not now:
            ended = entry
    if began is None:
        return {}
    return {"serving": ended is None, "since": began, "stopped": ended}


def serving_now(store, model: str) -> Optional[dict]:
    """The newest deployment of `model` (what its server applied last), or None."""
    entries = history(store, model)
    return entries[-1] if entries else None
