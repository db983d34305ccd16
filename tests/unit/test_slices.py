"""Error analysis by slice (components/analysis/slices.py) against independent
implementations (scikit-learn), and the slice gate's decision."""
import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score

from components.analysis import slices
from components.model_gate import decision


def _data(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    payment = rng.choice(["Credit Card", "Cash", "Mobile"], size=n, p=[0.6, 0.3, 0.1])
    hour = rng.integers(0, 24, size=n).astype(str)
    labels = rng.random(n) < np.where(payment == "Credit Card", 0.6, 0.2)
    scores = np.clip(labels * 0.35 + rng.random(n) * 0.65, 0, 1)
    return labels, scores, {"payment_type": payment, "trip_start_hour": hour}


def test_slices_partition_the_rows_and_f1_matches_scikit_learn():
    labels, scores, columns = _data()
    slicings = [("payment_type",), ("trip_start_hour",), ("payment_type", "trip_start_hour")]
    rows = slices.table(labels, scores, columns, slicings, samples=200)
    for slicing in slices.slicing_names(slicings):
        mine = [r for r in rows if r["slicing"] == slicing]
        assert sum(r["examples"] for r in mine) == labels.size
        assert sum(r["errors"] for r in mine) == int(((scores >= 0.5) != labels).sum())
        assert sum(r["error_share"] for r in mine) == pytest.approx(1.0)
    assert len([r for r in rows if r["slicing"] == "payment_type × trip_start_hour"]) == 72
    cash = next(r for r in rows if r["slice"] == "payment_type=Cash")
    where = columns["payment_type"] == "Cash"
    assert cash["f1_score"] == pytest.approx(f1_score(labels[where], scores[where] >= 0.5))
    assert cash["auc"] == pytest.approx(roc_auc_score(labels[where], scores[where]))
    assert cash["f1_low"] <= cash["f1_score"] <= cash["f1_high"]
    hours = [r["values"][0] for r in rows if r["slicing"] == "trip_start_hour"]
    assert hours == [str(h) for h in range(24)]  # numbers in numeric order


def test_a_small_slice_gets_a_wider_interval_than_a_large_one():
    labels, scores, columns = _data()
    rows = {r["slice"]: r for r in slices.table(labels, scores, columns, [("payment_type",)], samples=300)}
    width = {k: r["f1_high"] - r["f1_low"] for k, r in rows.items()}
    assert width["payment_type=Mobile"] > width["payment_type=Credit Card"]
    mobile = rows["payment_type=Mobile"]
    assert mobile["error_rate_low"] < mobile["error_rate"] < mobile["error_rate_high"]


def test_the_slice_gate_rejects_a_challenger_worse_on_one_slice_and_names_it():
    labels, champion, columns = _data()
    challenger = champion.copy()
    cash = columns["payment_type"] == "Cash"
    challenger[cash] = 1.0 - challenger[cash]  # what it learned about cash rides is upside down
    rules = decision.Rules(min_auc=0.5, min_f1=0.3, max_auc_drop=1.0, max_f1_drop=None,
                           confidence=0.95, min_eval_examples=1, max_slice_f1_drop=0.05,
                           min_slice_examples=50)
    drops = [(piece.name, diff) for piece, diff in slices.f1_drops(
        labels, challenger, champion, columns, [("payment_type",)], 50, 0.95, 300, 0)]
    assert {name for name, _ in drops} == {"payment_type=Cash", "payment_type=Credit Card",
                                          "payment_type=Mobile"}
    judged = decision.decide(rules, _intervals(labels, challenger), labels.size, slice_diffs=drops)
    assert not judged.blessed
    failed = [c.text for c in judged.failures]
    assert len(failed) == 1 and "on payment_type=Cash" in failed[0] and "beyond the allowed drop" in failed[0]

    # The champion against itself with a little noise: nothing beyond noise, blessed.
    rng = np.random.default_rng(3)
    twin = np.clip(champion + rng.normal(0, 0.02, champion.size), 0, 1)
    drops = [(p.name, d) for p, d in slices.f1_drops(labels, twin, champion, columns,
                                                      [("payment_type",)], 50, 0.95, 300, 0)]
    assert decision.decide(rules, _intervals(labels, twin), labels.size, slice_diffs=drops).blessed


def test_slices_below_the_minimum_are_not_judged():
    labels, scores, columns = _data(n=400)
    drops = slices.f1_drops(labels, scores, scores, columns, [("payment_type",)], 100, 0.95, 100, 0)
    assert "payment_type=Mobile" not in {p.name for p, _ in drops}


def test_curves_agree_with_scikit_learn():
    labels, scores, _ = _data()
    found = slices.curves(labels, scores)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    assert found["best_threshold"]["f1_score"] == pytest.approx(f1.max())
    confusion = found["confusion"]
    assert sum(confusion.values()) - confusion["threshold"] == labels.size
    assert sum(b["examples"] for b in found["calibration"]) == labels.size


def test_where_to_add_data_names_a_small_slice_with_many_errors():
    labels, scores, columns = _data()
    rare = columns["payment_type"].copy()
    wrong_rows = np.flatnonzero((scores >= 0.5) != labels)[:40]
    rare[wrong_rows] = "Prcard"
    columns = {"payment_type": rare}
    rows = slices.table(labels, scores, columns, [("payment_type",)], samples=100)
    advice = slices.where_to_add_data(rows, min_examples=50)
    assert advice and advice[0]["slice"] == "payment_type=Prcard"
    assert "fewer than 50 examples" in advice[0]["text"]


def _intervals(labels, scores):
    from components.model_gate import metrics

    return metrics.intervals(labels, scores, metrics.resample_indices(labels.size, 100, 0), 0.95)


def test_the_summary_names_the_weakest_slice_big_enough_to_judge():
    from driftline.analysis import report

    labels, scores, columns = _data()
    scores = scores.copy()
    mobile = columns["payment_type"] == "Mobile"
    scores[mobile] = 1.0 - scores[mobile]
    predictions = report.Predictions("run", {"label": labels, "candidate": scores, **columns})
    result = report.analyze(predictions, [("payment_type",), ("trip_start_hour",)], min_examples=200,
                            samples=100)
    name, f1 = report.weakest(result, ["payment_type", "trip_start_hour"])
    assert name == "payment_type=Mobile"
    assert f1 == min(r["f1_score"] for r in result["slices"] if r["examples"] >= 200)
    # Too few examples everywhere: no slice is called the weakest.
    result = report.analyze(predictions, [("trip_start_hour",)], min_examples=1000, samples=100)
    assert report.weakest(result, ["trip_start_hour"]) is None


def _row_bootstrap(labels, mine, theirs, samples, seed):
    """F1 (mine) and F1 change (mine − theirs) on resampled rows, drawn row by row."""
    indices = np.random.default_rng(seed).integers(0, labels.size, size=(samples, labels.size))

    def f1(truth, guess):
        tp, wrong = np.sum(truth & guess, axis=1), np.sum(truth != guess, axis=1)
        return np.where(tp > 0, 2 * tp / np.maximum(1, 2 * tp + wrong), 0.0)

    truth = labels[indices]
    return f1(truth, mine[indices]), f1(truth, mine[indices]) - f1(truth, theirs[indices])


def test_resampled_counts_give_the_f1_of_the_rows_they_count(monkeypatch):
    # Every "resample" the whole set once: each interval collapses to the whole set's value,
    # which checks which cells are true positives and errors, for one model and for two.
    rng = np.random.default_rng(5)
    labels, mine, theirs = rng.random(300) < 0.4, rng.random(300), rng.random(300)
    monkeypatch.setattr(slices, "_resampled_cells", lambda codes, cells, samples, seed, salt: np.tile(
        np.bincount(codes, minlength=cells), (samples, 1)))
    rows = np.arange(300)
    change = slices.f1_change(labels, mine, theirs, rows, 0.95, 20, 0, thresholds=(0.5, 0.3))
    expected = f1_score(labels, mine >= 0.5) - f1_score(labels, theirs >= 0.3)
    assert change.value == pytest.approx(expected) and change.low == pytest.approx(expected)
    assert change.high == pytest.approx(expected)
    own = slices._f1_resampled(labels, mine >= 0.5, 20, 0, 0)
    assert own == pytest.approx(np.full(20, f1_score(labels, mine >= 0.5)))


def test_resampled_counts_match_resampling_the_rows():
    # The multinomial draw of the cells is the row bootstrap's own distribution: the two
    # intervals agree to within the Monte Carlo noise of a few thousand resamples.
    rng = np.random.default_rng(8)
    labels = rng.random(2000) < 0.3
    mine = np.where(labels, rng.random(2000) < 0.7, rng.random(2000) < 0.2)
    theirs = np.where(labels, rng.random(2000) < 0.6, rng.random(2000) < 0.2)
    rows_f1, rows_change = _row_bootstrap(labels, mine, theirs, 3000, 1)
    counted_f1 = slices._f1_resampled(labels, mine, 3000, 1, 0)
    counted = slices.f1_change(labels, mine.astype(float), theirs.astype(float), np.arange(2000), 0.95, 3000, 1)
    assert np.mean(counted_f1) == pytest.approx(np.mean(rows_f1), abs=0.003)
    assert np.std(counted_f1) == pytest.approx(np.std(rows_f1), rel=0.08)
    low, high = np.percentile(rows_change, [2.5, 97.5])
    assert counted.low == pytest.approx(low, abs=0.006) and counted.high == pytest.approx(high, abs=0.006)
