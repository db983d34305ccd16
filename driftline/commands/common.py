"""What every command shares: the config from --config plus flags, printing JSON."""
import json


def config_from(args):
    """Defaults, then --config FILE, then the flags this command has (None = not given)."""
    from driftline.config import load_config

    overrides = {
        "span": getattr(args, "span", None),
        "data_root": getattr(args, "data_root", None),
        "output_dir": getattr(args, "output_dir", None),
    }
    return load_config(args.config, overrides=overrides, fast_mode=getattr(args, "fast", False))


def print_json(data):
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def emit(args, data, render) -> int:
    """JSON for scripts with --json, else the human view."""
    if args.json:
        print_json(data)
    else:
        print(render(data), end="")
    return 0


def common_args(parser):
    """The options every command takes: --config and --data-root."""
    from pathlib import Path

    parser.add_argument("--config", type=Path, help="TOML config file (see the docs)")
    parser.add_argument("--data-root", type=Path, help="directory holding span-N/ CSV directories")
    return parser


def positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value
