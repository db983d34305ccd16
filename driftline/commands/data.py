"""`driftline data`: the embedded taxi sample as yearly spans."""
from driftline.commands.common import config_from


def data(args) -> int:
    from driftline.data.sample import prepare_spans

    config = config_from(args)
    for info in prepare_spans(config.data_root, args.source):
        print(f"span-{info.span}: {info.year}, {info.rows} rows -> {info.path}")
    return 0
