"""`driftline replay [--spans 2-4] [--fast] [--output-dir DIR]`: the whole loop in time
order on the real spans (driftline/autopilot/replay.py), then its timeline report."""
import time
from pathlib import Path

from driftline.commands.common import common_args, config_from


def replay(args) -> int:
    from driftline.autopilot import replay as replaying
    from pipeline import framework_output
    from pipeline.config import PROJECT_ROOT, to_toml

    started = time.monotonic()
    if args.config is None:
        args.config = PROJECT_ROOT / "configs" / "replay.toml"
    spans = replaying.parse_spans(args.spans)
    output_dir, args.output_dir = args.output_dir, None
    config = config_from(args)
    directory = (output_dir or config.output_dir / "replay").resolve()
    source_root = Path(config.data_root)
    data_root = replaying.prepare(directory, source_root, spans)
    config.data_root, config.output_dir, config.span = data_root, directory / "run", None
    serving = config.serving
    serving.host, serving.rest_port, serving.grpc_port = "127.0.0.1", replaying.free_port(), replaying.free_port()
    serving.log_dir, config.retraining.outcomes_dir = "", ""
    config_file = directory / "replay.toml"
    config_file.write_text(to_toml(config))
    log = config.output_dir / "logs" / "replay.log"
    print(f"replay          spans {spans[0]}-{spans[-1]} of {source_root} in {directory} "
          f"(settings {args.config}; framework output in {log})")
    with framework_output.to_log_file(log, "driftline replay") as terminal:
        def say(text):
            terminal.write(text + "\n")
            terminal.flush()

        replay_log = replaying.replay_spans(config, config_file, source_root, spans, say)
        import ml_metadata as mlmd

        from driftline.autopilot import retraining
        from driftline.autopilot import timeline
        from driftline.serving import policy as policies
        from pipeline import metadata

        store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
        decisions = retraining.history(store, config.model_name)
        final = policies.read(Path(config.serving_dir))
        from driftline.monitoring import dashboard
        from driftline.views import estimates

        checks = estimates.checks_of(dashboard.history(store, config.model_name)["outcomes"])
        summary = [f"spans {spans[0]}-{spans[-1]}, {len(decisions)} decisions recorded in MLMD; serving at the "
                   f"end: {final.describe() if final else 'the first model'}; "
                   f"{time.monotonic() - started:.0f} s", estimates.summary_text(estimates.summary(checks))]
        report = timeline.write(store, config.model_name, directory / "timeline", replay_log.events, summary)
    for decision in decisions:
        print(f"decision        {decision['trigger']}: {decision['outcome']} (MLMD execution {decision['execution']})")
    print(f"serving         {summary[0].split('serving at the end: ')[1]}")
    print(f"estimates       {summary[1]}")
    print(f"timeline        {report} and {report.parent / 'timeline.png'}")
    print(f"lineage         driftline lineage trace latest --output-dir {config.output_dir}")
    return 0


def register(sub):
    """`driftline replay`'s arguments."""
    p_replay = common_args(sub.add_parser(
        "replay", help="the whole loop in time order on the real spans: train, serve, drift, "
                       "alarms, retrain, canary, promote or roll back; then a timeline report"))
    p_replay.add_argument("--spans", default="2-4",
                          help="first-last: train on every span up to the first, serve the rest in time "
                               "order (default 2-4: spans 1 and 2 teach the first model)")
    p_replay.add_argument("--fast", action="store_true", help="small models (as the tests use): same loop, "
                        "faster training")
    p_replay.add_argument("--output-dir", type=Path, help="the replay directory, emptied first "
                        "(default: OUTPUT_DIR/replay)")
    p_replay.set_defaults(func=replay)
