"""The model learns from, and is judged on, the rides whose tip can be known (card rides);
the label-consistency warning names cash; the served model says which answers can be
checked."""

import numpy as np
import pyarrow.parquet as pq
import tensorflow as tf

from components.examples_io import raw_value, records
from components.model_gate import verdict as model_verdict
from driftline.mlmd.store import output_artifacts
from pipeline import metadata, nodes
from e2e_helpers import PIPELINE, pushed_dir


def _run_outputs(runs, node, key):
    executions = metadata.run_executions(runs["store"], PIPELINE, runs["run_ids"][0])
    return output_artifacts(runs["store"], executions[node].id)[key]


def _eval_payment_types(runs):
    from tfx.types import artifact_utils

    artifacts = []
    for span in (2, 3):
        examples = _run_outputs(runs, f"CsvExampleGen_span{span}", "examples")[0]
        artifact = artifact_utils.deserialize_artifact(
            runs["store"].get_artifact_types_by_id([examples.type_id])[0], examples)
        artifacts.append(artifact)
    return [raw_value(tf.train.Example.FromString(r), "payment_type") for _, r in records(artifacts, "eval")]


def test_judged_on_card_rides_only_and_says_so(runs):
    payment_types = _eval_payment_types(runs)
    cards = sum(p == "Credit Card" for p in payment_types)
    judged = model_verdict.read(_run_outputs(runs, nodes.MODEL_GATE, nodes.BLESSING)[0])
    assert 0 < cards < len(payment_types)
    assert judged["examples"] == cards and judged["evaluation_rows"] == len(payment_types)
    out = runs["procs"][0].stdout
    assert (f"evaluation      {cards:,} examples ({judged['positives']:,} positive): the rows whose "
            f"label can be known, of {len(payment_types):,} rows") in out
    # The predictions the gate judged: every row, the observable ones marked.
    predictions = _run_outputs(runs, nodes.MODEL_GATE, nodes.PREDICTIONS)[0]
    table = pq.read_table(f"{predictions.uri}/{model_verdict.PREDICTIONS_FILE}").to_pydict()
    assert table["observable"] == [p == "Credit Card" for p in payment_types]
    assert set(table["payment_type"]) >= {"Cash", "Credit Card"}


def test_label_warning_names_cash_in_the_summary_and_the_report(runs):
    out = runs["procs"][0].stdout
    line = next(l for l in out.splitlines() if l.startswith("  label warning   payment_type = Cash:"))
    assert "tips is almost always 0 or missing here" in line and "outside the observable population" in line
    report = _run_outputs(runs, nodes.DRIFT_GATE, nodes.REPORT)[0]
    assert "payment_type = Cash" in open(f"{report.uri}/drift_report.md").read()


def test_the_noise_floor_is_reported_beside_the_metrics(runs):
    judged = model_verdict.read(_run_outputs(runs, nodes.MODEL_GATE, nodes.BLESSING)[0])
    floor = judged["noise_floor"]
    assert floor["rows"] > judged["examples"]  # training and evaluation rows of the window
    assert 0 <= floor["irreducible_errors"] <= floor["conflicting_rows"] <= floor["rows"]
    assert "  noise floor     " in runs["procs"][0].stdout


def test_the_served_model_marks_answers_nothing_can_check(runs, small_spans):
    import csv

    serve = tf.saved_model.load(str(pushed_dir(runs, 0))).signatures["serving_default"]
    with open(small_spans / "span-3" / "data.csv") as f:
        rows = list(csv.DictReader(f))
    cash = next(r for r in rows if r["payment_type"] == "Cash")
    card = next(r for r in rows if r["payment_type"] == "Credit Card")
    from test_pipeline import _raw_examples_from_rows

    out = serve(examples=tf.constant([e.SerializeToString() for e in _raw_examples_from_rows([cash, card])]))
    assert np.asarray(out["label_known"]).reshape(-1).tolist() == [0.0, 1.0]
    probabilities = np.asarray(out["probabilities"]).reshape(-1)
    assert probabilities.shape == (2,) and np.all((probabilities >= 0) & (probabilities <= 1))
