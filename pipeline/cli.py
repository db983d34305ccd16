"""`driftline` sub-commands: a thin layer over functions the tests call directly."""
import argparse
import sys
from pathlib import Path

from pipeline.errors import ConfigError, DriftlineError, GateBlocked


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
    result, run_summary = local.run(config)
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
