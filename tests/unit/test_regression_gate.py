"""A regression task's judge (components/model_gate/regression.py), against independent
arithmetic: errors, their bootstrap intervals, paired differences and the decision."""
import numpy as np
import pytest

from components.model_gate import regression
from components.model_gate.metrics import Resamples, resample_indices

SETTINGS = {"confidence": 0.95, "max_rmse_increase": 0.02, "min_eval_examples": 200, "beat_constant": True}


def test_errors_are_rmse_and_mae():
    found = regression.errors([1.0, 2.0, 4.0], [2.0, 2.0, 1.0])
    assert found["rmse"] == pytest.approx(np.sqrt((1 + 0 + 9) / 3)) and found["mae"] == pytest.approx(4 / 3)


def test_intervals_hold_the_value_and_the_paired_difference_cancels_shared_noise():
    rng = np.random.default_rng(0)
    labels = rng.normal(size=2000)
    good, worse = labels + rng.normal(0, 0.5, 2000), labels + rng.normal(0, 0.8, 2000)
    indices = resample_indices(labels.size, 300, 1)
    found = regression.intervals(labels, good, indices, 0.95)
    assert found["rmse"].low < found["rmse"].value < found["rmse"].high
    assert found["rmse"].value == pytest.approx(0.5, abs=0.03)
    diff = regression.paired(labels, good, worse, indices, 0.95)["rmse"]
    assert diff.high < 0 and diff.value == pytest.approx(found["rmse"].value - regression.errors(labels, worse)["rmse"])


def test_the_resamples_drawn_as_iterated_give_the_intervals_of_the_whole_array():
    # The gate draws each resample as it goes and sums weighted rows: the same intervals as
    # indexing a samples x rows array, without holding it.
    rng = np.random.default_rng(4)
    labels = rng.normal(size=700)
    predicted, other = labels + rng.normal(0, 0.5, 700), labels + rng.normal(0, 0.6, 700)
    whole, lazy = resample_indices(700, 200, 9), Resamples(700, 200, 9)
    for found, expected in ((regression.intervals(labels, predicted, lazy, 0.9),
                             regression.intervals(labels, predicted, whole, 0.9)),
                            (regression.paired(labels, predicted, other, lazy, 0.9),
                             regression.paired(labels, predicted, other, whole, 0.9))):
        for name in regression.METRICS:
            assert found[name].low == pytest.approx(expected[name].low, rel=1e-12)
            assert found[name].high == pytest.approx(expected[name].high, rel=1e-12)
    # Against indexing the rows directly (independent arithmetic).
    picked = (predicted - labels)[whole]
    direct = np.percentile(np.sqrt(np.mean(picked ** 2, axis=1)), [5, 95])
    found = regression.intervals(labels, predicted, lazy, 0.9)["rmse"]
    assert (found.low, found.high) == pytest.approx(tuple(direct), rel=1e-12)


def _judged(candidate, constant, serving=None, examples=500, **settings):
    rng = np.random.default_rng(2)
    labels = rng.normal(10, 3, examples)
    indices = resample_indices(examples, 300, 3)
    found = regression.intervals(labels, labels + rng.normal(0, candidate, examples), indices, 0.95)
    predicted = labels + rng.normal(0, candidate, examples)
    mean = np.full(examples, 10.0 + constant)
    const = {"rmse": regression.errors(labels, mean)["rmse"], "diff": regression.paired(labels, predicted, mean, indices, 0.95)}
    served = None
    if serving is not None:
        other = labels + rng.normal(0, serving, examples)
        served = {"rmse": regression.errors(labels, other)["rmse"], "where": "",
                  "diff": regression.paired(labels, predicted, other, indices, 0.95)}
    return regression.decide({**SETTINGS, **settings}, found, examples, const, served)


def test_a_model_better_than_the_mean_is_blessed_and_one_that_is_not_is_refused():
    assert _judged(candidate=1.0, constant=0.0).blessed
    refused = _judged(candidate=5.0, constant=0.0)
    assert not refused.blessed and "is not shown below the constant's" in refused.checks[0].text
    # In a quick mode the constant is reported, not required.
    assert _judged(candidate=5.0, constant=0.0, beat_constant=False).blessed


def test_against_the_serving_model_only_a_clear_increase_refuses():
    assert _judged(candidate=1.0, constant=0.0, serving=1.0).blessed
    worse = _judged(candidate=2.0, constant=0.0, serving=1.0)
    assert not worse.blessed and "worse than the serving model's" in worse.failures[0].text


def test_a_small_evaluation_set_is_warned_about():
    assert "fewer than min_eval_examples = 200" in _judged(candidate=1.0, constant=0.0, examples=100).warnings[0]
