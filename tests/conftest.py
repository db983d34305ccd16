import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_sample_source(target: Path, every: int) -> Path:
    """Every `every`-th row of the embedded taxi sample, byte for byte, header kept."""
    from pipeline.spans import embedded_source

    lines = embedded_source().read_bytes().splitlines(keepends=True)
    target.write_bytes(b"".join([lines[0]] + lines[1::every]))
    return target


@pytest.fixture(scope="session")
def embedded_spans(tmp_path_factory):
    """The embedded sample split into its four yearly spans."""
    from pipeline.spans import prepare_spans

    root = tmp_path_factory.mktemp("taxi")
    prepare_spans(root)
    return root


@pytest.fixture(scope="session")
def small_spans(tmp_path_factory):
    """A one-in-five sample of the rows, split into the same four yearly spans."""
    from pipeline.spans import prepare_spans

    work = tmp_path_factory.mktemp("small")
    source = write_sample_source(work / "sample.csv", every=5)
    prepare_spans(work / "taxi", source)
    return work / "taxi"


@pytest.fixture(scope="session")
def driftline():
    """Runs the real `driftline` CLI in a subprocess and returns the CompletedProcess."""
    import subprocess

    def run(*args, cwd=ROOT, timeout=900):
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *map(str, args)],
            cwd=cwd, capture_output=True, text=True, timeout=timeout,
        )

    return run
