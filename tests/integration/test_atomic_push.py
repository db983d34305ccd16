"""A push killed at any point leaves no partial version where a model server looks:
the copy goes to a hidden directory beside the versions and is renamed into place
(components/push/place.py). The loop kills a real copy at many points, from before the
first file to after the rename; DRIFTLINE_FAULT_POINTS raises the count (`make
reliability`)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from components.push.place import PARTIAL_PREFIX, put_in_place, remove_partial_copies

ROOT = Path(__file__).resolve().parents[2]
POINTS = int(os.environ.get("DRIFTLINE_FAULT_POINTS", "30"))


def _model(directory: Path) -> dict:
    """A directory shaped like a SavedModel, big enough that copying it takes a while."""
    rng = np.random.default_rng(0)
    (directory / "variables").mkdir(parents=True)
    (directory / "assets").mkdir()
    for i in range(40):
        (directory / "variables" / f"variables.data-{i:05d}-of-00040").write_bytes(rng.bytes(256 * 1024))
    (directory / "variables" / "variables.index").write_bytes(rng.bytes(4096))
    (directory / "assets" / "vocab.txt").write_text("a\nb\n")
    (directory / "saved_model.pb").write_bytes(rng.bytes(64 * 1024))
    return _listing(directory)


def _listing(directory: Path) -> dict:
    return {str(p.relative_to(directory)): p.stat().st_size for p in directory.rglob("*") if p.is_file()}


_CHILD = """
import sys
sys.path.insert(0, {root!r})
from components.push.place import put_in_place
print("ready", flush=True)
sys.stdin.readline()
put_in_place({source!r}, {base!r}, {version!r})
print("done", flush=True)
"""


def test_a_push_killed_at_any_point_leaves_no_partial_version(tmp_path):
    source = tmp_path / "model"
    expected = _model(source)
    base = tmp_path / "serving"
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", f"import shutil; shutil.copytree({str(source)!r}, "
                    f"{str(tmp_path / 'timing')!r})"], check=True)
    copy_seconds = time.monotonic() - started
    outcomes = {"killed before the rename": 0, "complete": 0}
    for point in range(POINTS):
        version = str(1_000_000 + point)
        child = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), source=str(source),
                                                                      base=str(base), version=version)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(copy_seconds * 1.5 * point / max(1, POINTS - 1))  # from at once to past the end
        child.send_signal(signal.SIGKILL)
        child.wait()
        # What a model server polling the directory sees: whole versions only.
        for entry in base.iterdir() if base.exists() else []:
            if entry.name.isdigit():
                assert _listing(entry) == expected, f"kill point {point}: {entry} is incomplete"
        outcomes["complete" if (base / version).exists() else "killed before the rename"] += 1
    # The loop hit both sides of the rename, or it proved nothing.
    assert outcomes["complete"] and outcomes["killed before the rename"], outcomes
    # The next push clears what the killed ones left, and never overwrites a version.
    put_in_place(str(source), str(base), "2000000")
    assert not [p for p in base.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
    assert _listing(base / "2000000") == expected
    try:
        put_in_place(str(source), str(base), "2000000")
    except FileExistsError as exc:
        assert "never overwritten" in str(exc)
    else:
        raise AssertionError("an existing version was overwritten")


def test_partial_copies_are_removed_and_nothing_else(tmp_path):
    (tmp_path / "17").mkdir()
    (tmp_path / f"{PARTIAL_PREFIX}18-99").mkdir()
    (tmp_path / "rollout.json").write_text("{}")
    remove_partial_copies(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["17", "rollout.json"]
