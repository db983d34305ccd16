"""`driftline retrain [--span N] [--reason TEXT] [--percent P]`: train on the newest
labelled span and, when the model is blessed, hand it to the running server as a canary,
never straight to all traffic. Each decision is recorded in MLMD."""
import time
from pathlib import Path

from driftline.commands.common import config_from


def retrain(args) -> int:
    from driftline import pipeline_run
    from driftline.mlmd.store import open_store
    from driftline.monitoring import retraining
    from driftline.serving import policy as policies, rollout
    from driftline.serving.errors import RolloutRefused
    from driftline.views.run_summary import render
    from pipeline import metadata

    config = config_from(args)
    reason = args.reason or "retrained by hand"
    percent = args.percent if args.percent is not None else config.serving.canary_percent
    # The server must be up first: without a policy it serves the newest version, so a
    # push with nobody holding the traffic would reach every user at once.
    import ml_metadata as mlmd

    open_store(config)  # a missing or foreign store is refused here, never created
    store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
    target = rollout.Target(config.model_name, Path(config.serving_dir), config.rest_url.rstrip("/"), store)
    state = rollout.server_state(target)
    if policies.read(target.serving_dir) is None:
        serving = rollout.current(target, state).stable
        if serving is not None:
            new, execution = rollout.switch_pin(target, serving, f"pinned before retraining: {reason}")
            print(f"pinned          version {serving} takes all the traffic while the new model is "
                  f"trained (revision {new.revision}, deployment {execution})")

    outcome = pipeline_run.run(config, force=args.force)
    if outcome.reused_summary:
        execution = retraining.record(store, config.model_name, "manual", reason, outcome.run_id,
                                      "up to date: nothing trained")
        print(f"driftline: span {outcome.inputs.span} is up to date (run {outcome.run_id}): nothing to "
              f"retrain on; `driftline retrain --force` trains anyway (recorded as MLMD execution {execution})")
        return 0
    summary = outcome.summary
    print(render(summary, outcome.seconds), end="")
    if not summary.pushed_path:
        why = "not blessed" if summary.blessed is False else "nothing pushed"
        execution = retraining.record(store, config.model_name, "manual", reason, summary.run_id,
                                      f"{why}: the serving model is unchanged")
        print(f"retrain         {why}: no canary; the serving model is unchanged "
              f"(MLMD execution {execution})")
        return 0
    version = int(Path(summary.pushed_path).name)
    try:
        _wait_until_loaded(target, version, timeout=args.load_timeout)
        new, deployment = rollout.canary(target, version, percent, reason)
    except RolloutRefused as exc:
        execution = retraining.record(store, config.model_name, "manual", reason, summary.run_id,
                                      f"pushed, canary not started: {exc}", str(version))
        print(f"retrain         pushed {version}, but no canary: {exc} (MLMD execution {execution}); "
              f"`driftline rollout canary --version {version}` starts it")
        return 1
    execution = retraining.record(store, config.model_name, "manual", reason, summary.run_id,
                                  f"canary at {percent:g}%", str(version), deployment)
    print(f"retrain         version {version} is a canary at {percent:g}% beside stable {new.stable} "
          f"(revision {new.revision}, deployment {deployment}; MLMD execution {execution}); "
          "`driftline rollout promote` or `rollback` decides")
    return 0


def _wait_until_loaded(target, version: int, timeout: float):
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
