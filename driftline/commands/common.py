"""What every command shares: the config from --config plus flags, printing JSON."""
import json


def config_from(args):
    """Defaults, then --config FILE, then the flags this command has (None = not given)."""
    from pipeline.config import load_config

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
