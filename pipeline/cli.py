"""`driftline` sub-commands: a thin layer over functions the tests call directly."""
import argparse
import sys
from pathlib import Path

from pipeline.errors import ConfigError, DriftlineError, GateBlocked, SchemaError


def _config_from(args):
    from pipeline.config import load_config

    overrides = {
        "span": getattr(args, "span", None),
        "data_root": getattr(args, "data_root", None),
        "output_dir": getattr(args, "output_dir", None),
    }
    return load_config(args.config, overrides=overrides, fast_mode=getattr(args, "fast", False))


def cmd_data(args) -> int:
    from pipeline.config import load_config
    from pipeline.spans import prepare_spans

    config = load_config(args.config, overrides={"data_root": args.data_root})
    for info in prepare_spans(config.data_root, args.source):
        print(f"span-{info.span}: {info.year}, {info.rows} rows -> {info.path}")
    return 0


def cmd_run(args) -> int:
    from pipeline import local, summary

    config = _config_from(args)
    result, run_summary = local.run(config, force=args.force)
    if result.reused_summary:
        print(f"driftline: span {result.span} is up to date ({result.seconds:.1f} s): data, schema, "
              f"code, config and dependencies\n  are those of run {result.run_id}, the newest in "
              f"{config.metadata_path},\n  and its outputs are all there, so nothing was started. "
              "`driftline run --force` runs it anyway.")
        print(result.reused_summary, end="")
        return 0
    print(summary.render(run_summary, result.seconds), end="")
    return 0


def cmd_drift(args) -> int:
    import json

    from pipeline import local

    config = _config_from(args)
    with local.framework_output_to(config.output_dir / "logs" / "drift.log") as terminal:
        from components.drift import report
        from components.drift.offline import compare_skew, compare_spans

        if args.serving_data:
            comparison = compare_skew(config.data_root, args.span, args.serving_data, config.schema_file)
            directory = config.output_dir / "skew" / f"span-{args.span}_vs_serving"
        else:
            if args.baseline_span is None:
                raise ConfigError("driftline drift needs --baseline-span (or --serving-data for skew)")
            comparison = compare_spans(config.data_root, args.baseline_span, args.span, config.schema_file)
            directory = config.output_dir / "drift" / f"span-{args.baseline_span}_vs_span-{args.span}"
        html_path = report.write(comparison, str(directory))
    if args.json:
        data = comparison.to_json()
        data["report"] = html_path
        print(json.dumps(data, indent=2))
    else:
        print(f"{comparison.comparator.split('_')[0]} of {comparison.current_label} against "
              f"{comparison.baseline_label} (Chebyshev / L-infinity distance)")
        print(f"  {'feature':<26} {'kind':<12} {'distance':>9} {'threshold':>10}  verdict")
        for f in sorted(comparison.features, key=lambda f: f.name):
            distance = "—" if f.distance is None else f"{f.distance:.4f}"
            threshold = "—" if f.threshold is None else f"{f.threshold:.3f}"
            print(f"  {f.name:<26} {f.kind:<12} {distance:>9} {threshold:>10}  {f.verdict}")
        print(("PASSED" if comparison.passed else
               f"OVER THRESHOLD: {', '.join(f.name for f in comparison.offending)}"))
        print(f"report: {html_path}")
    return 0 if comparison.passed else GateBlocked.exit_code


def cmd_schema_check(args) -> int:
    from components.schema_tools import check_schema, data_header, load_schema

    config = _config_from(args)
    path = args.file or config.schema_file
    problems = check_schema(path, data_header(config.data_root))
    for problem in problems:
        print(problem)
    if problems:
        return 2
    schema = load_schema(path)
    print(f"{path}: ok ({len(schema.feature)} features, {len(schema.string_domain)} string domains)")
    return 0


def cmd_schema_infer(args) -> int:
    from pipeline import local
    from pipeline.spans import resolve_span

    config = _config_from(args)
    span = resolve_span(config)
    target = args.output or config.schema_file.parent / "inferred" / f"span-{span}.pbtxt"
    span_dir = config.data_root / f"span-{span}"
    with local.framework_output_to(config.output_dir / "logs" / "schema.log"):
        from components import schema_infer

        schema, statistics = schema_infer.infer(span_dir)
        schema_infer.write(schema, statistics, target, config.schema_file, str(span_dir))
    print(f"{target}: inferred from span {span} ({len(schema.feature)} features); "
          f"compare with: driftline schema diff {config.schema_file} {target}")
    return 0


def _newest_inferred(config) -> Path:
    inferred = sorted((config.schema_file.parent / "inferred").glob("*.pbtxt"),
                      key=lambda p: p.stat().st_mtime)
    if not inferred:
        raise ConfigError(f"no inferred schema in {config.schema_file.parent / 'inferred'}: "
                          "run `driftline schema infer` first, or name two files")
    return inferred[-1]


def cmd_schema_diff(args) -> int:
    import json

    from components import schema_diff
    from components.schema_tools import load_schema

    config = _config_from(args)
    a = args.a or config.schema_file
    b = args.b or _newest_inferred(config)
    changes = schema_diff.diff(load_schema(a), load_schema(b))
    if args.json:
        print(json.dumps({"a": str(a), "b": str(b), "changes": schema_diff.to_json(changes)}, indent=2))
    else:
        print(schema_diff.render(changes, str(a), str(b)), end="")
    # Like diff(1): 0 when equal, 1 when different, 2 for trouble.
    return 1 if changes else 0


def cmd_schema_update(args) -> int:
    import json

    from pipeline import local, metadata
    from components import schema_diff
    from components.schema_text import rewrite
    from components.schema_tools import check_schema, load_schema

    config = _config_from(args)
    path = args.file or config.schema_file
    problems = check_schema(path)
    if problems:
        raise SchemaError("\n".join(map(str, problems)))
    text = path.read_text()
    current = load_schema(path)
    store = metadata.open_store(config)
    with local.framework_output_to(config.output_dir / "logs" / "schema.log"):
        from pipeline.schema_update import propose

        proposal = propose(store, config.pipeline_name, args.from_run, current)
    changes = schema_diff.diff(current, proposal.proposed)
    updated = rewrite(text, current, proposal.proposed, str(path)) if changes else text
    if args.json:
        print(json.dumps({
            "run": proposal.run_id, "schema": str(path), "statistics": proposal.statistics_uri,
            "anomalies": proposal.anomalies, "drift": proposal.drift,
            "changes": schema_diff.to_json(changes), "written": bool(args.write and changes),
        }, indent=2))
    else:
        print(f"run {proposal.run_id}: statistics {proposal.statistics_uri}")
        for name, text_ in proposal.anomalies:
            print(f"  anomaly  {name}: {text_}")
        for line in proposal.drift:
            print(f"  drift    {line}")
        print(schema_diff.render(changes, f"{path} (now)", f"{path} (accepting run {proposal.run_id})"),
              end="")
    if not changes:
        return 0
    if args.write:
        path.write_text(updated)
        if not args.json:
            print(f"written to {path} (comments kept); check it with: driftline schema check {path}")
    elif not args.json:
        print("nothing written: add --write to apply these edits")
    return 0


def _lineage(args):
    from pipeline import metadata
    from pipeline.lineage import Lineage

    config = _config_from(args)
    store = metadata.open_store(config, args.store)
    return config, Lineage(store, config.pipeline_name)


def _print_json(data):
    import json

    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def _emit(args, data, render) -> int:
    """JSON for scripts with --json, else the human view."""
    if args.json:
        _print_json(data)
    else:
        print(render(data), end="")
    return 0


def cmd_lineage_runs(args) -> int:
    from pipeline import lineage_views

    _, lineage = _lineage(args)
    runs = lineage.runs()
    return _emit(args, runs[: args.limit] if args.limit else runs, lineage_views.runs_table)


def cmd_lineage_trace(args) -> int:
    from pipeline import lineage_views

    _, lineage = _lineage(args)
    return _emit(args, lineage.trace(args.target), lineage_views.trace_text)


def cmd_lineage_diff(args) -> int:
    from pipeline import lineage_views

    _, lineage = _lineage(args)
    return _emit(args, lineage.diff(args.run_a, args.run_b), lineage_views.diff_table)


def cmd_lineage_graph(args) -> int:
    from pipeline import lineage_views

    _, lineage = _lineage(args)
    run = lineage.run_named(args.target)
    if run is not None:
        graph = lineage.run_graph(run.name)
        title = f"run {run.name}"
    else:
        graph = lineage.trace(args.target)
        title = f"provenance of {args.target}"
    dot_text = lineage_views.dot(graph, title)
    mermaid_text = lineage_views.mermaid(graph, title)
    if args.json:
        _print_json({"dot": dot_text, "mermaid": mermaid_text, "nodes": graph["nodes"],
                     "edges": graph["edges"]})
    elif args.format == "mermaid":
        print(mermaid_text, end="")
    else:
        print(dot_text, end="")
    if args.output:
        path = lineage_views.render_image(dot_text, args.output)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_kubeflow_compile(args) -> int:
    from pipeline import kubeflow, local

    config = _config_from(args)
    kubeflow.check(config)  # before the TFX import: a config mistake costs no time
    with local.framework_output_to(config.output_dir / "logs" / "kubeflow.log"):
        path = kubeflow.compile_spec(config, args.output)
    print(f"compiled span {config.span} for {config.kubeflow.image} -> {path}")
    if config.drift.baseline == "blessed":
        print("note: on Kubeflow the drift baseline is the previous span and the Evaluator's "
              "baseline is TFX's latest blessed model (KFP v2 resolvers run only TFX's own "
              "strategies)")
    print(f"submit it with: driftline kubeflow submit --host URL --spec {path}")
    return 0


def cmd_kubeflow_submit(args) -> int:
    from pipeline import kubeflow

    config = _config_from(args)
    host = args.host or config.kubeflow.host
    if not host:
        raise ConfigError("driftline kubeflow submit needs --host URL (or kubeflow.host in the config)")
    spec = args.spec or Path(config.kubeflow.output)
    if not spec.is_absolute() and not spec.exists():
        from pipeline.config import PROJECT_ROOT

        spec = PROJECT_ROOT / spec
    result = kubeflow.submit(spec, host, args.experiment or config.kubeflow.experiment, config)
    print(f"run {result['run_id']} started in experiment {result['experiment']}: {result['url']}")
    return 0


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
    data.set_defaults(func=cmd_data)

    run = common(sub.add_parser("run", help="run the whole pipeline locally"))
    run.add_argument("--span", type=int, help="span to run for (default: the latest)")
    run.add_argument("--output-dir", type=Path, help="where the run writes everything")
    run.add_argument("--fast", action="store_true", help="the small configuration tests use")
    run.add_argument("--force", action="store_true",
                     help="run even when nothing changed since the newest run (TFX's cache still applies)")
    run.set_defaults(func=cmd_run)

    drift = common(sub.add_parser(
        "drift", help="compare two spans' distributions without training (exit 3 if over threshold)"))
    drift.add_argument("--baseline-span", type=int, help="the span to compare against")
    drift.add_argument("--span", type=int, required=True)
    drift.add_argument("--serving-data", type=Path,
                       help="a directory of serving CSV logs: measure skew against --span instead")
    drift.add_argument("--output-dir", type=Path, help="where the report is written")
    drift.add_argument("--json", action="store_true", help="print the comparison as JSON")
    drift.set_defaults(func=cmd_drift)

    schema = sub.add_parser("schema", help="work with the curated schema file")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    check = common(schema_sub.add_parser(
        "check", help="report every problem as file:line:col (exit 2 if any)"))
    check.add_argument("file", nargs="?", type=Path, help="schema file (default: the config's)")
    check.set_defaults(func=cmd_schema_check)
    infer = common(schema_sub.add_parser(
        "infer", help="write the schema TFDV infers from a span to schemas/inferred/"))
    infer.add_argument("--span", type=int, help="span to infer from (default: the latest)")
    infer.add_argument("--output", type=Path, help="file to write (default: schemas/inferred/span-N.pbtxt)")
    infer.add_argument("--output-dir", type=Path, help="where the log is written")
    infer.set_defaults(func=cmd_schema_infer)
    diff = common(schema_sub.add_parser(
        "diff", help="feature-by-feature difference of two schemas (exit 1 if they differ)"))
    diff.add_argument("a", nargs="?", type=Path, help="default: the curated schema")
    diff.add_argument("b", nargs="?", type=Path, help="default: the newest file in schemas/inferred/")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=cmd_schema_diff)
    update = common(schema_sub.add_parser(
        "update", help="propose the edits that accept what a run reported; --write applies them"))
    update.add_argument("--from-run", required=True, metavar="RUN_ID",
                        help="a pipeline run id from the run summary or `driftline lineage runs`, or 'latest'")
    update.add_argument("file", nargs="?", type=Path, help="schema file to edit (default: the config's)")
    update.add_argument("--write", action="store_true", help="write the edits (comments are kept)")
    update.add_argument("--output-dir", type=Path, help="the run's output directory (holds metadata.sqlite)")
    update.add_argument("--json", action="store_true")
    update.set_defaults(func=cmd_schema_update)
    kfp = sub.add_parser("kubeflow", help="compile the pipeline for Kubeflow Pipelines, or submit it")
    kfp_sub = kfp.add_subparsers(dest="kubeflow_command", required=True)
    kcompile = common(kfp_sub.add_parser(
        "compile", help="KFP v2 pipeline spec (YAML) of create_pipeline(config), under build/"))
    kcompile.add_argument("--span", type=int, help="the span the cluster run is for")
    kcompile.add_argument("--output", type=Path, help="spec file (default: kubeflow.output)")
    kcompile.add_argument("--output-dir", type=Path, help="where the compile log is written")
    kcompile.set_defaults(func=cmd_kubeflow_compile)
    ksubmit = common(kfp_sub.add_parser("submit", help="upload the compiled spec and start a run"))
    ksubmit.add_argument("--host", help="the Kubeflow Pipelines API endpoint, e.g. http://localhost:8080")
    ksubmit.add_argument("--experiment", help="experiment name (default: kubeflow.experiment)")
    ksubmit.add_argument("--spec", type=Path, help="compiled spec (default: kubeflow.output)")
    ksubmit.set_defaults(func=cmd_kubeflow_submit)

    lineage = sub.add_parser("lineage", help="where a model came from, from the MLMD store")
    lineage_sub = lineage.add_subparsers(dest="lineage_command", required=True)

    def store_args(p):
        common(p)
        p.add_argument("--output-dir", type=Path, help="the runs' output directory (holds metadata.sqlite)")
        p.add_argument("--store", type=Path, help="an MLMD SQLite file (default: the config's store)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    runs = store_args(lineage_sub.add_parser("runs", help="pipeline runs, newest first"))
    runs.add_argument("--limit", type=int, help="show only the newest N runs")
    runs.set_defaults(func=cmd_lineage_runs)
    trace = store_args(lineage_sub.add_parser(
        "trace", help="full upstream provenance of a model: data, schema, code, metrics, drift"))
    trace.add_argument("target", help="a pushed model directory, an artifact id, a run id or 'latest'")
    trace.set_defaults(func=cmd_lineage_trace)
    ldiff = store_args(lineage_sub.add_parser("diff", help="what differs between two runs"))
    ldiff.add_argument("run_a")
    ldiff.add_argument("run_b")
    ldiff.set_defaults(func=cmd_lineage_diff)
    graph = store_args(lineage_sub.add_parser(
        "graph", help="lineage graph as Graphviz DOT or Mermaid (PNG/SVG with Graphviz)"))
    graph.add_argument("target", help="a run id ('latest') or anything `trace` accepts")
    graph.add_argument("--format", choices=["dot", "mermaid"], default="dot")
    graph.add_argument("--output", type=Path, help="also draw it to FILE.png or FILE.svg (needs Graphviz)")
    graph.set_defaults(func=cmd_lineage_graph)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DriftlineError as exc:
        print(f"driftline: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug of ours: still one readable line, details in the log
        print(f"driftline: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        import traceback

        traceback.print_exc(file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("driftline: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
