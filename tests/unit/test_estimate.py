"""Performance estimated from a calibrated classifier's probabilities, before outcomes:
the interval covers the realized metric at about its nominal rate over many windows,
traffic richer in positives moves the estimate the right way, and an uncalibrated model
is refused in one sentence."""
import numpy as np
import pytest

from components.model_gate import metrics
from driftline.monitoring import estimate


def _window(rng, n, a=2.0, b=1.0):
    """A calibrated model's window: probabilities, and labels drawn at those rates."""
    p = rng.beta(a, b, n)
    return p, rng.random(n) < p


def test_the_expected_confusion_matrix_is_that_of_the_rates():
    p = np.array([0.9, 0.8, 0.3, 0.1])
    found = estimate.expected(p, 0.5)
    # tp 1.7, fp 0.3, fn 0.4
    assert found["precision"] == pytest.approx(1.7 / 2.0)
    assert found["recall"] == pytest.approx(1.7 / 2.1)
    assert found["f1_score"] == pytest.approx(3.4 / (3.4 + 0.3 + 0.4))
    # Pairs (i above j) weighted p_i (1 - p_j), over all such weights.
    pairs = [(a, b) for a in p for b in p if a != b]
    above = sum(a * (1 - b) for a, b in pairs if a > b)
    assert found["auc"] == pytest.approx(above / sum(a * (1 - b) for a, b in pairs))


def test_the_interval_covers_the_realized_f1_and_auc_at_about_its_nominal_rate():
    rng = np.random.default_rng(0)
    covered = {"f1_score": 0, "auc": 0}
    windows = 200
    for i in range(windows):
        p, labels = _window(rng, 400)
        found = estimate.estimate(p, 0.6, samples=300, seed=i, confidence=0.95)
        realized = {"f1_score": metrics.at_threshold(labels, p >= 0.6)["f1_score"],
                    "auc": metrics.auc(labels, p)}
        for name in covered:
            covered[name] += found[name]["low"] <= realized[name] <= found[name]["high"]
    for name, hits in covered.items():
        assert 0.90 <= hits / windows <= 0.99, (name, hits)


def test_traffic_richer_in_likely_positives_moves_the_estimate_before_any_outcome():
    rng = np.random.default_rng(1)
    usual, _ = _window(rng, 800)
    shifted = np.concatenate([usual[usual < 0.5], usual[usual >= 0.5], usual[usual >= 0.8]])
    before, after = (estimate.estimate(x, 0.6, 300, 0, 0.95) for x in (usual, shifted))
    assert after["precision"]["value"] > before["precision"]["value"]
    assert after["f1_score"]["value"] > before["f1_score"]["value"]


def test_an_uncalibrated_model_is_refused_naming_its_error():
    said = estimate.refusal(0.12, 0.1, "7")
    assert said == ("version 7: its expected calibration error 0.120 (on its evaluation rows) is over "
                    "max_calibration_error = 0.1: its probabilities are not rates, so no performance is "
                    "estimated from them")
    assert estimate.refusal(0.03, 0.1, "7") is None
    assert "no calibration error is recorded" in estimate.refusal(None, 0.1, "7")


def test_an_overconfident_model_recalibrated_on_its_evaluation_rows_is_estimated_without_bias():
    """Scores further from 0.5 than the true rates: read as rates they bias the estimate;
    mapped to the rates its evaluation rows show (isotonic), they do not."""
    rng = np.random.default_rng(2)

    def rows(n):
        truth = rng.beta(2.0, 1.5, n)
        return np.clip(0.5 + 1.6 * (truth - 0.5), 0.001, 0.999), rng.random(n) < truth

    scores, labels = rows(4000)
    calibrated = estimate.calibrator(labels, scores)
    raw_hits = fixed_hits = 0
    windows = 150
    for i in range(windows):
        s, y = rows(400)
        realized = metrics.at_threshold(y, s, 0.6)["f1_score"]
        raw = estimate.estimate(s, 0.6, 300, i, 0.95)["f1_score"]
        fixed = estimate.estimate(s, 0.6, 300, i, 0.95, rates=calibrated(s))["f1_score"]
        raw_hits += raw["low"] <= realized <= raw["high"]
        fixed_hits += fixed["low"] <= realized <= fixed["high"]
    assert 0.90 <= fixed_hits / windows <= 0.99, fixed_hits
    assert raw_hits < fixed_hits


def test_windows_like_the_evaluation_rows_stay_inside_its_range_and_a_worse_mix_leaves_it():
    rng = np.random.default_rng(3)
    p = rng.beta(2.0, 1.0, 3000)
    labels = rng.random(p.size) < p
    found = estimate.reference_range(labels, p, 0.6, 400, seed=0)
    assert found["windows"] == estimate.REFERENCE_WINDOWS and found["low"] < found["mean"] < found["high"]
    inside = sum(not estimate.outside(estimate.estimate(w, 0.6, 200, i, 0.95)["f1_score"]["value"], found)
                 for i, w in enumerate(rng.choice(p, (100, 400))))
    assert inside >= 97
    # Traffic where the model is unsure (scores near its threshold) is estimated worse,
    # before any outcome: out of the range.
    unsure = rng.uniform(0.45, 0.7, 400)
    assert estimate.outside(estimate.estimate(unsure, 0.6, 200, 0, 0.95)["f1_score"]["value"], found)
    assert estimate.reference_range(labels[:300], p[:300], 0.6, 400, seed=0) is None
