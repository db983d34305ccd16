"""The ModelGate's metrics and intervals against independent computations."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.model_gate import metrics


def _auc_by_pairs(labels, scores):
    """The definition itself: over every (positive, negative) pair, 1 if the positive
    scores higher, 1/2 on a tie."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=40))
def test_auc_is_the_pairwise_definition_ties_included(rows):
    labels = [y for y, _ in rows]
    scores = [s / 6 for _, s in rows]
    if all(labels) or not any(labels):
        assert np.isnan(metrics.auc(labels, scores))
    else:
        assert metrics.auc(labels, scores) == pytest.approx(_auc_by_pairs(labels, scores))


def test_threshold_metrics_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    scores = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.5, 0.5])
    # predicted positive (>= 0.5): rows 0, 1, 3, 6, 7 -> tp 3 (0, 1, 7), fp 2 (3, 6), fn 1 (2)
    found = metrics.at_threshold(labels, scores)
    assert found["precision"] == pytest.approx(3 / 5)
    assert found["recall"] == pytest.approx(3 / 4)
    assert found["f1_score"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert found["binary_accuracy"] == pytest.approx(5 / 8)
    assert metrics.at_threshold([1, 0], [0.1, 0.2])["f1_score"] == 0.0  # nothing predicted


def test_intervals_cover_the_value_and_narrow_with_more_examples():
    rng = np.random.default_rng(0)

    def width(n):
        labels = rng.random(n) < 0.3
        scores = np.clip(labels * 0.3 + rng.random(n) * 0.7, 0, 1)
        found = metrics.intervals(labels, scores, metrics.resample_indices(n, 500, 1), 0.95)
        auc = found["auc"]
        assert auc.low <= auc.value <= auc.high
        return auc.high - auc.low

    assert width(2000) < width(200) / 2


def test_paired_differences_see_through_the_examples_noise():
    """Two models that differ only by a tiny constant on the same rows: unpaired, each
    interval is wide; paired, the difference's interval is nearly zero-width."""
    rng = np.random.default_rng(3)
    labels = rng.random(300) < 0.4
    a = np.clip(labels * 0.25 + rng.random(300) * 0.75, 0, 1)
    b = a * 0.999  # the same ranking: identical AUC on every resample
    indices = metrics.resample_indices(300, 400, 7)
    alone = metrics.intervals(labels, a, indices, 0.95)["auc"]
    diff = metrics.paired_differences(labels, a, b, indices, 0.95)["auc"]
    assert alone.high - alone.low > 0.05
    assert diff.value == 0.0 and diff.low == 0.0 and diff.high == 0.0


def test_resampling_is_reproducible_by_seed():
    assert (metrics.resample_indices(50, 10, 5) == metrics.resample_indices(50, 10, 5)).all()
    assert not (metrics.resample_indices(50, 10, 5) == metrics.resample_indices(50, 10, 6)).all()


def test_resamples_drawn_as_iterated_are_the_rows_of_the_whole_array_every_time():
    whole = metrics.resample_indices(1001, 40, 11)
    lazy = metrics.Resamples(1001, 40, 11)
    assert len(lazy) == 40
    for _ in range(2):  # iterated again: drawn again from the seed, the same rows
        assert (np.stack(list(lazy)) == whole).all()
    rng = np.random.default_rng(4)
    labels = rng.random(1001) < 0.3
    scores = np.clip(labels * 0.3 + rng.random(1001) * 0.7, 0, 1)
    other = np.clip(scores + rng.normal(0, 0.05, 1001), 0, 1)
    assert metrics.intervals(labels, scores, lazy, 0.95) == metrics.intervals(labels, scores, whole, 0.95)
    assert (metrics.paired_differences(labels, scores, other, lazy, 0.95, (0.4, 0.5))
            == metrics.paired_differences(labels, scores, other, whole, 0.95, (0.4, 0.5)))


def test_weighted_resamples_give_the_metrics_of_the_resampled_rows():
    # The bootstrap scores each resample as counts per row; scoring the drawn rows
    # themselves (all_metrics on them) must give the same values, ties and all.
    rng = np.random.default_rng(12)
    for n, digits, threshold in ((1, 2, 0.5), (40, 1, 0.3), (300, 2, 0.6), (500, 6, 0.5)):
        labels = rng.random(n) < 0.35
        scores = np.round(rng.random(n), digits)  # few digits: many tied scores
        indices = metrics.resample_indices(n, 25, n)
        found = metrics._resampled(labels, scores, indices, threshold)
        for b, rows in enumerate(indices):
            expected = metrics.all_metrics(labels[rows], scores[rows], threshold)
            for name in metrics.METRICS:
                assert found[name][b] == pytest.approx(expected[name], rel=1e-12, abs=1e-12, nan_ok=True), name
    # No rows: every resample is empty, and says what all_metrics says of no rows.
    empty = metrics._resampled(np.zeros(0, bool), np.zeros(0), metrics.Resamples(0, 3, 0))
    expected = metrics.all_metrics(np.zeros(0, bool), np.zeros(0))
    for name in metrics.METRICS:
        assert empty[name] == pytest.approx([expected[name]] * 3, nan_ok=True), name


def test_wilson_interval_of_a_small_slice():
    low, high = metrics.wilson(6, 12)
    assert low == pytest.approx(0.2538, abs=1e-3) and high == pytest.approx(0.7462, abs=1e-3)
    assert metrics.wilson(0, 0) is None


def test_log_loss_and_brier_agree_with_scikit_learn():
    from sklearn.metrics import brier_score_loss, log_loss as sk_log_loss

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = np.clip(rng.random(500), 0.001, 0.999)
    assert metrics.log_loss(labels, scores) == pytest.approx(sk_log_loss(labels, scores), abs=1e-12)
    assert metrics.brier(labels, scores) == pytest.approx(brier_score_loss(labels, scores), abs=1e-12)
    # A confident miss costs a lot, never infinity.
    assert np.isfinite(metrics.log_loss([1], [0.0])) and metrics.log_loss([1], [0.0]) > 15
    assert set(metrics.LOWER_IS_BETTER) <= set(metrics.METRICS)


def test_calibration_error_is_zero_for_rates_and_the_gap_otherwise():
    rng = np.random.default_rng(5)
    scores = rng.random(200_000)
    labels = rng.random(200_000) < scores           # the probabilities are the rates
    assert metrics.calibration_error(labels, scores) < 0.01
    assert metrics.calibration_error(labels, np.clip(scores + 0.2, 0, 1)) == pytest.approx(0.2, abs=0.03)
    # By hand: two bins, 0.2 predicted where half are positive, 0.9 where all are.
    assert metrics.calibration_error([0, 1, 1, 1], [0.2, 0.2, 0.9, 0.9]) == pytest.approx((2 * 0.3 + 2 * 0.1) / 4)
