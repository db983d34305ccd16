"""kill -9 in the middle of a node, then the same command again: the re-run completes,
reuses what the killed run finished, and closes the killed execution as abandoned
(CANCELED, naming the run that found it); `lineage runs` shows the killed run as
interrupted at that node. The default kills Transform; DRIFTLINE_KILL_STAGES names
others (`make reliability` kills each stage in turn)."""
import os
import shutil
import signal
import subprocess
import sys
import time

import ml_metadata as mlmd
import pytest

from pipeline import metadata
from e2e_helpers import PIPELINE

STAGES = os.environ.get("DRIFTLINE_KILL_STAGES", "Transform").split(",")


def _states(store, run_id):
    return {node: metadata.STATE_NAMES[e.last_known_state]
            for node, e in metadata.run_executions(store, PIPELINE, run_id).items()}


# Nodes that finish in a fraction of a second on these small spans: the run stops itself
# once the node is RUNNING (DRIFTLINE_PAUSE_IN, pipeline/fault_hooks.py) so it can be
# killed there. The others are killed while they work.
TOO_QUICK = {"CsvExampleGen_span4", "StatisticsGen", "DriftGate", "Pusher"}


def _kill_when_running(config, cwd, store_path, node, timeout=300):
    """Starts a run and kills its whole process group while `node` is RUNNING in MLMD."""
    env = {**os.environ, "DRIFTLINE_PAUSE_IN": node} if node in TOO_QUICK else None
    proc = subprocess.Popen([sys.executable, "-m", "driftline", "run", "--fast", "--config", str(config)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if store_path.exists():
                store = mlmd.MetadataStore(metadata.sqlite_config(store_path, readonly=True))
                runs = metadata.pipeline_runs(store)
                if runs and _states(store, runs[-1].name).get(node) == "running":
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return runs[-1].name
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    raise AssertionError(f"{node} was never seen running: {proc.stdout.read()}")


@pytest.mark.parametrize("node", STAGES)
def test_a_run_killed_during_a_node_is_closed_and_the_next_run_completes(node, tmp_path, small_spans, driftline):
    shutil.copytree(small_spans, tmp_path / "taxi")
    config = tmp_path / "driftline.toml"
    config.write_text(f'data_root = "{tmp_path / "taxi"}"\noutput_dir = "{tmp_path / "out"}"\n'
                      'window = 2\nspan = 4\n[drift]\ngate = "warn"\n')
    store_path = tmp_path / "out" / "metadata.sqlite"
    killed = _kill_when_running(config, tmp_path, store_path, node)
    store = mlmd.MetadataStore(metadata.sqlite_config(store_path, readonly=True))
    before = _states(store, killed)
    assert before[node] == "running"  # what a kill -9 leaves: nothing closed it
    finished = {n for n, s in before.items() if s == "complete"}

    again = driftline("run", "--fast", "--config", config, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"(run {killed} was interrupted at {node} and never closed: marked abandoned in MLMD" in again.stdout

    store = mlmd.MetadataStore(metadata.sqlite_config(store_path, readonly=True))
    runs = metadata.pipeline_runs(store)
    assert [r.name for r in runs][:1] == [killed] and len(runs) == 2
    rerun = runs[-1].name
    after = _states(store, killed)
    assert after[node] == "canceled" and not set(after.values()) & {"running", "new"}, after
    execution = metadata.run_executions(store, PIPELINE, killed)[node]
    assert execution.custom_properties[metadata.ABANDONED_BY].string_value == rerun
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, killed)
    assert context.custom_properties[metadata.STOPPED].string_value.startswith(f"interrupted at {node}: abandoned")
    # What the killed run finished is reused, not computed again.
    now = _states(store, rerun)
    reused = {n for n in finished if "resolver" not in n}  # resolvers run every time
    assert reused and all(now[n] == "cached" for n in reused), (finished, now)
    assert now["Pusher"] == "complete"
    serving = tmp_path / "out" / "serving" / "taxi_big_tipper"
    assert [p.name for p in serving.iterdir() if p.name.isdigit()]
    assert not [p.name for p in serving.iterdir() if p.name.startswith(".partial-")]

    listed = driftline("lineage", "runs", "--config", config, cwd=tmp_path)
    assert f"stopped: interrupted at {node}: abandoned" in listed.stdout
    # The killed run was not taken as up to date: the second call ran (a new run above).
