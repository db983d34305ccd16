"""`driftline drift`: two spans' distributions compared without training, or skew of
serving logs against a training span."""
from pathlib import Path
import json

from driftline.commands.common import common_args, config_from
from driftline import errors
from pipeline.errors import ConfigError


def drift(args) -> int:
    from driftline.data import drift as span_drift
    from pipeline import framework_output

    config = config_from(args)
    if not args.serving_data and args.baseline_span is None:
        raise ConfigError("driftline drift needs --baseline-span (or --serving-data for skew)")
    # Every input is read and checked before anything is computed or written.
    from driftline.schema.check import load_schema

    schema = load_schema(config.schema_file)
    if args.serving_data:
        training, serving = span_drift.skew_inputs(config.data_root, args.span, args.serving_data)
        directory = config.output_dir / "skew" / f"span-{args.span}_vs_serving"
    else:
        baseline, current = span_drift.span_inputs(config.data_root, args.baseline_span, args.span)
        directory = config.output_dir / "drift" / f"span-{args.baseline_span}_vs_span-{args.span}"
    with framework_output.to_log_file(config.output_dir / "logs" / "drift.log", "driftline drift"):
        from components.drift_gate import report_files

        if args.serving_data:
            comparison = span_drift.compare_skew(training, serving, schema, args.span,
                                                 args.serving_data)
        else:
            comparison = span_drift.compare_spans(baseline, current, schema,
                                                  args.baseline_span, args.span)
        html_path = report_files.write(comparison, str(directory))
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
    return 0 if comparison.passed else errors.BLOCKED


def register(sub):
    """`driftline drift`'s arguments."""
    p_drift = common_args(sub.add_parser(
        "drift", help="compare two spans' distributions without training (exit 3 if over threshold)"))
    p_drift.add_argument("--baseline-span", type=int, help="the span to compare against")
    p_drift.add_argument("--span", type=int, required=True)
    p_drift.add_argument("--serving-data", type=Path,
                       help="a directory of serving CSV logs: measure skew against --span instead")
    p_drift.add_argument("--output-dir", type=Path, help="where the report is written")
    p_drift.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p_drift.set_defaults(func=drift)
