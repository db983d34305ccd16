"""`driftline data`: the embedded taxi sample as yearly spans."""
from pathlib import Path
from driftline.commands.common import common_args, config_from


def data(args) -> int:
    from driftline.data.sample import prepare_spans

    config = config_from(args)
    for info in prepare_spans(config.data_root, args.source):
        print(f"span-{info.span}: {info.year}, {info.rows} rows -> {info.path}")
    return 0


def register(sub):
    """`driftline data`'s arguments."""
    p_data = common_args(sub.add_parser("data", help="write the embedded taxi sample as yearly spans"))
    p_data.add_argument("--source", type=Path, help="a CSV to split instead of the embedded sample")
    p_data.set_defaults(func=data)
