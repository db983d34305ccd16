"""Changing who serves: canary, promote, rollback, switch, each checked first and
recorded in MLMD, and the configuration the real servers read.

Before any change the version must exist in the serving directory, be a model the
ModelGate blessed (read from MLMD: the Pusher's blessing input), and be loaded by the
running server; otherwise nothing changes. One change is made at a time (the policy's
lock is held from reading the policy in effect to the server applying the next one). A
change is written as the next policy revision and waited for, then recorded as a
deployment in MLMD: the command returns when the server has applied it (and, for a
switch, when no request is still running on the old version). A change the server does
not apply in time is taken back, so MLMD holds only what the server ran.
"""
import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from components.errors import DriftlineError
from driftline.serving.errors import RolloutRefused
from driftline.serving import policy as policies


@dataclass
class Target:
    model: str
    serving_dir: Path
    url: str                 # the running server's REST base URL
    store: object            # an MLMD store the blessings are in (and deployments go to)


def get_json(url: str, timeout: float = 3.0) -> dict:
    """A driftline server's JSON answer at `url`."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def server_state(target: Target) -> dict:
    try:
        return get_json(f"{target.url}/v1/driftline/rollout")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RolloutRefused(f"no driftline server answers at {target.url} ({getattr(exc, 'reason', exc)}): "
                             "start one with `driftline serve`; a rollout checks that the server has "
                             "the version loaded") from None


def blessing_of(store, version: int) -> Optional[bool]:
    """Whether the ModelGate blessed the model pushed as `version` (None: no such push)."""
    from driftline.mlmd.deployments import pushed_model
    from driftline.mlmd.store import custom_property
    from ml_metadata.proto import metadata_store_pb2

    pushed = pushed_model(store, version)
    if pushed is None:
        return None
    producers = [e.execution_id for e in store.get_events_by_artifact_ids([pushed.id])
                 if e.type == metadata_store_pb2.Event.OUTPUT]
    for event in store.get_events_by_execution_ids(producers):
        if event.type == metadata_store_pb2.Event.INPUT and event.path.steps and \
                event.path.steps[0].key == "model_blessing":
            blessing = store.get_artifacts_by_id([event.artifact_id])[0]
            return custom_property(blessing, "blessed") == 1
    return False


def check(target: Target, version: int, state: dict, answers: bool = True) -> List[str]:
    """Why `version` cannot take traffic ([] when it can). One that `answers` nobody (a
    shadow) needs no blessing: it is only loaded and watched."""
    problems = []
    if not (target.serving_dir / str(version)).is_dir():
        problems.append(f"version {version} is not in {target.serving_dir}")
    blessed = blessing_of(target.store, version) if answers else True
    if blessed is None:
        problems.append(f"version {version} was not pushed by a run this MLMD store knows")
    elif not blessed:
        problems.append(f"version {version} was not blessed by the ModelGate")
    loaded = state.get("versions", {}).get(str(version))
    if loaded is None or loaded["state"] != "AVAILABLE":
        why = f" ({loaded['state']}: {loaded['error']})" if loaded and loaded.get("error") else \
            f" ({loaded['state']})" if loaded else ""
        problems.append(f"version {version} is not loaded by the server at {target.url}{why}")
    return problems


def current(target: Target, state: dict) -> policies.Policy:
    """The policy in effect: the file's, or the server's implicit one (before it has
    loaded and pinned a first version)."""
    return policies.read(target.serving_dir) or policies.Policy.from_json(state["policy"])


@contextlib.contextmanager
def _one_change(target: Target):
    """The policy lock, then the server's state and the policy in effect, read under it."""
    with policies.changing(target.serving_dir):
        state = server_state(target)
        yield state, current(target, state)


def apply(target: Target, new: policies.Policy, versions: List[int], state: dict,
          drain_version: Optional[int] = None, timeout: float = 30.0) -> int:
    """Writes the policy, waits until the server runs it, then records it in MLMD; returns
    the deployment's execution id. Called with the policy lock held."""
    from driftline.mlmd import deployments

    for version in versions:
        problems = check(target, version, state, answers=version in (new.stable, new.canary))
        if problems:
            raise RolloutRefused("nothing was changed: " + "; ".join(problems))
    path = policies.policy_path(target.serving_dir)
    before = path.read_bytes() if path.exists() else None
    policies.write(target.serving_dir, new)
    deadline = time.monotonic() + timeout
    while True:
        seen = server_state(target)
        applied = seen["revision"] == new.revision
        drained = drain_version is None or \
            seen["versions"].get(str(drain_version), {}).get("in_flight", 0) == 0
        if applied and drained:
            return deployments.record(target.store, target.model, new, versions)
        if time.monotonic() > deadline:
            if not applied:
                _take_back(path, before)
                raise DriftlineError(f"the server at {target.url} did not apply revision {new.revision} "
                                     f"within {timeout:g} s; it was taken back and nothing was recorded")
            raise DriftlineError(f"revision {new.revision} is applied (recorded in MLMD as deployment "
                                 f"{deployments.record(target.store, target.model, new, versions)}), but "
                                 f"version {drain_version} still has requests in flight after {timeout:g} s")
        time.sleep(0.05)


def _take_back(path: Path, before: Optional[bytes]):
    if before is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.back.tmp")
    tmp.write_bytes(before)
    tmp.replace(path)


def check_percent(percent: float):
    if not policies.MIN_PERCENT <= percent <= 100 - policies.MIN_PERCENT:
        raise RolloutRefused(f"--percent {percent:g} must be between {policies.MIN_PERCENT:g} and "
                             f"{100 - policies.MIN_PERCENT:g} (traffic is split in steps of "
                             f"{policies.MIN_PERCENT:g}%; promote for all of it); nothing was changed")


def _serving(policy: policies.Policy) -> List[int]:
    """The versions a policy routes to or shadows with, each checked before it applies."""
    return [v for v in (policy.stable, policy.canary, policy.shadow) if v is not None]


def canary(target: Target, version: int, percent: float, reason: str, steps=()):
    """`version` takes `percent` of the traffic; with `steps` (percents ending at 100) it
    takes the first step's share and goes on one step at a time (advance)."""
    steps = [float(s) for s in steps]
    if steps:
        percent = steps[0]
    check_percent(percent)
    with _one_change(target) as (state, policy):
        if version == policy.stable:
            raise RolloutRefused(f"version {version} is already the stable version; nothing was changed")
        slots = dict(policy.slots)
        slots[policy.idle] = version
        shadow = {} if policy.shadow != version else {"shadow": None, "shadow_percent": 0.0}
        new = policy.changed("canary", reason, slots=slots, canary_percent=percent, steps=steps,
                             step=0 if steps else -1, **shadow)
        return new, apply(target, new, _serving(new), state)


def advance(target: Target, reason: str, action: str = "step", paused_only: bool = False):
    """The canary goes to its next step, or is promoted when that step is 100% (or there
    are no steps). `paused_only`: refused unless the rollout waits for a person (what
    `rollout approve` means)."""
    with _one_change(target) as (state, policy):
        if policy.canary is None:
            raise RolloutRefused("there is no canary to advance; nothing was changed")
        if paused_only and not policy.paused:
            raise RolloutRefused(f"the rollout of canary {policy.canary} is not waiting for approval "
                                 f"(it is at {policy.canary_percent:g}%, analysed by the watcher); nothing "
                                 "was changed")
        following = policy.next_step
        if following is None or following >= 100:
            old = policy.stable
            new = policy.changed(action if action != "step" else "promote", reason, live=policy.idle,
                                 canary_percent=0.0)
            return new, apply(target, new, _serving(new), state, drain_version=old)
        new = policy.changed(action, reason, canary_percent=following, step=policy.step + 1)
        return new, apply(target, new, _serving(new), state)


def pause(target: Target, reason: str, why: str = ""):
    """The rollout stays where it is and waits for `approve` or `abort` by a person.
    `why`: the pause's short reason the policy keeps (default: `reason`, which MLMD keeps)."""
    why = why or reason
    with _one_change(target) as (state, policy):
        if policy.canary is None:
            raise RolloutRefused("there is no canary rollout to pause; nothing was changed")
        if policy.paused == why:
            return policy, None
        new = policy.changed("pause", reason, paused=why)
        return new, apply(target, new, _serving(new), state)


def abort(target: Target, reason: str):
    """The canary stops taking traffic; the stable version keeps all of it."""
    with _one_change(target) as (state, policy):
        if policy.canary is None:
            raise RolloutRefused("there is no canary to abort; nothing was changed")
        old = policy.canary
        new = policy.changed("abort", reason, canary_percent=0.0)
        return new, apply(target, new, _serving(new), state, drain_version=old)


def shadow(target: Target, version: Optional[int], percent: float, reason: str):
    """`version` scores `percent` of the requests beside the version answering them
    (None: no shadow)."""
    with _one_change(target) as (state, policy):
        if version is None:
            if policy.shadow is None:
                raise RolloutRefused("no version shadows; nothing was changed")
            new = policy.changed("unshadow", reason, shadow=None, shadow_percent=0.0)
            return new, apply(target, new, _serving(new), state)
        if not 0 < percent <= 100:
            raise RolloutRefused(f"--percent {percent:g} must be above 0 and at most 100; nothing was changed")
        if version in (policy.stable, policy.canary):
            raise RolloutRefused(f"version {version} already answers requests (stable or canary); a shadow "
                                 "is a version that does not; nothing was changed")
        new = policy.changed("shadow", reason, shadow=version, shadow_percent=percent)
        return new, apply(target, new, _serving(new), state)


def promote(target: Target, reason: str):
    with _one_change(target) as (state, policy):
        if policy.canary is None:
            raise RolloutRefused("there is no canary to promote; nothing was changed")
        old = policy.stable
        new = policy.changed("promote", reason, live=policy.idle, canary_percent=0.0)
        return new, apply(target, new, _serving(new), state, drain_version=old)


def switch(target: Target, version: int, reason: str):
    with _one_change(target) as (state, policy):
        if version == policy.stable and policy.canary is None:
            raise RolloutRefused(f"version {version} already takes all the traffic; nothing was changed")
        old = policy.stable
        slots = dict(policy.slots)
        slots[policy.idle] = version
        shadow = {} if policy.shadow != version else {"shadow": None, "shadow_percent": 0.0}
        new = policy.changed("switch", reason, slots=slots, live=policy.idle, canary_percent=0.0, **shadow)
        return new, apply(target, new, _serving(new), state, drain_version=old if old != version else None)


def switch_pin(target: Target, version: int, reason: str):
    """Writes a policy where `version`, already serving everything implicitly (no policy
    file), keeps all the traffic: what a push needs before it can become a canary."""
    with _one_change(target) as (state, policy):
        new = policy.changed("switch", reason, canary_percent=0.0)
        return new, apply(target, new, [version], state)


def rollback(target: Target, reason: str):
    with _one_change(target) as (state, _):
        policy = policies.read(target.serving_dir)
        new = policy.rolled_back(reason) if policy is not None else None
        if new is None:
            raise RolloutRefused("there is no earlier policy to roll back to; nothing was changed")
        old = policy.stable if policy.stable != new.stable else None
        return new, apply(target, new, _serving(new), state, drain_version=old)


# --- configuration for the real servers -------------------------------------------------

def tf_serving_config(model: str, base_path: str, policy: policies.Policy) -> str:
    """A TF Serving model_config_list serving the policy's versions, labelled stable and
    canary (TF Serving loads and labels them; it does not split traffic: the client or a
    router picks the label)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    entry = config.model_config_list.config.add(name=model, base_path=base_path, model_platform="tensorflow")
    versions = [v for v in (policy.stable, policy.canary) if v is not None]
    entry.model_version_policy.specific.versions.extend(sorted(set(versions)))
    if policy.stable is not None:
        entry.version_labels["stable"] = policy.stable
    if policy.canary is not None:
        entry.version_labels["canary"] = policy.canary
    return text_format.MessageToString(config)


def kserve_inference_service(model: str, storage_root: str, policy: policies.Policy,
                             namespace: str = "") -> dict:
    """A KServe v1beta1 InferenceService for the policy: the newest version the policy
    routes to is the predictor's model, and during a canary it takes
    canaryTrafficPercent of the traffic while KServe keeps the previous revision (the
    stable version, deployed before) for the rest."""
    target = policy.canary if policy.canary is not None else policy.stable
    if target is None:
        raise RolloutRefused("the policy routes to no version yet; nothing to export")
    name = model.replace("_", "-").lower()
    service = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "annotations": {
            "driftline/rollout-revision": str(policy.revision),
            "driftline/stable-version": str(policy.stable)}},
        "spec": {"predictor": {
            "minReplicas": 1,
            "tensorflow": {"storageUri": f"{storage_root.rstrip('/')}/{target}"},
        }},
    }
    if namespace:
        service["metadata"]["namespace"] = namespace
    if policy.canary is not None:
        service["spec"]["predictor"]["canaryTrafficPercent"] = int(round(policy.canary_percent))
    return service
