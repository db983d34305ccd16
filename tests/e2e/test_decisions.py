"""Reproducible models and decisions that account for noise: the same inputs give the
same model, another seed gives another model, a drop within noise is blessed, a
clearly worse challenger is not, and the summary says which case applied."""
import glob

import numpy as np
import pytest
import tensorflow as tf

from components.model_gate import verdict as model_verdict
from driftline.mlmd.store import output_artifacts
from pipeline import metadata, nodes
from e2e_helpers import PIPELINE


def _judgement(store, run_id):
    executions = metadata.run_executions(store, PIPELINE, run_id)
    blessing = output_artifacts(store, executions[nodes.MODEL_GATE].id)[nodes.BLESSING][0]
    return model_verdict.read(blessing)


def _weights(store, run_id):
    """Every variable the SavedModel holds (the layers' weights, the optimizer's state),
    read from its checkpoint."""
    executions = metadata.run_executions(store, PIPELINE, run_id)
    model = output_artifacts(store, executions[nodes.TRAINER].id)[nodes.MODEL][0]
    reader = tf.train.load_checkpoint(f"{model.uri}/Format-Serving/variables/variables")
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "kernel" in name or "bias" in name}


def test_the_same_inputs_give_the_same_model_and_metrics(runs, challengers):
    first = _judgement(runs["store"], runs["run_ids"][0])
    twin = _judgement(challengers["stores"]["twin"], challengers["run_ids"]["twin"])
    assert first["examples"] == twin["examples"] > 0
    for metric, value in first["metrics"].items():
        for end in ("value", "low", "high"):
            assert twin["metrics"][metric][end] == pytest.approx(value[end], abs=1e-6), (metric, end)
    a = _weights(runs["store"], runs["run_ids"][0])
    b = _weights(challengers["stores"]["twin"], challengers["run_ids"]["twin"])
    assert a.keys() == b.keys() and len(a) >= 4
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_another_seed_gives_another_model(challengers):
    base = _weights(challengers["stores"]["base"], challengers["run_ids"]["base"])
    reseeded = _weights(challengers["stores"]["reseeded"], challengers["run_ids"]["reseeded"])
    assert any(not np.array_equal(base[name], reseeded[name]) for name in base)


def test_a_challenger_that_differs_by_noise_is_blessed(challengers):
    judged = _judgement(challengers["stores"]["reseeded"], challengers["run_ids"]["reseeded"])
    assert judged["blessed"] and judged["diffs"], judged
    auc = next(c for c in judged["checks"] if c["name"] == "auc vs serving model")
    assert auc["passed"] and "within" in auc["text"]
    # Judged against the serving model on the same examples: the paired interval.
    diff = judged["diffs"]["auc"]
    assert diff["low"] <= diff["value"] <= diff["high"] and diff["high"] >= -0.01
    out = challengers["procs"]["reseeded"].stdout
    assert "vs serving      AUC " in out and "blessed         yes" in out


def test_a_clearly_worse_challenger_is_rejected_and_the_summary_says_why(challengers):
    judged = _judgement(challengers["stores"]["undertrained"], challengers["run_ids"]["undertrained"])
    assert not judged["blessed"]
    failed = [c for c in judged["checks"] if not c["passed"]]
    assert any(c["name"] == "auc vs serving model" for c in failed), judged["checks"]
    out = challengers["procs"]["undertrained"].stdout
    assert "blessed         NO" in out
    assert "AUC worse than the serving model by " in out and "at 95%), beyond the allowed drop of 0.01" in out
    assert "pushed          nothing: the serving model is unchanged" in out


def test_the_summary_and_the_trace_show_the_evaluation_size_and_intervals(runs, driftline):
    out = runs["procs"][0].stdout
    judged = _judgement(runs["store"], runs["run_ids"][0])
    assert f"evaluation      {judged['examples']:,} examples" in out
    auc = judged["metrics"]["auc"]
    assert f"AUC {auc['value']:.3f} ({auc['low']:.3f}–{auc['high']:.3f})" in out
    assert "(95% intervals)" in out
    pushed = sorted(glob.glob(str(runs["work"] / "out" / "serving" / "taxi_big_tipper" / "*")))[0]
    trace = driftline("lineage", "trace", pushed, "--config", runs["work"] / "driftline.toml",
                      cwd=runs["work"])
    assert trace.returncode == 0, trace.stderr
    assert f"evaluation      {judged['examples']} examples" in trace.stdout
    assert f"auc {auc['value']:.4f} ({auc['low']:.4f}–{auc['high']:.4f})" in trace.stdout
