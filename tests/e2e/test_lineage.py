"""`driftline lineage` against the store the end-to-end runs wrote (tests/e2e/test_pipeline.py's
four runs: span 3 cold, span 3 cached, span 4 unblessed, span 5 stopped by the gate)."""
import hashlib
import json

import pydot
import pytest

from pipeline import metadata
from e2e_helpers import PIPELINE, pushed_dir as _pushed_dir


def _lineage(runs, driftline, *args):
    work = runs["work"]
    return driftline("lineage", *args, "--config", work / "driftline.toml", cwd=work, timeout=300)


def _json(runs, driftline, *args):
    proc = _lineage(runs, driftline, *args, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _checkout_commit():
    """The checkout's commit as git itself says it, independently of driftline's code:
    HEAD, marked dirty when a tracked file differs from it."""
    import subprocess

    from pipeline.config import PROJECT_ROOT

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert len(head) == 40
    clean = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=PROJECT_ROOT).returncode == 0
    return head if clean else head + "-dirty"


def test_runs_lists_every_run_newest_first(runs, driftline):
    listed = _json(runs, driftline, "runs")
    assert [r["run_id"] for r in listed] == runs["run_ids"][::-1]
    first, cached, unblessed, blocked = listed[::-1]
    assert first["span"] == 3 and first["blessed"] is True and first["pushed_version"]
    assert set(first["nodes"].values()) == {"complete"}
    assert 0.0 <= first["metrics"]["auc"] <= 1.0 and "f1_score" in first["metrics"]
    assert cached["nodes"]["Trainer"] == "cached" and cached["metrics"] == first["metrics"]
    assert unblessed["span"] == 4 and unblessed["blessed"] is False and unblessed["pushed_version"] is None
    assert blocked["span"] == 5 and blocked["drift"]["passed"] is False
    assert "payment_type" in blocked["drift"]["anomalies"]
    for node in ["Transform", "Trainer", "ModelGate", "Pusher"]:
        assert blocked["nodes"][node] == "skipped by gate"
    # TFMA's Evaluator was not in that run's graph (`[evaluation] tfma` is off there).
    assert "Evaluator" not in blocked["nodes"]
    for r in listed:
        assert r["git_commit"] == _checkout_commit() and r["seconds"] >= 0

    table = _lineage(runs, driftline, "runs")
    assert table.returncode == 0
    for run_id in runs["run_ids"]:
        assert run_id in table.stdout
    assert ("skipped by gate: ModelGate, Pusher, Trainer, Transform, baseline_model_resolver"
            in table.stdout)


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reaches(trace, start, goal):
    parents = {}
    for edge in trace["edges"]:
        parents.setdefault(edge["to"], []).append(edge["from"])
    frontier, seen = [start], {start}
    while frontier:
        key = frontier.pop()
        if key == goal:
            return True
        for parent in parents.get(key, []):
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return False


def test_trace_reaches_the_source_csv_hash_through_every_link(runs, driftline):
    pushed = _pushed_dir(runs, 0)
    trace = _json(runs, driftline, "trace", pushed)
    summary, nodes = trace["summary"], trace["nodes"]
    assert nodes[summary["target"]]["type"] == "PushedModel"
    data_root = runs["work"] / "taxi"
    # Window of two spans ending at span 3: both ExampleGens, each with its file's hash.
    assert [s["span"] for s in summary["sources"]] == [2, 3]
    for source in summary["sources"]:
        assert source["sha256"] == {"data.csv": _sha256(data_root / f"span-{source['span']}" / "data.csv")}
        assert _reaches(trace, summary["target"], f"e{source['execution']}")
    kinds = {n["type"] if n["kind"] == "artifact" else n["node"] for n in nodes.values()}
    assert {"Model", "Trainer", "TransformGraph", "Transform", "Examples", "Schema",
            "ImportSchemaGen", "ModelBlessing", "ModelGate", "components.ModelPredictions",
            "components.DriftReport",
            "DriftGate", "ExampleStatistics", "StatisticsGen"} <= kinds
    trainer = summary["trainer"]
    assert trainer["train_steps"] == 50 and trainer["hparams"]["hidden_units"] == [16]
    assert len(trainer["code_fingerprint"]) == 64
    schema = summary["schema"][0]
    from pipeline.config import PROJECT_ROOT
    assert schema["sha256"] == _sha256(PROJECT_ROOT / "schemas" / "schema.pbtxt")
    assert summary["blessed"] is True and "auc" in summary["metrics"]
    assert summary["drift"]["current_span"] == 3 and summary["git_commit"] == _checkout_commit()
    assert summary["run"] == runs["run_ids"][0]

    text = _lineage(runs, driftline, "trace", pushed)
    assert text.returncode == 0
    digest = summary["sources"][1]["sha256"]["data.csv"]
    assert f"span-3/data.csv sha256 {digest}" in text.stdout
    assert "hyperparameters" in text.stdout and "drift           passed" in text.stdout

    # The same provenance from the run id and from the artifact id.
    by_run = _json(runs, driftline, "trace", runs["run_ids"][0])
    by_id = _json(runs, driftline, "trace", summary["target"][1:])
    assert by_run["summary"] == by_id["summary"] == summary


def test_diff_reports_the_changed_span_and_metrics(runs, driftline):
    first, unblessed = runs["run_ids"][0], runs["run_ids"][2]
    diff = _json(runs, driftline, "diff", first, unblessed)
    rows = {r["fact"]: r for r in diff["differences"]}
    assert rows["span"]["a"] == 3 and rows["span"]["b"] == 4
    assert rows["window"]["a"] == [2, 3] and rows["window"]["b"] == [3, 4]
    assert "data span-4/data.csv sha256" in rows and rows["data span-4/data.csv sha256"]["a"] is None
    assert rows["blessed"]["a"] is True and rows["blessed"]["b"] is False
    auc = rows["metric auc"]
    assert auc["delta"] == pytest.approx(auc["b"] - auc["a"])
    assert "data span-3/data.csv sha256" in diff["same"] and "schema sha256" in diff["same"]
    assert "hparam learning_rate" in diff["same"]

    same = _json(runs, driftline, "diff", first, runs["run_ids"][1])
    assert [r["fact"] for r in same["differences"]] == []
    text = _lineage(runs, driftline, "diff", first, unblessed)
    assert text.returncode == 0 and "metric auc" in text.stdout and "span" in text.stdout


def test_graph_is_valid_dot_and_mermaid(runs, driftline, tmp_path):
    run_id = runs["run_ids"][0]
    proc = _lineage(runs, driftline, "graph", run_id)
    assert proc.returncode == 0, proc.stderr
    graphs = pydot.graph_from_dot_data(proc.stdout)
    assert graphs and len(graphs) == 1
    graph = graphs[0]
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, run_id)
    names = {n.get_name() for n in graph.get_nodes()}
    assert {f"e{e.id}" for e in executions.values()} <= names
    assert len(graph.get_edges()) > len(executions)

    mermaid = _lineage(runs, driftline, "graph", run_id, "--format", "mermaid")
    assert mermaid.returncode == 0 and "flowchart LR" in mermaid.stdout
    assert mermaid.stdout.count("-->") == len(graph.get_edges())

    image = tmp_path / "lineage.png"
    drawn = _lineage(runs, driftline, "graph", _pushed_dir(runs, 0), "--output", image)
    import shutil
    if shutil.which("dot"):
        assert drawn.returncode == 0 and image.stat().st_size > 0
    else:
        assert drawn.returncode == 1 and "Graphviz is not installed" in drawn.stderr
        assert "apt-get install graphviz" in drawn.stderr and not image.exists()
        assert pydot.graph_from_dot_data(drawn.stdout)  # the DOT text was still printed


@pytest.mark.parametrize("target, message", [
    ("no-such-run", "is not an artifact id, a run id or an existing path"),
    ("999999", "no artifact with id 999999"),
    ("taxi", "not a pushed model or model directory recorded in this MLMD store"),
])
def test_bad_targets_get_one_clear_message(runs, driftline, target, message):
    proc = _lineage(runs, driftline, "trace", target)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_run_in_diff(runs, driftline):
    proc = _lineage(runs, driftline, "diff", runs["run_ids"][0], "2020-01-01T00:00:00")
    assert proc.returncode == 2 and "no pipeline run '2020-01-01T00:00:00'" in proc.stderr


def test_bad_stores_never_create_a_database(tmp_path, driftline):
    missing = tmp_path / "nothing" / "metadata.sqlite"
    proc = driftline("lineage", "runs", "--store", missing)
    assert proc.returncode == 2 and "no MLMD store here" in proc.stderr
    assert not missing.exists() and not missing.parent.exists()
    garbage = tmp_path / "notes.sqlite"
    garbage.write_text("this is not a database\n" * 100)
    proc = driftline("lineage", "runs", "--store", garbage)
    assert proc.returncode == 2 and "not an MLMD database" in proc.stderr
    assert garbage.read_text().startswith("this is not a database")
    import sqlite3
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    proc = driftline("lineage", "runs", "--store", other)
    assert proc.returncode == 2 and "not an MLMD database" in proc.stderr
