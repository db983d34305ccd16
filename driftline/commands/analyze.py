"""`driftline analyze [RUN|latest] [--baseline RUN] [--output DIR] [--json]`."""
from pathlib import Path
from driftline.commands.common import common_args, config_from, print_json


def analyze(args) -> int:
    from driftline.analysis.runs import write_report
    from driftline.mlmd.store import open_store

    config = config_from(args)
    store = open_store(config, args.store)
    slicings = [tuple(s.split(",")) for s in args.slice] if args.slice else None
    path, result = write_report(store, config, args.run, args.baseline, args.output, slicings)
    if args.json:
        print_json(result)
        return 0
    if result.get("kind") == "regression":
        return _print_regression(result, path)
    overall = result["overall"]
    print(f"run {result['run']}: {result['examples']} judged examples, F1 {overall['f1_score']:.3f}, "
          f"AUC {overall['auc']:.3f}")
    for row in result["worst"]["by_errors"][:3]:
        print(f"  most errors     {row['slice']}: {row['errors']} of {row['examples']} "
              f"({row['error_share']:.0%} of all errors), F1 {row['f1_score']:.3f} "
              f"({row['f1_low']:.3f}–{row['f1_high']:.3f})")
    for row in result.get("worse_slices", [])[:3]:
        print(f"  worse than serving  {row['slice']}: F1 {row['f1_change']:+.3f} "
              f"({row['f1_change_low']:+.3f} to {row['f1_change_high']:+.3f})")
    noise = result.get("lower_within_noise", [])
    if noise:
        print(f"  within noise    {len(noise)} slice{'s' if len(noise) > 1 else ''} lower than serving, each "
              f"interval including no change (e.g. {noise[0]['slice']}: F1 {noise[0]['f1_change']:+.3f}, "
              f"{noise[0]['f1_change_low']:+.3f} to {noise[0]['f1_change_high']:+.3f})")
    for advice in result["where_to_add_data"][:3]:
        print(f"  add data        {advice['text']}")
    print(f"report  {path}")
    return 0


def _print_regression(result: dict, path) -> int:
    overall = result["overall"]
    print(f"run {result['run']}: {result['examples']} judged examples, RMSE {overall['rmse']:.4g}, "
          f"MAE {overall['mae']:.4g}")
    for row in result["worst"]["by_squared_error"][:3]:
        print(f"  most error      {row['slice']}: {row['squared_error_share']:.0%} of the squared error on "
              f"{row['examples']} examples, MAE {row['mae']:.4g} ({row['mae_low']:.4g}–{row['mae_high']:.4g}), "
              f"bias {row['bias']:+.4g}")
    for row in result.get("worse_slices", [])[:3]:
        print(f"  worse than serving  {row['slice']}: MAE {row['mae_change']:+.4g} "
              f"({row['mae_change_low']:+.4g} to {row['mae_change_high']:+.4g})")
    print(f"report  {path}")
    return 0


def register(sub):
    """`driftline analyze`'s arguments."""
    p_analyze = common_args(sub.add_parser(
        "analyze", help="error analysis by slice of a run's model: HTML report with charts"))
    p_analyze.add_argument("run", nargs="?", default="latest", help="a run id or 'latest' (default)")
    p_analyze.add_argument("--baseline", help="compare with this run's model on the same examples "
                         "(default: the model serving when the run was judged)")
    p_analyze.add_argument("--output", type=Path, help="report directory (default: output/reports/RUN)")
    p_analyze.add_argument("--slice", action="append", metavar="FEATURE[,FEATURE]",
                         help="a slicing (repeat; a,b crosses two features); default: the config's "
                         "slice features and analysis slices, and the first two slice features crossed")
    p_analyze.add_argument("--output-dir", type=Path, help="the runs' output directory")
    p_analyze.add_argument("--store", type=Path, help="an MLMD SQLite file (default: the config's store)")
    p_analyze.add_argument("--json", action="store_true", help="the analysis as JSON")
    p_analyze.set_defaults(func=analyze)
