"""`driftline run`: the whole pipeline on this machine."""
from driftline.commands.common import config_from


def run(args) -> int:
    from driftline import pipeline_run
    from driftline.run_summary import newest_version_on_disk
    from driftline.views.run_summary import render

    config = config_from(args)
    outcome = pipeline_run.run(config, force=args.force)
    if outcome.reused_summary:
        print(f"driftline: span {outcome.inputs.span} is up to date ({outcome.seconds:.1f} s): data, "
              f"schema, code, config and dependencies\n  are those of run {outcome.run_id}, the "
              f"newest in {config.metadata_label},\n  and its outputs are all there, so nothing was "
              "started. `driftline run --force` runs it anyway.")
        print(outcome.reused_summary, end="")
        # Said afresh, not from the stored summary: what a model server would load now.
        newest = newest_version_on_disk(config.serving_dir)
        print(f"  serving now     {newest or 'nothing'} (the newest version on disk)")
        return 0
    print(render(outcome.summary, outcome.seconds), end="")
    return 0
