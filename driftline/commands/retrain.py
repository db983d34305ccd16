"""`driftline retrain [--span N] [--reason TEXT] [--percent P]`: train on the newest
labelled span and, when the model is blessed, hand it to the running server as a canary,
never straight to all traffic. Each decision is recorded in MLMD."""
from pathlib import Path

from driftline.commands.common import common_args, config_from, positive_int


def retrain(args) -> int:
    import ml_metadata as mlmd

    from driftline.mlmd.store import open_store
    from driftline.autopilot import retraining
    from driftline.serving import rollout
    from pipeline import metadata

    config = config_from(args)
    open_store(config)  # a missing or foreign store is refused here, never created
    store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
    target = rollout.Target(config.model_name, Path(config.serving_dir), config.rest_url.rstrip("/"), store)
    decision = retraining.retrain(config, store, target, "manual", args.reason or "retrained by hand", args.percent,
                                  force=args.force, load_timeout=args.load_timeout)
    if decision["outcome"].startswith("up to date"):
        print("                `driftline retrain --force` trains anyway")
    elif decision["outcome"].startswith("canary"):
        print("                `driftline rollout promote` or `rollback` decides")
    return 1 if decision.get("refused") else 0


def register(sub):
    """`driftline retrain`'s arguments."""
    p_retrain = common_args(sub.add_parser(
        "retrain", help="train on the newest span; a blessed model becomes a canary on the running server"))
    p_retrain.add_argument("--span", type=positive_int, help="the span to train up to (default: the latest)")
    p_retrain.add_argument("--reason", help="why (recorded in MLMD with the decision)")
    p_retrain.add_argument("--percent", type=float, help="the canary's share, then all traffic "
                           "(default: the first of rollout.steps, or serving.canary_percent)")
    p_retrain.add_argument("--output-dir", type=Path, help="where the runs write everything")
    p_retrain.add_argument("--force", action="store_true", help="run even when nothing changed")
    p_retrain.add_argument("--fast", action="store_true", help="the small configuration tests use")
    p_retrain.add_argument("--load-timeout", type=float, default=120.0,
                         help="seconds to wait for the server to load the new version")
    p_retrain.set_defaults(func=retrain)
