import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Each test directory is a speed class: the marker follows from where a test lives.
SPEED_CLASSES = ("unit", "integration", "e2e")


# Session fixtures worth building once per run: the tests that use them share a worker.
SHARED_FIXTURES = ("runs", "challengers")


# First: xdist's workers read the group marks in their own hook of the same name.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in SPEED_CLASSES:
            item.add_marker(parts[0])
        # For pytest-xdist's --dist loadgroup: a module's tests stay together (its
        # module fixtures are built once), and so do all the users of the shared runs.
        shared = any(name in item.fixturenames for name in SHARED_FIXTURES)
        item.add_marker(pytest.mark.xdist_group("shared-runs" if shared else "/".join(parts)))
    config._driftline_only_unit = bool(items) and all(
        Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0] == "unit" for item in items)


def pytest_collection_finish(session):
    """Long end-to-end jobs that need nothing from other tests start as soon as the tests
    are collected and run beside them (tests/background_jobs.py)."""
    import background_jobs

    names = {Path(str(item.fspath)).name for item in session.items}
    if "test_replay.py" in names:
        background_jobs.start("replay", ["replay", "--fast", "--spans", "1-4"], ROOT)
    if "test_default_model.py" in names:
        background_jobs.start("default", ["run"], ROOT)
        background_jobs.start_script("shuffled", ROOT / "tests" / "e2e" / "shuffled_job.py", ROOT)


def pytest_configure(config):
    import background_jobs

    if "PYTEST_XDIST_WORKER" not in os.environ:
        background_jobs.name_the_run()


def pytest_unconfigure(config):
    import background_jobs

    if "PYTEST_XDIST_WORKER" not in os.environ:
        background_jobs.stop_all()


def pytest_sessionfinish(session, exitstatus):
    """The fast loop's promise: unit tests never import TensorFlow (directly or through
    TFX, TFDV, Beam), so `make test-fast` stays fast. Checked after the whole run."""
    if getattr(session.config, "_driftline_only_unit", False) and "tensorflow" in sys.modules:
        sys.stderr.write("\nFAILED: the unit tests imported tensorflow; move the test that "
                         "needs it to tests/integration/ or keep the import out of its path\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def write_sample_source(target: Path, every: int) -> Path:
    """Every `every`-th row of the embedded taxi sample, byte for byte, header kept."""
    from driftline.data.sample import embedded_source

    lines = embedded_source().read_bytes().splitlines(keepends=True)
    target.write_bytes(b"".join([lines[0]] + lines[1::every]))
    return target


@pytest.fixture(scope="session")
def embedded_spans(tmp_path_factory):
    """The embedded sample split into its four yearly spans."""
    from driftline.data.sample import prepare_spans

    root = tmp_path_factory.mktemp("taxi")
    prepare_spans(root)
    return root


@pytest.fixture(scope="session")
def small_spans(tmp_path_factory):
    """A one-in-five sample of the rows, split into the same four yearly spans."""
    from driftline.data.sample import prepare_spans

    work = tmp_path_factory.mktemp("small")
    source = write_sample_source(work / "sample.csv", every=5)
    prepare_spans(work / "taxi", source)
    return work / "taxi"


@pytest.fixture(scope="session")
def driftline():
    """Runs the real `driftline` CLI in a subprocess and returns the CompletedProcess."""
    import subprocess

    def run(*args, cwd=ROOT, timeout=900, env=None):
        return subprocess.run(
            [sys.executable, "-m", "driftline", *map(str, args)],
            cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env,
        )

    return run

