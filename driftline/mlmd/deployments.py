"""Deployments in MLMD: every rollout change is an execution whose inputs are the pushed
models it routes to, and whose properties are the policy and the reason.

So `driftline lineage` can answer, months later, which model served, from when, at what
share and why: a PushedModel's downstream events lead to every deployment that routed to
it, and the deployments context lists them in order.
"""
import json
from typing import List, Optional

from driftline.mlmd import records
from driftline.mlmd.records import DOUBLE, INT, STRING
from driftline.mlmd.runs import is_pushed
from driftline.mlmd.store import custom_property

DEPLOYMENT = records.RecordType("driftline.Deployment", {
    "action": STRING, "reason": STRING, "revision": INT, "policy": STRING, "stable_version": INT,
    "canary_version": INT, "canary_percent": DOUBLE, "model": STRING, "shadow_version": INT,
    "shadow_percent": DOUBLE, "step": INT, "paused": STRING}, context_type="driftline.deployments")


def role(policy, version: int) -> str:
    """What `version` does under `policy`: stable, canary or shadow."""
    if version == policy.stable:
        return "stable"
    return "canary" if version == policy.canary else "shadow"


def pushed_model(store, version: int):
    """The PushedModel artifact that put `version` in place (pushed = 1), or None."""
    for artifact in store.get_artifacts_by_type("PushedModel"):
        if is_pushed(artifact) and \
                str(custom_property(artifact, "pushed_version")) == str(version):
            return artifact
    return None


def record(store, model: str, policy, versions: List[int]) -> int:
    """Records a policy change as a deployment reading the pushed models of `versions`;
    returns its id."""
    inputs = [(role(policy, version), pushed_model(store, version)) for version in versions]
    return records.write(store, DEPLOYMENT, {
        "model": model, "action": policy.action, "reason": policy.reason, "revision": policy.revision,
        "policy": json.dumps({k: v for k, v in policy.to_json().items() if k not in ("previous", "history")},
                             sort_keys=True),
        "stable_version": policy.stable, "canary_version": policy.canary,
        "canary_percent": float(policy.canary_percent if policy.canary else 0),
        "shadow_version": policy.shadow, "shadow_percent": float(policy.shadow_percent if policy.shadow else 0),
        "step": policy.step if policy.canary and policy.steps else None, "paused": policy.paused},
        inputs=inputs, history_of=model)


def history(store, model: Optional[str] = None) -> List[dict]:
    """Every deployment, oldest first."""
    found = records.read(store, DEPLOYMENT, model)
    for entry in found:
        entry.pop("inputs")
    return found


def of_artifact(store, artifact_id: int) -> List[dict]:
    """The deployments that routed to a pushed model, oldest first, with the share each gave it."""
    found = []
    for entry in records.read(store, DEPLOYMENT, about=artifact_id):
        played = entry.pop("inputs")[artifact_id]
        share = {"stable": 100 - entry["canary_percent"], "canary": entry["canary_percent"]}.get(played, 0.0)
        found.append({**entry, "role": played, "share_percent": share})
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
