"""The `driftline` command line: argument parsing only. Each command lives in its own
module under driftline/commands/ and is imported when it runs, so a command pays only
for the imports it needs."""
import argparse
import importlib
import sys
from pathlib import Path

from components.errors import DriftlineError
from driftline import errors
from pipeline.errors import Terminated


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def commands(module: str, function: str):
    """The function that runs a command, imported only when that command runs."""
    def run(args):
        return getattr(importlib.import_module(f"driftline.commands.{module}"), function)(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftline",
        description="A TFX pipeline that validates data and models before they serve.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--config", type=Path, help="TOML config file (see README)")
        p.add_argument("--data-root", type=Path, help="directory holding span-N/ CSV directories")
        return p

    data = common(sub.add_parser("data", help="write the embedded taxi sample as yearly spans"))
    data.add_argument("--source", type=Path, help="a CSV to split instead of the embedded sample")
    data.set_defaults(func=commands("data", "data"))

    run = common(sub.add_parser("run", help="run the whole pipeline locally"))
    run.add_argument("--span", type=int, help="span to run for (default: the latest)")
    run.add_argument("--output-dir", type=Path, help="where the run writes everything")
    run.add_argument("--fast", action="store_true", help="the small configuration tests use")
    run.add_argument("--force", action="store_true",
                     help="run even when nothing changed since the newest run (TFX's cache still applies)")
    run.set_defaults(func=commands("run", "run"))

    drift = common(sub.add_parser(
        "drift", help="compare two spans' distributions without training (exit 3 if over threshold)"))
    drift.add_argument("--baseline-span", type=int, help="the span to compare against")
    drift.add_argument("--span", type=int, required=True)
    drift.add_argument("--serving-data", type=Path,
                       help="a directory of serving CSV logs: measure skew against --span instead")
    drift.add_argument("--output-dir", type=Path, help="where the report is written")
    drift.add_argument("--json", action="store_true", help="print the comparison as JSON")
    drift.set_defaults(func=commands("drift", "drift"))

    schema = sub.add_parser("schema", help="work with the curated schema file")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    check = common(schema_sub.add_parser(
        "check", help="report every problem as file:line:col (exit 2 if any)"))
    check.add_argument("file", nargs="?", type=Path, help="schema file (default: the config's)")
    check.set_defaults(func=commands("schema", "check"))
    infer = common(schema_sub.add_parser(
        "infer", help="write the schema TFDV infers from a span to schemas/inferred/"))
    infer.add_argument("--span", type=int, help="span to infer from (default: the latest)")
    infer.add_argument("--output", type=Path, help="file to write (default: schemas/inferred/span-N.pbtxt)")
    infer.add_argument("--output-dir", type=Path, help="where the log is written")
    infer.set_defaults(func=commands("schema", "infer"))
    diff = common(schema_sub.add_parser(
        "diff", help="feature-by-feature difference of two schemas (exit 1 if they differ)"))
    diff.add_argument("a", nargs="?", type=Path, help="default: the curated schema")
    diff.add_argument("b", nargs="?", type=Path, help="default: the newest file in schemas/inferred/")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=commands("schema", "diff"))
    update = common(schema_sub.add_parser(
        "update", help="propose the edits that accept what a run reported; --write applies them"))
    update.add_argument("--from-run", required=True, metavar="RUN_ID",
                        help="a pipeline run id from the run summary or `driftline lineage runs`, or 'latest'")
    update.add_argument("file", nargs="?", type=Path, help="schema file to edit (default: the config's)")
    update.add_argument("--write", action="store_true", help="write the edits (comments are kept)")
    update.add_argument("--output-dir", type=Path, help="the run's output directory (holds metadata.sqlite)")
    update.add_argument("--json", action="store_true")
    update.set_defaults(func=commands("schema", "update"))
    serve = common(sub.add_parser(
        "serve", help="serve the pushed versions over TF Serving's REST and gRPC APIs"))
    serve.add_argument("--serving-dir", type=Path,
                       help="the model's directory of versions (default: the config's)")
    serve.add_argument("--rest-port", type=int, help="REST port (default: serving.rest_port, 8501)")
    serve.add_argument("--grpc-port", type=int, help="gRPC port (default: serving.grpc_port, 8500)")
    serve.add_argument("--output-dir", type=Path, help="the runs' output directory")
    serve.set_defaults(func=commands("serve", "serve"))

    rollout = sub.add_parser("rollout", help="who serves: canary, promote, rollback, blue-green switch")
    rollout_sub = rollout.add_subparsers(dest="rollout_command", required=True)

    def rollout_args(p, reason=True):
        common(p)
        p.add_argument("--output-dir", type=Path, help="the runs' output directory (its MLMD store)")
        p.add_argument("--serving-dir", type=Path, help="the model's directory of versions")
        p.add_argument("--server", help="the running server's REST URL (default: serving.host/rest_port)")
        if reason:
            p.add_argument("--reason", default="", help="why: recorded in MLMD with the change")
        return p

    rstatus = rollout_args(rollout_sub.add_parser("status", help="the policy, the server's versions, the history"),
                           reason=False)
    rstatus.add_argument("--json", action="store_true")
    rstatus.add_argument("--history", type=positive_int, default=10, help="deployments shown (default 10)")
    rstatus.set_defaults(func=commands("rollout", "status"))
    rcanary = rollout_args(rollout_sub.add_parser("canary", help="route a share of the traffic to a version"))
    rcanary.add_argument("--version", type=int, required=True)
    rcanary.add_argument("--percent", type=float, help="its share (default: serving.canary_percent)")
    rcanary.set_defaults(func=commands("rollout", "canary"))
    rpromote = rollout_args(rollout_sub.add_parser("promote", help="the canary takes all the traffic"))
    rpromote.set_defaults(func=commands("rollout", "promote"))
    rrollback = rollout_args(rollout_sub.add_parser("rollback", help="back to the policy before the last change"))
    rrollback.set_defaults(func=commands("rollout", "rollback"))
    rswitch = rollout_args(rollout_sub.add_parser(
        "switch", help="blue-green: a version takes all the traffic in one step"))
    rswitch.add_argument("--to", type=int, required=True, help="the version")
    rswitch.set_defaults(func=commands("rollout", "switch"))
    rexport = rollout_args(rollout_sub.add_parser(
        "export", help="the policy as KServe and TF Serving configuration"), reason=False)
    rexport.add_argument("--kserve", type=Path, help="write a KServe v1beta1 InferenceService (YAML)")
    rexport.add_argument("--tf-serving", type=Path, help="write a TF Serving model_config_list")
    rexport.add_argument("--namespace", default="", help="the InferenceService's namespace")
    rexport.set_defaults(func=commands("rollout", "export"))

    kfp = sub.add_parser("kubeflow", help="compile the pipeline for Kubeflow Pipelines, or submit it")
    kfp_sub = kfp.add_subparsers(dest="kubeflow_command", required=True)
    kcompile = common(kfp_sub.add_parser(
        "compile", help="KFP v2 pipeline spec (YAML) of create_pipeline(config), under build/"))
    kcompile.add_argument("--span", type=int, help="the span the cluster run is for")
    kcompile.add_argument("--output", type=Path, help="spec file (default: kubeflow.output)")
    kcompile.add_argument("--output-dir", type=Path, help="where the compile log is written")
    kcompile.set_defaults(func=commands("kubeflow", "compile_spec"))
    krehearse = common(kfp_sub.add_parser(
        "rehearse", help="run the compiled spec here, task by task as a KFP launcher would "
                         "(a rehearsal, not a Kubeflow backend: see README)"))
    krehearse.add_argument("--span", type=int, help="the span the cluster run is for")
    krehearse.add_argument("--spec", type=Path,
                           help="a compiled spec (default: compile kubeflow.output first)")
    krehearse.add_argument("--workdir", type=Path,
                           help="local stand-ins for the buckets and the image (default: OUTPUT/rehearsal)")
    krehearse.add_argument("--output-dir", type=Path, help="where the rehearsal directory goes")
    krehearse.add_argument("--isolation", choices=["process", "fork"], default="process",
                           help="process: each task a fresh `python -m` process, as in its container "
                                "(default); fork: a child of a process that already imported "
                                "TensorFlow, same module and arguments, faster")
    krehearse.set_defaults(func=commands("kubeflow", "rehearse"))
    ksubmit = common(kfp_sub.add_parser("submit", help="upload the compiled spec and start a run"))
    ksubmit.add_argument("--host", help="the Kubeflow Pipelines API endpoint, e.g. http://localhost:8080")
    ksubmit.add_argument("--experiment", help="experiment name (default: kubeflow.experiment)")
    ksubmit.add_argument("--spec", type=Path, help="compiled spec (default: kubeflow.output)")
    ksubmit.set_defaults(func=commands("kubeflow", "submit"))

    analyze = common(sub.add_parser(
        "analyze", help="error analysis by slice of a run's model: HTML report with charts"))
    analyze.add_argument("run", nargs="?", default="latest", help="a run id or 'latest' (default)")
    analyze.add_argument("--baseline", help="compare with this run's model on the same examples "
                         "(default: the model serving when the run was judged)")
    analyze.add_argument("--output", type=Path, help="report directory (default: output/reports/RUN)")
    analyze.add_argument("--slice", action="append", metavar="FEATURE[,FEATURE]",
                         help="a slicing (repeat; a,b crosses two features); default: the config's "
                         "slice features, company, and the first two crossed")
    analyze.add_argument("--output-dir", type=Path, help="the runs' output directory")
    analyze.add_argument("--store", type=Path, help="an MLMD SQLite file (default: the config's store)")
    analyze.add_argument("--json", action="store_true", help="the analysis as JSON")
    analyze.set_defaults(func=commands("analyze", "analyze"))

    retrain = common(sub.add_parser(
        "retrain", help="train on the newest span; a blessed model becomes a canary on the running server"))
    retrain.add_argument("--span", type=positive_int, help="the span to train up to (default: the latest)")
    retrain.add_argument("--reason", help="why (recorded in MLMD with the decision)")
    retrain.add_argument("--percent", type=float, help="the canary's share (default: serving.canary_percent)")
    retrain.add_argument("--output-dir", type=Path, help="where the runs write everything")
    retrain.add_argument("--force", action="store_true", help="run even when nothing changed")
    retrain.add_argument("--fast", action="store_true", help="the small configuration tests use")
    retrain.add_argument("--load-timeout", type=float, default=120.0,
                         help="seconds to wait for the server to load the new version")
    retrain.set_defaults(func=commands("retrain", "retrain"))

    mon = common(sub.add_parser(
        "monitor", help="skew, drift and prediction drift of the server's request log, with alarms"))
    mon.add_argument("action", nargs="?", choices=["rules", "labels", "report", "suggest-thresholds"],
                     help="rules: write Prometheus alerting rules from [monitoring]; labels FILE: "
                     "join late outcomes (request_id and tips, or big_tipper) to the logged "
                     "predictions for online F1 per version; report: the dashboard (HTML, and "
                     "Grafana JSON) from MLMD; suggest-thresholds: drift thresholds from the "
                     "history of distances, as a schema diff")
    mon.add_argument("file", nargs="?", type=Path, help="labels: the outcome CSV file")
    mon.add_argument("--output", type=Path, help="rules: the rules file (default: stdout); report: the "
                     "dashboard directory (default: output/monitoring/dashboard)")
    mon.add_argument("--tests", type=Path, help="rules: also write promtool unit tests for every alert")
    which = mon.add_mutually_exclusive_group()
    which.add_argument("--window", type=positive_int, help="the newest N logged rows (default: "
                       "monitoring.window_rows)")
    which.add_argument("--since", help="the rows logged since TIME (ISO 8601, UTC, or epoch seconds)")
    mon.add_argument("--watch", action="store_true",
                     help="keep watching: judge each new window and outcome file, and retrain, "
                     "promote or roll back by the [retraining] policy (Ctrl-C stops)")
    mon.add_argument("--interval", type=float, help="--watch: seconds between ticks "
                     "(default: retraining.watch_seconds)")
    mon.add_argument("--passes", type=positive_int, help="--watch: stop after N ticks")
    mon.add_argument("--server", help="--watch: the running server's REST URL (default: serving.host/rest_port)")
    mon.add_argument("--write", action="store_true",
                     help="suggest-thresholds: write the new thresholds into the schema (comments kept)")
    mon.add_argument("--schema", type=Path, help="suggest-thresholds: the schema file (default: the config's)")
    mon.add_argument("--log-dir", type=Path, help="the request log directory (default: the config's)")
    mon.add_argument("--output-dir", type=Path, help="the runs' output directory (MLMD store)")
    mon.add_argument("--json", action="store_true", help="the result as JSON")
    mon.set_defaults(func=commands("monitor", "monitor"))

    replay = common(sub.add_parser(
        "replay", help="the whole loop in time order on the real spans: train, serve, drift, "
                       "alarms, retrain, canary, promote or roll back; then a timeline report"))
    replay.add_argument("--spans", default="1-4", help="first-last: train on the first, serve the rest (default 1-4)")
    replay.add_argument("--fast", action="store_true", help="small models (as the tests use): same loop, "
                        "faster training")
    replay.add_argument("--output-dir", type=Path, help="the replay directory, emptied first "
                        "(default: OUTPUT_DIR/replay)")
    replay.set_defaults(func=commands("replay", "replay"))

    lineage = sub.add_parser("lineage", help="where a model came from, from the MLMD store")
    lineage_sub = lineage.add_subparsers(dest="lineage_command", required=True)

    def store_args(p):
        common(p)
        p.add_argument("--output-dir", type=Path, help="the runs' output directory (holds metadata.sqlite)")
        p.add_argument("--store", type=Path, help="an MLMD SQLite file (default: the config's store)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    deployments = store_args(lineage_sub.add_parser(
        "deployments", help="every rollout change: who served, at what share, and why"))
    deployments.set_defaults(func=commands("lineage", "deployments"))
    runs = store_args(lineage_sub.add_parser("runs", help="pipeline runs, newest first"))
    runs.add_argument("--limit", type=positive_int, help="show only the newest N runs")
    runs.set_defaults(func=commands("lineage", "runs"))
    trace = store_args(lineage_sub.add_parser(
        "trace", help="full upstream provenance of a model: data, schema, code, metrics, drift"))
    trace.add_argument("target", help="a pushed model directory, an artifact id, a run id, 'latest' (the "
                       "newest run's model, pushed or not) or 'serving' (the stable version now)")
    trace.set_defaults(func=commands("lineage", "trace"))
    ldiff = store_args(lineage_sub.add_parser("diff", help="what differs between two runs"))
    ldiff.add_argument("run_a")
    ldiff.add_argument("run_b")
    ldiff.set_defaults(func=commands("lineage", "diff"))
    graph = store_args(lineage_sub.add_parser(
        "graph", help="lineage graph as Graphviz DOT or Mermaid (PNG/SVG with Graphviz)"))
    graph.add_argument("target", help="a run id ('latest') or anything `trace` accepts")
    graph.add_argument("--format", choices=["dot", "mermaid"], default="dot")
    graph.add_argument("--output", type=Path, help="also draw it to FILE.png or FILE.svg (needs Graphviz)")
    graph.set_defaults(func=commands("lineage", "graph"))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that went away is met here, not at exit
        return code
    except BrokenPipeError:
        # `driftline ... | head`: the reader took what it wanted. Later writes (Python's own
        # flush at exit) go nowhere, and the exit status is the shell's for SIGPIPE.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errors.BROKEN_PIPE
    except DriftlineError as exc:
        print(f"driftline: {exc}", file=sys.stderr)
        return errors.exit_code(exc)
    except KeyboardInterrupt:
        print("driftline: interrupted (Ctrl-C); what was running is marked canceled in MLMD",
              file=sys.stderr)
        return errors.INTERRUPTED
    except Terminated:
        print("driftline: terminated (SIGTERM); what was running is marked canceled in MLMD",
              file=sys.stderr)
        return errors.TERMINATED
    except Exception as exc:  # a bug of ours: still one readable line, details below it
        print(f"driftline: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        import traceback

        traceback.print_exc(file=sys.stderr)
        return errors.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
