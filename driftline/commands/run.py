"""`driftline run`: the whole pipeline on this machine."""
from pathlib import Path
from driftline.commands.common import common_args, config_from


def run(args) -> int:
    from driftline.errors import GateBlocked, PipelineFailed
    from driftline.run import run as pipeline_run
    from driftline.tracking import mirror
    from driftline.views.run_summary import render

    config = config_from(args)
    try:
        outcome = pipeline_run.run(config, force=args.force)
    except (GateBlocked, PipelineFailed):
        mirror(config)  # a stopped or failed run is a run too: its verdict belongs in the tracker
        raise
    if outcome.reused_summary:
        print(f"driftline: span {outcome.inputs.span} is up to date ({outcome.seconds:.1f} s): data, "
              f"schema, code, config and dependencies\n  are those of run {outcome.run_id}, the "
              f"newest in {config.metadata_label},\n  and its outputs are all there, so nothing was "
              "started. `driftline run --force` runs it anyway.")
        print(outcome.reused_summary, end="")
        # Said afresh, not from the stored summary: what a model server routes to now.
        print(f"  serving now     {_serving_now(config.serving_dir)}")
        return 0
    print(render(outcome.summary, outcome.seconds), end="")
    mirror(config)
    return 0


def _serving_now(serving_dir) -> str:
    from driftline.serving import policy as policies
    from driftline.serving.models import newest_version_on_disk

    pinned = policies.read(serving_dir)
    if pinned is not None and pinned.stable is not None:
        return f"{serving_dir / str(pinned.stable)} (the rollout policy's stable version)"
    newest = newest_version_on_disk(serving_dir)
    return f"{newest} (the newest version on disk: a server loading it pins it)" if newest else "nothing"


def register(sub):
    """`driftline run`'s arguments."""
    p_run = common_args(sub.add_parser("run", help="run the whole pipeline locally"))
    p_run.add_argument("--span", type=int, help="span to run for (default: the latest)")
    p_run.add_argument("--output-dir", type=Path, help="where the run writes everything")
    p_run.add_argument("--fast", action="store_true", help="the small configuration tests use")
    p_run.add_argument("--force", action="store_true",
                     help="run even when nothing changed since the newest run (TFX's cache still applies)")
    p_run.set_defaults(func=run)
