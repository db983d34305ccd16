"""A run that fails or is interrupted halfway: one message, its exit code, and no
execution left RUNNING in MLMD; `lineage` says where the run stopped and why."""
import json
import os
import shutil
import signal
import subprocess
import sys

import ml_metadata as mlmd
import pytest

from pipeline import fault_hooks, interruption, metadata
from pipeline.config import PROJECT_ROOT
from e2e_helpers import PIPELINE


def _setup(tmp_path, small_spans):
    shutil.copytree(small_spans, tmp_path / "taxi")
    config = tmp_path / "driftline.toml"
    config.write_text(f'data_root = "{tmp_path / "taxi"}"\noutput_dir = "{tmp_path / "out"}"\n'
                      'window = 2\nspan = 4\n[drift]\ngate = "warn"\n')
    return config


def _executions(tmp_path):
    store = mlmd.MetadataStore(metadata.sqlite_config(tmp_path / "out" / "metadata.sqlite", readonly=True))
    run = metadata.pipeline_runs(store)[-1]
    return store, run, metadata.run_executions(store, PIPELINE, run.name)


def _lineage_runs(driftline, config, tmp_path):
    proc = driftline("lineage", "runs", "--config", config, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


def test_a_component_failure_leaves_no_execution_running(tmp_path, small_spans, driftline):
    config = _setup(tmp_path, small_spans)
    # ExampleGen of span 4 cannot create its output directory: a file stands in its way.
    (tmp_path / "out" / "pipeline").mkdir(parents=True)
    (tmp_path / "out" / "pipeline" / "CsvExampleGen_span4").write_text("in the way\n")
    proc = driftline("run", "--fast", "--config", config, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "driftline: component CsvExampleGen_span4 failed:" in proc.stderr
    assert "Traceback" not in proc.stderr and "full log:" in proc.stderr

    store, run, executions = _executions(tmp_path)
    states = {node: metadata.STATE_NAMES[e.last_known_state] for node, e in executions.items()}
    assert states["CsvExampleGen_span3"] == "complete"
    assert states["CsvExampleGen_span4"] == "failed", states
    assert not {s for s in states.values()} & {"running", "new"}, states
    reason = executions["CsvExampleGen_span4"].custom_properties[metadata.STOPPED].string_value
    assert reason and "Error" in reason
    assert "Transform" not in states and "Pusher" not in states
    assert not (tmp_path / "out" / "serving").exists()

    listed = _lineage_runs(driftline, config, tmp_path)
    assert listed["stopped"].startswith("failed at CsvExampleGen_span4: ")
    assert listed["nodes"]["CsvExampleGen_span4"] == "failed"
    table = driftline("lineage", "runs", "--config", config, cwd=tmp_path)
    assert "stopped: failed at CsvExampleGen_span4" in table.stdout
    trace = driftline("lineage", "trace", "latest", "--config", config, cwd=tmp_path)
    assert trace.returncode == 2
    assert f"run {run.name} trained no model: it failed at CsvExampleGen_span4" in trace.stderr
    assert "drift gate" not in trace.stderr


# Where a stop lands decides what catches it first: Beam wraps a KeyboardInterrupt raised in
# a bundle as a RuntimeError, Keras' loop and MLMD's client have their own handling. Each
# point is an event inside the node (DRIFTLINE_SIGNAL_IN, pipeline/fault_hooks.py), never a
# sleep; `make reliability` adds more of them. The runs share one output directory, so each
# reuses what the ones before it finished.
SIGNAL_POINTS = os.environ.get(
    "DRIFTLINE_SIGNAL_POINTS",
    "Transform:bundle:1,Transform:graph:1,Transform:publish:1,Trainer:batch:20:TERM").split(",")


def test_a_stop_anywhere_in_a_node_ends_the_run_as_canceled(tmp_path, small_spans):
    config = _setup(tmp_path, small_spans)
    for point in SIGNAL_POINTS:
        node, _, _, signum = fault_hooks.parse_signal_point(point)
        proc = subprocess.run([sys.executable, "-m", "driftline", "run", "--fast", "--config", str(config)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "DRIFTLINE_SIGNAL_IN": point},
                              # A shell starts background jobs with SIGINT ignored, and a child
                              # inherits that: this run gets the default disposition back, as a
                              # command typed at a terminal has it.
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        said = f"{point}:\n{proc.stdout}{proc.stderr}"
        reason = interruption.REASONS[signum]
        assert proc.returncode == (130 if signum == signal.SIGINT else 143), said
        assert f"driftline: {reason}" in proc.stderr and "Traceback" not in proc.stderr, said
        assert "failed" not in proc.stdout and f"{node:<32} canceled" in proc.stdout, said

        store, run, executions = _executions(tmp_path)
        states = {n: metadata.STATE_NAMES[e.last_known_state] for n, e in executions.items()}
        assert states[node] == "canceled", (point, states)
        assert not {s for s in states.values()} & {"running", "new", "failed"}, (point, states)
        assert executions[node].custom_properties[metadata.STOPPED].string_value == reason, point
        assert run.custom_properties[metadata.STOPPED].string_value == f"interrupted at {node}: {reason}"
        assert not (tmp_path / "out" / "serving").exists(), point
