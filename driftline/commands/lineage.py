"""`driftline lineage runs | trace | diff | graph | deployments | export mlflow`: where a model came
from, from MLMD, and its mirror in MLflow."""
from pathlib import Path
import sys

from driftline.commands.common import common_args, config_from, emit, positive_int, print_json
from pipeline.errors import ConfigError


def _lineage(args):
    from driftline.mlmd.lineage import Lineage
    from driftline.mlmd.store import open_store

    config = config_from(args)
    store = open_store(config, args.store)
    return Lineage(store, config.pipeline_name, config.model_name)


def runs(args) -> int:
    from driftline.views import lineage as views

    found = _lineage(args).runs()
    return emit(args, found[: args.limit] if args.limit else found, views.runs_table)


def trace(args) -> int:
    from driftline.views import lineage as views

    return emit(args, _lineage(args).trace(args.target), views.trace_text)


def diff(args) -> int:
    from driftline.views import lineage as views

    return emit(args, _lineage(args).diff(args.run_a, args.run_b), views.diff_table)


def graph(args) -> int:
    from driftline.views import lineage as views

    lineage = _lineage(args)
    run = lineage.run_named(args.target)
    if run is not None:
        found = lineage.run_graph(run.name)
        title = f"run {run.name}"
    else:
        found = lineage.trace(args.target)
        title = f"provenance of {args.target}"
    dot_text = views.dot(found, title)
    mermaid_text = views.mermaid(found, title)
    if args.json:
        print_json({"dot": dot_text, "mermaid": mermaid_text, "nodes": found["nodes"],
                    "edges": found["edges"]})
    elif args.format == "mermaid":
        print(mermaid_text, end="")
    else:
        print(dot_text, end="")
    if args.output:
        path = views.render_image(dot_text, args.output)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def deployments(args) -> int:
    import datetime as dt

    from driftline.mlmd.deployments import history
    from driftline.mlmd.store import open_store

    config = config_from(args)
    found = history(open_store(config, args.store), config.model_name)

    def table(entries):
        if not entries:
            return "no deployments recorded: `driftline rollout` records each change\n"
        lines = []
        for e in entries:
            when = dt.datetime.fromtimestamp(e["time_ms"] / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            canary = f", canary {e['canary_version']} at {e['canary_percent']:g}%" if e["canary_version"] else ""
            lines.append(f"{when}  revision {e['revision']:<3} {e['action']:<8} stable {e['stable_version']}"
                         f"{canary}  ({e['reason'] or 'no reason given'})")
        return "\n".join(lines) + "\n"

    return emit(args, found, table)


def export_mlflow(args) -> int:
    from driftline.mlmd.store import open_for_recording
    from driftline.tracking.mlflow_export import export
    from driftline.views import lineage as views

    config = config_from(args)
    uri = args.tracking_uri or config.mlflow.tracking_uri
    if not uri:
        raise ConfigError("no MLflow tracking server named: pass --tracking-uri URI or set "
                          "[mlflow] tracking_uri in the config")
    found = export(config, open_for_recording(config), uri, args.experiment or config.mlflow.experiment,
                   args.slices or config.mlflow.slices)
    return emit(args, found.to_json(), views.export_text)


def register(sub):
    """`driftline lineage`'s arguments."""
    p_lineage = sub.add_parser("lineage", help="where a model came from, from the MLMD store")
    p_lineage_sub = p_lineage.add_subparsers(dest="lineage_command", required=True)

    def store_args(p):
        common_args(p)
        p.add_argument("--output-dir", type=Path, help="the runs' output directory (holds metadata.sqlite)")
        p.add_argument("--store", type=Path, help="an MLMD SQLite file (default: the config's store)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p_deployments = store_args(p_lineage_sub.add_parser(
        "deployments", help="every rollout change: who served, at what share, and why"))
    p_deployments.set_defaults(func=deployments)
    p_runs = store_args(p_lineage_sub.add_parser("runs", help="pipeline runs, newest first"))
    p_runs.add_argument("--limit", type=positive_int, help="show only the newest N runs")
    p_runs.set_defaults(func=runs)
    p_trace = store_args(p_lineage_sub.add_parser(
        "trace", help="full upstream provenance of a model: data, schema, code, metrics, drift"))
    p_trace.add_argument("target", help="a pushed model directory, an artifact id, a run id, 'latest' (the "
                       "newest run's model, pushed or not) or 'serving' (the stable version now)")
    p_trace.set_defaults(func=trace)
    p_ldiff = store_args(p_lineage_sub.add_parser("diff", help="what differs between two runs"))
    p_ldiff.add_argument("run_a")
    p_ldiff.add_argument("run_b")
    p_ldiff.set_defaults(func=diff)
    p_graph = store_args(p_lineage_sub.add_parser(
        "graph", help="lineage graph as Graphviz DOT or Mermaid (PNG/SVG with Graphviz)"))
    p_graph.add_argument("target", help="a run id ('latest') or anything `trace` accepts")
    p_graph.add_argument("--format", choices=["dot", "mermaid"], default="dot")
    p_graph.add_argument("--output", type=Path, help="also draw it to FILE.png or FILE.svg (needs Graphviz)")
    p_graph.set_defaults(func=graph)
    p_export = p_lineage_sub.add_parser("export", help="mirror the runs and deployments into another tracker")
    p_export_sub = p_export.add_subparsers(dest="export_target", required=True)
    p_mlflow = common_args(p_export_sub.add_parser(
        "mlflow", help="every run, its metrics and reports, and the registry's versions and aliases, in MLflow"))
    p_mlflow.add_argument("--output-dir", type=Path, help="the runs' output directory (holds metadata.sqlite)")
    p_mlflow.add_argument("--tracking-uri", help="the MLflow tracking server (default: [mlflow] tracking_uri)")
    p_mlflow.add_argument("--experiment", help="the MLflow experiment (default: [mlflow] experiment, "
                          "else the pipeline's name)")
    p_mlflow.add_argument("--slices", action="store_true", help="each slice's metrics from the error analysis too")
    p_mlflow.add_argument("--json", action="store_true", help="machine-readable output")
    p_mlflow.set_defaults(func=export_mlflow)
