"""Estimates checked against the truth: when a window's outcomes arrive, the F1 they
realize is set beside the F1 estimated for that window (only its own version's rows from
its own time span), each window is checked once, and the summary counts how often the
realized F1 fell inside the estimate's interval."""
import numpy as np
import pytest

from driftline.monitoring import realized
from driftline.views import estimates


def _pass(execution, first, last, value, low, high, version="7"):
    return {"execution": execution, "time": last, "result": {
        "first_timestamp": first, "last_timestamp": last, "estimated_performance": {
            "version": version, "threshold": 0.5, "metrics": {"f1_score": {"value": value, "low": low, "high": high}}}}}


def _joined():
    # Version 7: rows at t = 0..9 (window 1) and 10..19 (window 2); version 8 at 0..9.
    labels = np.asarray([1, 1, 0, 1, 0, 1, 1, 0, 1, 1] + [0] * 10)
    scores = np.asarray([0.9, 0.8, 0.7, 0.3, 0.2, 0.9, 0.6, 0.1, 0.7, 0.4] + [0.9] * 10)
    return {"kind": "binary", "versions": {"7": (labels, scores), "8": (labels[:10], scores[:10])},
            "stamps": {"7": np.arange(20.0), "8": np.arange(10.0)}}


def test_each_window_is_checked_on_its_own_rows_and_only_once():
    history = {"passes": [_pass(1, 0, 9, 0.85, 0.80, 0.90), _pass(2, 10, 19, 0.10, 0.0, 0.3),
                          _pass(3, 20, 29, 0.5, 0.4, 0.6)], "outcomes": []}
    checks, partials = realized.against_estimates(history, _joined(), {"7": 0.5}, min_rows=5)
    assert [c["pass"] for c in checks] == [1, 2] and partials == {}  # window 3 has no outcomes yet
    first, second = checks
    # Window 1: decided yes at 0.9 .8 .7 .9 .6 .7 → tp 5, fp 1; no at 0.3 and 0.4 → fn 2: F1 10/13.
    assert first["realized"] == pytest.approx(10 / 13) and first["rows"] == 10
    assert first["error"] == pytest.approx(0.85 - 10 / 13) and not first["covered"]
    assert second["realized"] == 0.0 and second["covered"]  # every row said yes, none positive
    history["outcomes"].append({"result": {"estimate_checks": checks}})
    assert realized.against_estimates(history, _joined(), {"7": 0.5}, min_rows=5) == ([], {})


def _part(joined, keep):
    return {**joined, "versions": {v: (labels[keep[:labels.size]], scores[keep[:labels.size]])
                                   for v, (labels, scores) in joined["versions"].items()},
            "stamps": {v: stamps[keep[:stamps.size]] for v, stamps in joined["stamps"].items()}}


def test_a_window_whose_outcomes_come_in_two_files_is_checked_once_on_both():
    """Outcome files need not line up with windows: the first file's part of window 1 is
    kept as counts, and the second completes it; F1 is that of all its rows."""
    history = {"passes": [_pass(1, 0, 9, 0.85, 0.80, 0.90)], "outcomes": []}
    first_half = np.arange(20) < 4
    checks, partials = realized.against_estimates(history, _part(_joined(), first_half), {"7": 0.5}, min_rows=5)
    assert checks == [] and partials == {1: {"tp": 2, "fp": 1, "fn": 1, "rows": 4}}
    history["outcomes"].append({"result": {"estimate_checks": [], "estimate_partials": {"1": partials[1]}}})
    checks, partials = realized.against_estimates(history, _part(_joined(), ~first_half), {"7": 0.5}, min_rows=5)
    assert partials == {} and len(checks) == 1
    assert checks[0]["rows"] == 10 and checks[0]["realized"] == pytest.approx(10 / 13)


def test_a_window_with_too_few_outcomes_waits_and_the_summary_counts_the_rest():
    history = {"passes": [_pass(1, 0, 9, 0.8, 0.7, 0.9)], "outcomes": []}
    assert realized.against_estimates(history, _joined(), {"7": 0.5}, min_rows=11)[0] == []
    checks, _ = realized.against_estimates(history, _joined(), {"7": 0.5}, min_rows=5)
    found = estimates.summary(checks)
    assert found == {"windows": 1, "mean_absolute_error": pytest.approx(0.8 - 10 / 13),
                     "largest_error": pytest.approx(0.8 - 10 / 13), "covered": 1}
    assert estimates.summary_text(found) == (
        "estimated against realized F1 over 1 window: mean absolute error 0.031, largest +0.031; the realized F1 "
        "was inside the estimate's interval in 1 of 1")
    assert estimates.summary_text(estimates.summary([])).startswith("no window's estimate")
