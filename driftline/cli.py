"""The `driftline` command line: the commands' parsers and the one place an error
becomes an exit status. Each command lives in its own module under driftline/commands/,
registers its own arguments, and imports what it needs only when it runs."""
import argparse
import importlib
import sys

from components.errors import DriftlineError
from driftline import errors
from pipeline.errors import Terminated

COMMANDS = ["init", "data", "run", "drift", "schema", "serve", "rollout", "kubeflow", "analyze", "retrain",
            "monitor", "replay", "lineage", "airflow"]


def build_parser() -> argparse.ArgumentParser:
    """Each command module under driftline/commands/ registers its own arguments; the
    modules import what their commands need only when they run."""
    parser = argparse.ArgumentParser(
        prog="driftline",
        description="A TFX pipeline that validates data and models before they serve.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"driftline.commands.{name}").register(sub)
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
