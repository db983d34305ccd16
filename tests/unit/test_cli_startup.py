"""The CLI's start-up loads none of the heavy frameworks: each command imports what it
uses when it runs, so `driftline <command> --help`, a mistyped flag or a command that
needs none of them (drift: test_drift_without_tensorflow.py) answer at once."""
import json
import subprocess
import sys

from pipeline.config import PROJECT_ROOT

HEAVY = ("tensorflow", "tfx", "apache_beam", "tensorflow_model_analysis", "tensorflow_data_validation",
         "tensorflow_transform", "ml_metadata", "sklearn", "matplotlib", "pandas", "grpc", "kfp")

_HELP_OF_EVERY_COMMAND = """
import contextlib, io, json, sys
from driftline.cli import build_parser
parser = build_parser()
commands = sorted(next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices)
for command in commands:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        parser.parse_args([command, "--help"])
print(json.dumps({"commands": commands,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))}))
"""


def test_every_commands_help_loads_no_framework():
    proc = subprocess.run([sys.executable, "-c", _HELP_OF_EVERY_COMMAND, *HEAVY], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"run", "serve", "monitor", "lineage", "rollout", "analyze"} <= set(found["commands"])
    assert found["loaded"] == []
