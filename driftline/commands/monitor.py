"""`driftline monitor [--window N | --since TIME] [--json]`: skew, drift and prediction
drift of the request log, with alarms, recorded in MLMD."""
from pathlib import Path
import sys

from driftline.commands.common import common_args, config_from, positive_int, print_json
from driftline import errors


def rules(args, config) -> int:
    from driftline.monitoring import rules as alerting

    text = alerting.rules_yaml(config)
    if args.output is None:
        print(text, end="")
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"rules  {args.output}")
    if args.tests is not None:
        if args.output is None:
            from pipeline.errors import ConfigError

            raise ConfigError("--tests needs --output: the tests name the rules file they load")
        import os

        relative = os.path.relpath(args.output.resolve(), args.tests.resolve().parent)
        args.tests.parent.mkdir(parents=True, exist_ok=True)
        args.tests.write_text(alerting.tests_yaml(config, relative))
        print(f"tests  {args.tests}  (promtool test rules {args.tests})")
    return 0


def suggest_thresholds(args, config) -> int:
    from components.errors import SchemaError
    from driftline.mlmd.store import open_store
    from driftline.monitoring import thresholds
    from driftline.schema import diff as schema_diff
    from driftline.schema.check import check_schema, load_schema
    from driftline.schema.text_edit import rewrite, write_schema
    from pipeline import framework_output

    path = args.schema or config.schema_file
    problems = check_schema(path)
    if problems:
        raise SchemaError("\n".join(map(str, problems)))
    schema = load_schema(path)
    store = open_store(config)
    with framework_output.to_log_file(config.output_dir / "logs" / "monitor.log", "driftline monitor"):
        history = thresholds.span_distances(config, schema)
        for feature, seen in thresholds.window_distances(store, config.model_name).items():
            history.setdefault(feature, []).extend(seen)
        from pipeline.inputs import resolve_task

        foresight = thresholds.foresight_rules(config, store, resolve_task(config, schema).kind)
    suggestions = thresholds.suggest(schema, history)
    proposed = thresholds.apply(schema, suggestions)
    for s in suggestions:
        print(f"  {s.feature:<24} {s.reasoning}")
    for line in foresight:
        print(line)
    changes = schema_diff.diff(schema, proposed)
    print(schema_diff.render(changes, f"{path} (now)", f"{path} (suggested)"), end="")
    if not changes:
        return 0
    if args.write:
        write_schema(path, rewrite(path.read_text(), schema, proposed, str(path)))
        print(f"written to {path} (comments kept); check it with: driftline schema check {path}")
    else:
        print("nothing written: add --write to apply these thresholds")
    return 0


def report(args, config) -> int:
    from driftline.mlmd.store import open_store
    from driftline.monitoring import dashboard, grafana

    store = open_store(config)
    directory = args.output or config.monitoring_dashboard_dir
    path = dashboard.write(store, config.model_name, directory)
    grafana.write(config.model_name, directory / "grafana.json")
    print(f"dashboard  {path}\ngrafana    {directory / 'grafana.json'}")
    return 0


def labels(args, config) -> int:
    from pathlib import Path

    from components.errors import DataError
    from driftline.monitoring import labels as online, window as windows
    from pipeline.errors import ConfigError

    from pipeline.inputs import resolve_task

    task = resolve_task(config)
    if args.file is None:
        raise ConfigError(f"driftline monitor labels needs FILE: a CSV of request_id and "
                          f"{', '.join(task.outcomes)} (or {task.label_name})")
    if not Path(args.file).is_file():
        raise DataError(f"{args.file}: no such outcome file")
    outcomes = online.read_outcomes(args.file, task)
    log_dir = Path(args.log_dir) if args.log_dir else config.request_log_dir
    table, _ = windows.read_log(log_dir)
    joined = online.join(table, outcomes, task)
    if joined["matched"] == 0:
        raise DataError(f"{args.file}: none of its {len(outcomes)} request ids is in the request log "
                        f"{log_dir}: nothing to join")
    from driftline.mlmd.store import open_store
    from pipeline import framework_output, metadata

    open_store(config)  # a missing or foreign store is refused here
    # Finding the versions' models loads TFX (and TensorFlow): its output goes to the log.
    with framework_output.to_log_file(config.output_dir / "logs" / "monitor.log", "driftline monitor"):
        import ml_metadata as mlmd

        from driftline.monitoring import passes

        store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
        result = passes.outcome_pass(config, store, joined, [args.file], log_dir=log_dir)
    if args.json:
        print_json(result)
    else:
        _print_labels(args.file, len(outcomes), joined, result)
    return errors.BLOCKED if result["alarms"] else 0


def _print_labels(path, outcomes: int, joined: dict, result: dict):
    print(f"outcomes        {outcomes} in {path}: {joined['matched']} joined to logged predictions "
          f"({joined['unobservable']} of them rows whose label cannot be known, left out), "
          f"{joined['unmatched']} not in the log")
    for version, info in result["versions"].items():
        if info["judged"] and "rmse" in info:
            print(f"version {version:<8} {info['rows']} labelled rows: "
                  + ", ".join(f"{name.upper()} {info[name]['value']:.4g} ({info[name]['low']:.4g}–"
                              f"{info[name]['high']:.4g})" for name in ("rmse", "mae")))
        elif info["judged"]:
            print(f"version {version:<8} {info['rows']} labelled rows ({info['positives']} positive): "
                  + ", ".join(f"{name.replace('_score', '').replace('f1', 'F1')} {info[name]['value']:.3f} "
                              f"({info[name]['low']:.3f}–{info[name]['high']:.3f})"
                              for name in ("f1_score", "precision", "recall")))
        else:
            print(f"version {version:<8} {info['note']}")
    if result.get("shadow"):
        from driftline.views.shadow import shadow_text

        print(f"shadow          {shadow_text(result['shadow'])}")
    from driftline.views.estimates import check_text

    for check in result.get("estimate_checks") or []:
        print(f"estimate        {check_text(check)}")
    for alarm in result["alarms"]:
        print(f"ALARM           {alarm['text']}")
    print(f"recorded        MLMD execution {result['execution']} (driftline.Monitoring)")


def monitor(args) -> int:
    from pathlib import Path

    if args.action == "rules":
        return rules(args, config_from(args))
    if args.action == "labels":
        return labels(args, config_from(args))
    if args.action == "report":
        return report(args, config_from(args))
    if args.action == "suggest-thresholds":
        return suggest_thresholds(args, config_from(args))

    from driftline.monitoring import window as windows
    from driftline.schema.check import load_schema

    config = config_from(args)
    schema = load_schema(config.schema_file)
    log_dir = Path(args.log_dir) if args.log_dir else config.request_log_dir
    if args.watch:
        return watch(args, config, schema, log_dir)
    from components.drift_gate.comparison import features_in

    # The log is read and checked before TensorFlow loads.
    notes = []
    window = windows.select(log_dir, args.window or config.monitoring.window_rows, args.since,
                            features_in(schema, "SERVING"), notes)
    for note in notes:
        print(f"driftline: note: {note}", file=sys.stderr)
    from driftline.mlmd.store import open_store
    from pipeline import framework_output

    store = open_store(config)
    with framework_output.to_log_file(config.output_dir / "logs" / "monitor.log", "driftline monitor"):
        import ml_metadata as mlmd

        from driftline.monitoring import passes
        from pipeline import metadata

        if not config.metadata.mysql_host:  # open_store opened it read-only: the pass writes
            store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
        result = passes.window_pass(config, schema, store, window)
    result["log_notes"] = notes
    if args.json:
        print_json(result)
    else:
        print(_text(result, log_dir))
    return errors.BLOCKED if result["alarms"] else 0


def watch(args, config, schema, log_dir) -> int:
    """Every retraining.watch_seconds: judge the new windows and outcomes, then let the
    retraining policy decide (driftline/autopilot/watcher.py). Ctrl-C stops it between
    ticks; --passes N after N ticks."""
    import time
    from pathlib import Path

    from driftline.mlmd.store import open_store
    from driftline.serving import rollout
    from pipeline import framework_output

    open_store(config)  # a missing or foreign store is refused here, never created
    interval = args.interval if args.interval is not None else config.retraining.watch_seconds
    with framework_output.to_log_file(config.output_dir / "logs" / "monitor.log", "driftline monitor --watch") \
            as terminal:
        import ml_metadata as mlmd

        from driftline.autopilot.watcher import Watcher
        from pipeline import metadata

        def say(text):
            terminal.write(text + "\n")
            terminal.flush()

        store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
        url = (args.server or config.rest_url).rstrip("/")
        target = rollout.Target(config.model_name, Path(config.serving_dir), url, store)
        pilot = Watcher(config, schema, store, target, log_dir, say)
        say(f"watching        {log_dir} every {interval:g} s: windows of {config.monitoring.window_rows} "
            f"requests, outcomes from {config.outcomes_dir}, retraining after "
            f"{config.retraining.alarm_windows} alarmed windows in a row ({', '.join(config.retraining.triggers)})")
        ticks = 0
        while True:
            pilot.tick()
            ticks += 1
            if args.passes is not None and ticks >= args.passes:
                return 0
            time.sleep(interval)


def _estimate_text(found: dict) -> str:
    """A version's estimated performance on the window, as one line."""
    names = {"f1_score": "F1", "precision": "precision", "recall": "recall", "auc": "AUC"}
    parts = [f"{names[k]} {m['value']:.3f} ({m['low']:.3f}–{m['high']:.3f})" for k, m in found["metrics"].items()]
    reference = found.get("reference")
    return (f"estimated from its probabilities on {found['rows']} rows, before outcomes: " + ", ".join(parts)
            + f"; F1 {found['always_yes_f1']:.3f} for always \"yes\" (calibration error "
            f"{found['calibration_error']:.3f})"
            + (f"; its evaluation rows' F1 range {reference['low']:.3f}–{reference['high']:.3f}" if reference else ""))


def _multivariate_text(found: dict) -> str:
    auc = found["auc"]
    relied = ", ".join(f"{f['name']} {f['auc_lost']:.3f}" for f in found["features"][:3])
    return (f"a classifier tells the window from version {found['version']}'s evaluation rows with AUC "
            f"{auc['value']:.3f} ({auc['low']:.3f}–{auc['high']:.3f}): {found['verdict']} {found['threshold']:g}"
            f"; AUC lost without each feature: {relied}")


def _text(result: dict, log_dir) -> str:
    import datetime as dt

    def when(seconds):
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")

    lines = [f"window          {result['rows']} of {result['log_rows']} logged rows, "
             f"{when(result['first_timestamp'])} to {when(result['last_timestamp'])} UTC ({log_dir})"]
    if not result["judged"]:
        lines.append(f"not judged      {result['note']}")
    for version, info in result["versions"].items():
        line = (f"version {version:<8} {info['rows']} rows, latency p50 {info['latency_p50_ms']:.1f} ms, "
                f"p99 {info['latency_p99_ms']:.1f} ms")
        if "prediction_drift" in info:
            line += f", prediction drift {info['prediction_drift']:.3f}"
        lines.append(line)
        if info.get("note"):
            lines.append(f"                {info['note']}")
        if info.get("estimated_performance"):
            lines.append(f"                {_estimate_text(info['estimated_performance'])}")
        elif info.get("estimate_note"):
            lines.append(f"                {info['estimate_note']}")
        skew = info.get("skew")
        if skew:
            closest = max((f for f in skew["features"] if f["distance"] is not None and f["threshold"]),
                          key=lambda f: f["distance"] / f["threshold"], default=None)
            if closest:
                lines.append(f"                skew vs run {info['training_run']}: closest {closest['name']} "
                             f"{closest['distance']:.3f} / {closest['threshold']:g}")
    if result.get("drift"):
        lines.append("drift           " + ("within thresholds" if result["drift"]["passed"] else
                                           "over: " + ", ".join(result["drift"]["offending"]))
                     + " (against the window before)")
    elif result.get("drift_note"):
        lines.append(f"drift           {result['drift_note']}")
    if result.get("multivariate_drift"):
        lines.append(f"multivariate    {_multivariate_text(result['multivariate_drift'])}")
    elif result.get("multivariate_note"):
        lines.append(f"multivariate    {result['multivariate_note']}")
    if result.get("shadow"):
        from driftline.views.shadow import shadow_text

        lines.append(f"shadow          {shadow_text(result['shadow'])}")
    for alarm in result["alarms"]:
        lines.append(f"ALARM           {alarm['text']}")
    if result["judged"] and not result["alarms"]:
        lines.append("alarms          none")
    lines.append(f"recorded        MLMD execution {result['execution']} ({'driftline.Monitoring'})")
    return "\n".join(lines)


def register(sub):
    """`driftline monitor`'s arguments."""
    p_mon = common_args(sub.add_parser(
        "monitor", help="skew, drift and prediction drift of the server's request log, with alarms"))
    p_mon.add_argument("action", nargs="?", choices=["rules", "labels", "report", "suggest-thresholds"],
                     help="rules: write Prometheus alerting rules from [monitoring]; labels FILE: "
                     "join late outcomes (request_id and the label's outcome columns, or the label) to the logged "
                     "predictions for online F1 per version; report: the dashboard (HTML, and "
                     "Grafana JSON) from MLMD; suggest-thresholds: drift thresholds from the "
                     "history of distances, as a schema diff")
    p_mon.add_argument("file", nargs="?", type=Path, help="labels: the outcome CSV file")
    p_mon.add_argument("--output", type=Path, help="rules: the rules file (default: stdout); report: the "
                     "dashboard directory (default: output/monitoring/dashboard)")
    p_mon.add_argument("--tests", type=Path, help="rules: also write promtool unit tests for every alert")
    p_which = p_mon.add_mutually_exclusive_group()
    p_which.add_argument("--window", type=positive_int, help="the newest N logged rows (default: "
                       "monitoring.window_rows)")
    p_which.add_argument("--since", help="the rows logged since TIME (ISO 8601, UTC, or epoch seconds)")
    p_mon.add_argument("--watch", action="store_true",
                     help="keep watching: judge each new window and outcome file, and retrain, "
                     "promote or roll back by the [retraining] policy (Ctrl-C stops)")
    p_mon.add_argument("--interval", type=float, help="--watch: seconds between ticks "
                     "(default: retraining.watch_seconds)")
    p_mon.add_argument("--passes", type=positive_int, help="--watch: stop after N ticks")
    p_mon.add_argument("--server", help="--watch: the running server's REST URL (default: serving.host/rest_port)")
    p_mon.add_argument("--write", action="store_true",
                     help="suggest-thresholds: write the new thresholds into the schema (comments kept)")
    p_mon.add_argument("--schema", type=Path, help="suggest-thresholds: the schema file (default: the config's)")
    p_mon.add_argument("--log-dir", type=Path, help="the request log directory (default: the config's)")
    p_mon.add_argument("--output-dir", type=Path, help="the runs' output directory (MLMD store)")
    p_mon.add_argument("--json", action="store_true", help="the result as JSON")
    p_mon.set_defaults(func=monitor)
