"""Error analysis by slice on real runs: the report's numbers agree with the model's own
predictions, and a challenger taught the wrong labels for one company is caught on
that slice by the report and by the slice gate."""
import json

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import f1_score

from driftline.mlmd.store import output_artifacts
from pipeline import metadata, nodes
from e2e_helpers import FLIPPED_COMPANY, PIPELINE, judged_records


def _analysis(driftline, work, directory, run_id, *extra):
    proc = driftline("analyze", run_id, "--output-dir", work / directory, "--json", *extra, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _eval_rows(store, run_id):
    """The run's evaluation examples, read from the Examples artifacts it trained on."""
    executions = metadata.run_executions(store, PIPELINE, run_id)
    model = output_artifacts(store, executions[nodes.TRAINER].id)[nodes.MODEL][0]
    return judged_records(store, run_id), tf.saved_model.load(f"{model.uri}/Format-Serving"), model


def test_slice_counts_add_up_and_f1_matches_the_model_itself(runs, challengers, driftline):
    work, run_id = runs["work"], challengers["run_ids"]["base"]
    result = _analysis(driftline, work, "challenge", run_id)
    judged = result["judgement"]
    assert result["examples"] == judged["examples"] > 0
    for slicing in result["slicings"]:
        rows = [r for r in result["slices"] if r["slicing"] == slicing]
        assert sum(r["examples"] for r in rows) == result["examples"], slicing
    assert "company" in result["slicings"] and "payment_type × trip_start_hour" in result["slicings"]

    # Independently: the SavedModel scores the eval split, the label comes from the raw
    # tips and fare, F1 from scikit-learn.
    serialized, model, artifact = _eval_rows(challengers["stores"]["base"], run_id)
    probabilities = model.signatures["serving_default"](examples=tf.constant(serialized))["probabilities"]
    probabilities = np.asarray(probabilities).reshape(-1)
    parsed = [tf.train.Example.FromString(s) for s in serialized]

    def value(example, name):
        feature = example.features.feature[name]
        kind = feature.WhichOneof("kind")
        values = getattr(feature, kind).value if kind else []
        return values[0] if values else None

    card = np.asarray([value(e, "payment_type") == b"Credit Card" for e in parsed])
    # In float32, as the transform computes it, so that a tip at the boundary agrees.
    tips = np.asarray([value(e, "tips") or 0.0 for e in parsed], dtype=np.float32)
    fare = np.asarray([value(e, "fare") or 0.0 for e in parsed], dtype=np.float32)
    labels = tips > np.float32(0.2) * fare  # the embedded example's label rule
    assert card.sum() > 20
    # At the threshold the Trainer recorded on the model, which the gate judged at too.
    from components.model import operating_point

    threshold = operating_point.of_artifact(artifact)
    assert judged["operating_threshold"] == threshold != operating_point.DEFAULT
    expected = f1_score(labels[card], probabilities[card] >= threshold)
    found = next(r for r in result["slices"] if r["slice"] == "payment_type=Credit Card")
    assert found["examples"] == int(card.sum())
    assert found["f1_score"] == pytest.approx(expected, abs=1e-9)


def test_a_challenger_taught_wrong_labels_for_one_company_is_caught_on_that_slice(runs, challengers, driftline):
    proc = challengers["procs"]["flipped"]
    slice_name = f"company={FLIPPED_COMPANY}"
    # The slice gate: not blessed, and the summary names the slice and the interval.
    assert "blessed         NO" in proc.stdout, proc.stdout
    failed = [line for line in proc.stdout.splitlines() if line.startswith("    ✗ ")]
    # Only slice checks fail (the AUC comparison is off in this run's config).
    assert failed and all(line.startswith("    ✗ F1 on ") for line in failed), failed
    assert any(slice_name in line and "beyond the allowed drop" in line for line in failed), failed
    assert "pushed          nothing" in proc.stdout

    # The report, against the serving model on the same rows, ranks that slice as worse.
    result = _analysis(driftline, runs["work"], "challenge", challengers["run_ids"]["flipped"])
    worse = {r["slice"]: r for r in result["worse_slices"]}
    assert slice_name in worse and worse[slice_name]["f1_change_high"] < 0, result["worse_slices"]
    # "Worse" only beyond noise; a lower estimate whose interval includes zero is named apart.
    assert all(r["f1_change_high"] < 0 for r in result["worse_slices"])
    assert all(r["f1_change_high"] >= 0 for r in result["lower_within_noise"])
    assert not {r["slice"] for r in result["lower_within_noise"]} & set(worse)
    report = runs["work"] / "challenge" / "reports" / challengers["run_ids"]["flipped"] / "index.html"
    assert report.exists() and slice_name in report.read_text()
    assert f"error analysis  {report}" in proc.stdout

    # `lineage trace` names the report.
    trace = driftline("lineage", "trace", challengers["run_ids"]["flipped"], "--output-dir",
                      runs["work"] / "challenge", "--json", cwd=runs["work"])
    assert json.loads(trace.stdout)["summary"]["error_analysis"] == str(report)


def test_a_run_that_judged_nothing_cannot_be_analyzed(runs, driftline):
    blocked = runs["run_ids"][-1]  # span 5: the drift gate stopped it before training
    proc = driftline("analyze", blocked, "--output-dir", runs["work"] / "out", cwd=runs["work"])
    assert proc.returncode != 0
    assert f"run {blocked} judged no model" in proc.stderr and "Traceback" not in proc.stderr
