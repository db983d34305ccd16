"""`driftline retrain [--span N] [--reason TEXT] [--percent P]`: train on the newest
labelled span and, when the model is blessed, hand it to the running server as a canary,
never straight to all traffic. Each decision is recorded in MLMD."""
from pathlib import Path

from driftline.commands.common import config_from


def retrain(args) -> int:
    import ml_metadata as mlmd

    from driftline.mlmd.store import open_store
    from driftline.autopilot import retraining
    from driftline.serving import rollout
    from pipeline import metadata

    config = config_from(args)
    percent = args.percent if args.percent is not None else config.serving.canary_percent
    open_store(config)  # a missing or foreign store is refused here, never created
    store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
    target = rollout.Target(config.model_name, Path(config.serving_dir), config.rest_url.rstrip("/"), store)
    decision = retraining.retrain(config, store, target, "manual", args.reason or "retrained by hand", percent,
                                  force=args.force, load_timeout=args.load_timeout)
    if decision["outcome"].startswith("up to date"):
        print("                `driftline retrain --force` trains anyway")
    elif decision["outcome"].startswith("canary"):
        print("                `driftline rollout promote` or `rollback` decides")
    return 1 if decision.get("refused") else 0
