"""A run that fails or is interrupted halfway: one message, its exit code, and no
execution left RUNNING in MLMD; `lineage` says where the run stopped and why."""
import json
import shutil
import signal
import subprocess
import sys
import time

import ml_metadata as mlmd
import pytest

from pipeline import metadata
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


def test_ctrl_c_during_transform_marks_it_canceled(tmp_path, small_spans):
    config = _setup(tmp_path, small_spans)
    # A shell starts background jobs with SIGINT ignored, and a child inherits that: this
    # run gets the default disposition back, as a command typed at a terminal has it.
    proc = subprocess.Popen([sys.executable, "-m", "driftline", "run", "--fast", "--config", str(config)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:  # progress lines: one per finished node
            seen.append(line)
            if line.strip().startswith("DriftGate"):
                break
            assert time.monotonic() < deadline, "".join(seen)
        time.sleep(3)  # Transform is running now: it takes far longer than this
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    seen.append(out)
    assert proc.returncode == 130, "".join(seen) + err
    assert "driftline: interrupted (Ctrl-C)" in err and "Traceback" not in err
    assert "Transform                        canceled" in "".join(seen)

    store, run, executions = _executions(tmp_path)
    states = {node: metadata.STATE_NAMES[e.last_known_state] for node, e in executions.items()}
    assert states["Transform"] == "canceled", states
    assert not {s for s in states.values()} & {"running", "new"}, states
    assert executions["Transform"].custom_properties[metadata.STOPPED].string_value == "interrupted (Ctrl-C)"
    assert run.custom_properties[metadata.STOPPED].string_value == \
        "interrupted at Transform: interrupted (Ctrl-C)"
    assert not (tmp_path / "out" / "serving").exists()
