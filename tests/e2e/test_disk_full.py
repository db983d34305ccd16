"""A disk that fills up during a run: the output directory is a small tmpfs. The run stops
with one line naming the directory and saying what to do, exits non-zero and pushes
nothing; MLMD stays readable. Given room (the same tmpfs made larger, its contents kept),
the same command completes, reusing what the first run finished, and no execution of
either run is left open. `make reliability` runs it (not `make test`: two whole runs) at
six sizes, so the disk fills during different nodes; DRIFTLINE_DISK_SIZES lists others."""
import os
import shutil
import subprocess

import ml_metadata as mlmd
import pytest

from pipeline import metadata
from e2e_helpers import PIPELINE

SIZES = os.environ.get("DRIFTLINE_DISK_SIZES", "1600k").split(",")


def _mount(directory, size):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        message = "needs root, to mount a small tmpfs as the output directory"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    directory.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    mounted = tmp_path / "out"
    yield mounted
    if mounted.is_mount():
        subprocess.run(["umount", str(mounted)], check=False)


@pytest.mark.reliability
@pytest.mark.parametrize("size", SIZES)
def test_a_full_disk_stops_the_run_in_one_line_and_the_next_run_with_room_completes(
        size, small_disk, tmp_path, small_spans, driftline):
    shutil.copytree(small_spans, tmp_path / "taxi")
    config = tmp_path / "driftline.toml"
    config.write_text(f'data_root = "{tmp_path / "taxi"}"\noutput_dir = "{small_disk}"\n'
                      'window = 2\nspan = 4\n[drift]\ngate = "warn"\n')
    _mount(small_disk, size)

    full = driftline("run", "--fast", "--config", config, cwd=tmp_path)
    assert full.returncode == 1, full.stdout + full.stderr
    message = full.stderr.strip().splitlines()
    assert len(message) == 2 and "Traceback" not in full.stderr, full.stderr
    assert message[0].startswith(f"driftline: no space left on the device holding {small_disk}"), full.stderr
    assert "Free some space or set another output_dir" in message[0]
    assert message[1] == f"  full log: {small_disk / 'logs' / 'driftline.log'}"
    where = message[0].split(" during ")[1].split(";")[0] if " during " in message[0] else "no node"
    print(f"a disk of {size} filled up during {where}")  # shown by `make reliability` (-rA)
    serving = small_disk / "serving" / "taxi_big_tipper"
    assert not serving.exists() or not [p for p in serving.iterdir() if p.name.isdigit()]
    store_path = small_disk / "metadata.sqlite"
    if store_path.exists():  # lineage says what happened, or why it cannot until there is room
        listed = driftline("lineage", "runs", "--config", config, cwd=tmp_path)
        cut_short = listed.returncode == 2 and "an MLMD store whose setup was cut short" in listed.stderr \
            and len(listed.stderr.strip().splitlines()) == 1
        assert listed.returncode == 0 or cut_short, listed.stdout + listed.stderr

    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    again = driftline("run", "--fast", "--config", config, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [p.name for p in serving.iterdir() if p.name.isdigit()]
    store = mlmd.MetadataStore(metadata.sqlite_config(store_path, readonly=True))
    runs = metadata.pipeline_runs(store)
    open_left = {(run.name, node): metadata.STATE_NAMES[e.last_known_state]
                 for run in runs for node, e in metadata.run_executions(store, PIPELINE, run.name).items()
                 if e.last_known_state in metadata.UNFINISHED}
    assert not open_left, open_left
    # A disk that fills while MLMD sets up its store leaves no run in it; otherwise the
    # first run is there, says where it stopped, and what it finished is reused.
    assert len(runs) in (1, 2), [r.name for r in runs]
    if len(runs) == 2:
        context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, runs[0].name)
        assert context.custom_properties[metadata.STOPPED].string_value, context
        first_nodes = metadata.run_executions(store, PIPELINE, runs[0].name)
        finished = {n for n, e in first_nodes.items()
                    if metadata.STATE_NAMES[e.last_known_state] == "complete" and "resolver" not in n}
        now = {n: metadata.STATE_NAMES[e.last_known_state]
               for n, e in metadata.run_executions(store, PIPELINE, runs[-1].name).items()}
        assert all(now[n] == "cached" for n in finished), (finished, now)
