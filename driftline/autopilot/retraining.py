"""Retraining, by hand (`driftline retrain`) or by the watcher
(driftline/autopilot/watcher.py): run the pipeline on the newest span and hand a blessed,
pushed model to the server as a canary, never at all traffic. Each decision is recorded
in MLMD (driftline/mlmd/decisions.py)."""
import time
from pathlib import Path
from typing import Callable, Optional

from driftline.mlmd.decisions import history, record  # noqa: F401 - the watcher reads both here


def retrain(config, store, target, trigger: str, reason: str, percent: Optional[float] = None, force: bool = False,
            load_timeout: float = 120.0, say: Callable[[str], None] = print,
            details: Optional[dict] = None) -> dict:
    """Runs the pipeline on the newest span and, when its model is blessed and pushed,
    starts it as a canary at `percent` (None: the first of `[rollout] steps`, or
    `[serving] canary_percent`), never at all traffic. Returns the decision as recorded. Raises GateBlocked (after recording it) when the drift gate stops the run."""
    from driftline.run import run as pipeline_run
    from driftline.errors import GateBlocked
    from driftline.serving import rollout
    from driftline.views.run_summary import render

    details = dict(details or {})
    steps = config.rollout.steps if percent is None else []
    percent = float(steps[0]) if steps else (config.serving.canary_percent if percent is None else percent)
    rollout.check_percent(percent)

    def decided(run_id, outcome, version="", deployment=0) -> dict:
        execution = record(store, config.model_name, trigger, reason, run_id, outcome, version, deployment,
                           details)
        return {"execution": execution, "trigger": trigger, "reason": reason, "run": run_id,
                "outcome": outcome, "pushed_version": version, "canary_deployment": deployment}

    _pin_what_serves(target, reason, say)
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
    role = _role_already(target, summary, version)
    if role:
        decision = decided(summary.run_id, f"unchanged: the model is version {version} again ({role})",
                           str(version))
        say(f"retrain         the run's model is version {version} again, {role} (the same files: "
            f"the Trainer reused its model): no canary; nothing changed (MLMD execution "
            f"{decision['execution']})")
        return decision
    return _start_canary(target, summary.run_id, version, (percent, steps), reason, load_timeout, decided, say)


def _start_canary(target, run_id: str, version: int, share: tuple, reason: str, load_timeout: float,
                  decided, say) -> dict:
    """Hands the pushed version to the server as a canary, once it has loaded it."""
    from driftline.serving import rollout
    from driftline.serving.errors import RolloutRefused

    try:
        wait_until_loaded(target, version, timeout=load_timeout)
        percent, steps = share
        new, deployment = rollout.canary(target, version, percent, reason, steps)
    except RolloutRefused as exc:
        decision = decided(run_id, f"pushed, canary not started: {exc}", str(version))
        say(f"retrain         pushed {version}, but no canary: {exc} (MLMD execution "
            f"{decision['execution']}); `driftline rollout canary --version {version}` starts it")
        decision["refused"] = True
        return decision
    decision = decided(run_id, f"canary at {percent:g}%", str(version), deployment)
    say(f"retrain         version {version} is a canary at {percent:g}% beside stable {new.stable} "
        f"(revision {new.revision}, deployment {deployment}; MLMD execution {decision['execution']})")
    return decision


def _pin_what_serves(target, reason: str, say):
    """The server must be up first: without a policy it serves the newest version, so a
    push with nobody holding the traffic would reach every user at once."""
    from driftline.serving import policy as policies, rollout

    state = rollout.server_state(target)
    if policies.read(target.serving_dir) is not None:
        return
    serving = rollout.current(target, state).stable
    if serving is not None:
        new, execution = rollout.switch_pin(target, serving, f"pinned before retraining: {reason}")
        say(f"pinned          version {serving} takes all the traffic while the new model is "
            f"trained (revision {new.revision}, deployment {execution})")


def _role_already(target, summary, version: int) -> str:
    """What the pushed version already is to the server ("" when it is new to it)."""
    from driftline.serving import rollout

    routed = rollout.current(target, rollout.server_state(target))
    if version == routed.stable:
        return "the stable version"
    if version == routed.canary:
        return "the canary"
    return "a version pushed before" if summary.already_pushed else ""


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
