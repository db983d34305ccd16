"""The model a user gets from `make run-local`: the default config on the embedded data
(run in the background from the start of the session: tests/background_jobs.py). Scored
here in-process, independently of the ModelGate, on the card rides of the evaluation
split, it must beat what the inputs alone make easy: AUC at least 0.68 (a
gradient-boosted reference on the same raw inputs reaches about 0.71) and a log loss
below always answering the training base rate."""
import numpy as np
import pytest
import tensorflow as tf

from driftline.mlmd.store import custom_property, output_artifacts
from e2e_helpers import PIPELINE
from pipeline import metadata, nodes

TARGET_AUC = 0.68


@pytest.fixture(scope="module")
def default_run():
    import background_jobs
    import ml_metadata as mlmd

    code, stdout, stderr, out = background_jobs.wait("default", timeout=900)
    assert code == 0, stdout + stderr
    store = mlmd.MetadataStore(metadata.sqlite_config(out / "metadata.sqlite", readonly=True))
    run_id = store.get_contexts_by_type(metadata.RUN_CONTEXT)[-1].name
    return {"store": store, "run_id": run_id, "stdout": stdout}


def _split(store, run_id, split):
    """(labels, card?, serialized) of one split of every span the run trained on."""
    from components.examples_io import raw_value
    from e2e_helpers import judged_records

    serialized = judged_records(store, run_id, split)
    parsed = [tf.train.Example.FromString(s) for s in serialized]
    # The label rule and the observable population, read from the raw values. In float32,
    # as the transform computes it: many card tips are exactly 20% of the fare, where
    # float64 and float32 disagree on "more than".
    tips = np.array([float(raw_value(e, "tips") or 0) for e in parsed], dtype=np.float32)
    fare = np.array([float(raw_value(e, "fare") or 0) for e in parsed], dtype=np.float32)
    card = np.array([raw_value(e, "payment_type") == "Credit Card" for e in parsed])
    return (tips > np.float32(0.2) * fare).astype(int), card, serialized


def test_the_default_model_beats_the_constant_and_reaches_the_target_auc(default_run):
    from sklearn.metrics import log_loss, roc_auc_score

    store, run_id = default_run["store"], default_run["run_id"]
    executions = metadata.run_executions(store, PIPELINE, run_id)
    pushed = output_artifacts(store, executions[nodes.PUSHER].id)[nodes.PUSHED_MODEL][0]
    assert custom_property(pushed, "pushed") == 1, default_run["stdout"]
    model = tf.saved_model.load(custom_property(pushed, "pushed_destination"))

    train_labels, train_card, _ = _split(store, run_id, "train")
    labels, card, serialized = _split(store, run_id, "eval")
    scored = [s for s, c in zip(serialized, card) if c]
    probabilities = np.asarray(model.signatures["serving_default"](examples=tf.constant(scored))["probabilities"])
    probabilities = probabilities.reshape(-1)
    labels = labels[card]
    assert len(labels) > 900

    auc = roc_auc_score(labels, probabilities)
    prior = train_labels[train_card].mean()
    model_loss = log_loss(labels, np.clip(probabilities, 1e-7, 1 - 1e-7))
    prior_loss = log_loss(labels, np.full(len(labels), prior))
    assert auc >= TARGET_AUC, f"AUC {auc:.3f} on {len(labels)} card rides"
    assert model_loss < prior_loss, f"log loss {model_loss:.3f} against the base rate's {prior_loss:.3f}"
    # The summary's AUC is the same model on the same rows.
    assert f"AUC {auc:.3f} (" in default_run["stdout"], default_run["stdout"]


def test_a_challenger_trained_on_shuffled_labels_is_refused_naming_the_constant(driftline):
    """The same rows, each train card ride carrying another's label: whatever it learns is
    noise, and the default gate must say it is no better than a constant."""
    import background_jobs

    code, stdout, stderr, out = background_jobs.wait("shuffled", timeout=900)
    assert code == 0, stdout + stderr
    assert "card rides of the train split carry another ride's label" in stdout
    assert "  blessed         NO" in stdout, stdout
    assert 'no better than always answering "yes"' in stdout, stdout
    failed = [line for line in stdout.splitlines() if line.startswith("    ✗ ")]
    assert any("constant" in line for line in failed), failed
    assert "  pushed          nothing" in stdout
    assert not (out / "serving").exists() or not any((out / "serving").rglob("saved_model.pb"))
    # Lineage and the error-analysis page say it in the same one line.
    traced = driftline("lineage", "trace", "latest", "--output-dir", out)
    assert traced.returncode == 0, traced.stderr
    assert 'baselines       no better than always answering "yes": F1 ' in traced.stdout, traced.stdout
    page = next((out / "reports").glob("*/index.html")).read_text()
    assert "no better than always answering &quot;yes&quot;: F1 " in page


def test_the_evaluation_loads_in_tfma_with_slices_of_the_judged_card_rides_only(default_run):
    """TFMA's own reader on the default run's ModelEvaluation: the overall slice is the
    rows the gate judged, every slicing's example counts add up to them, and no slice
    holds a cash ride (whose tip, and so label, is never recorded)."""
    import tensorflow_model_analysis as tfma

    from components.model_gate import verdict

    store, run_id = default_run["store"], default_run["run_id"]
    gate = metadata.run_executions(store, PIPELINE, run_id)[nodes.MODEL_GATE]
    outputs = output_artifacts(store, gate.id)
    judged = verdict.read(outputs[nodes.BLESSING][0])
    result = tfma.load_eval_result(outputs[nodes.EVALUATION][0].uri)
    counts = {}
    for slice_key, found in result.slicing_metrics:
        value = found[""][""]
        column = slice_key[0][0] if slice_key else ""
        counts.setdefault(column, []).append(value["example_count"]["doubleValue"])
        if column == "payment_type":
            assert slice_key[0][1] != "Cash" and slice_key[0][1] != b"Cash", slice_key
    assert counts[""] == [judged["examples"]] and judged["examples"] > 900
    assert {"payment_type", "trip_start_hour"} <= set(counts)
    for column, values in counts.items():
        assert sum(values) == judged["examples"], (column, values)
    # The overall slice carries the gate's intervals, as TFMA's bounded values.
    overall = dict(result.slicing_metrics)[()][""][""]
    for metric in ("auc", "f1_score"):
        bounded, found = overall[metric]["boundedValue"], judged["metrics"][metric]
        assert (bounded["value"], bounded["lowerBound"], bounded["upperBound"]) == pytest.approx(
            (found["value"], found["low"], found["high"])), metric
    # TFMA's view of the same file: the slicing metrics render without error.
    assert result.get_metrics_for_slice() is not None
