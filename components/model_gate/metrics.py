"""Binary-classification metrics and their uncertainty, from labels and scores alone.

Everything here is plain NumPy so that it can be tested against independent
implementations and run wherever predictions are (the ModelGate executor, `driftline
analyze`, monitoring).

Uncertainty comes from a bootstrap over the evaluation examples: B resamples of the
rows, drawn with replacement; a metric's interval is the central `confidence` share of
its B values (percentile bootstrap). Comparing two models, each resample scores *both*
on the same rows, so the interval of their difference is paired: the noise that comes
from which examples happened to be in the evaluation set cancels out of it.
"""
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

# The decision threshold of a model that carries none (components/model/operating_point.py).
THRESHOLD = 0.5
METRICS = ["auc", "f1_score", "precision", "recall", "binary_accuracy", "log_loss", "brier"]
# Proper scores of the probabilities themselves: lower is better.
LOWER_IS_BETTER = {"log_loss", "brier"}
# Probabilities are clipped this far from 0 and 1 for the log loss: one confident miss
# must cost a lot, not infinity.
EPSILON = 1e-7


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, ties counting one half (Mann-Whitney U with average ranks). NaN when one
    class is absent."""
    labels = np.asarray(labels, dtype=bool)
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    # Runs of equal values share the mean of the ranks they span (1-based).
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_values)) + 1])
    ends = np.concatenate([starts[1:], [values.size]])
    mean_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def at_threshold(labels: np.ndarray, scores: np.ndarray, threshold: float = THRESHOLD) -> Dict[str, float]:
    """Precision, recall, F1 and accuracy of `score >= threshold` as the decision.
    F1 and precision are 0 (not undefined) when nothing is predicted positive."""
    labels = np.asarray(labels, dtype=bool)
    predicted = np.asarray(scores) >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    n = labels.size
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1_score": f1,
            "binary_accuracy": (n - fp - fn) / n if n else float("nan")}


def log_loss(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels under the predicted probabilities."""
    labels = np.asarray(labels, dtype=bool)
    if labels.size == 0:
        return float("nan")
    p = np.clip(np.asarray(scores, dtype=np.float64), EPSILON, 1.0 - EPSILON)
    return float(-np.mean(np.where(labels, np.log(p), np.log1p(-p))))


def brier(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean squared difference between the probability and the 0/1 label."""
    labels = np.asarray(labels, dtype=np.float64)
    if labels.size == 0:
        return float("nan")
    return float(np.mean((np.asarray(scores, dtype=np.float64) - labels) ** 2))


def reliability(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list:
    """The reliability table: for each non-empty one of `bins` equal-width bins of the
    predicted probability, its edges, rows, mean prediction and observed rate."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            table.append({"low": float(edges[b]), "high": float(edges[b + 1]), "examples": int(inside.sum()),
                          "mean_predicted": float(scores[inside].mean()),
                          "observed_rate": float(labels[inside].mean())})
    return table


def calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: over the reliability table's bins, the gap between the
    mean prediction and the observed rate, weighted by the bin's share of the rows. 0
    for a model whose probabilities can be read as rates."""
    return error_of(reliability(labels, scores, bins))


def error_of(table: list) -> float:
    """The expected calibration error of a reliability table (NaN for an empty one)."""
    rows = sum(b["examples"] for b in table)
    if not rows:
        return float("nan")
    return float(sum(b["examples"] * abs(b["mean_predicted"] - b["observed_rate"]) for b in table) / rows)


def all_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = THRESHOLD) -> Dict[str, float]:
    found = at_threshold(labels, scores, threshold)
    found["auc"] = auc(labels, scores)
    found["log_loss"] = log_loss(labels, scores)
    found["brier"] = brier(labels, scores)
    return found


@dataclass
class Interval:
    value: float   # on the whole evaluation set
    low: float
    high: float

    def to_json(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high}

    def text(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def percentiles(values: np.ndarray, confidence: float):
    """The central `confidence` interval of resampled values (NaNs, from resamples where a
    metric is undefined, left out)."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


class _WeightedScores:
    """One model's scores (at least one row) prepared for the bootstrap: a resample is a count per row (how
    often the row was drawn), and every metric is a sum weighted by those counts. The
    scores are sorted once, so AUC costs a few passes over the rows per resample, not a
    sort, and gives what auc() gives on the resampled rows (duplicates are ties)."""

    def __init__(self, labels: np.ndarray, scores: np.ndarray, threshold: float):
        self.order = np.argsort(scores, kind="mergesort")
        ordered = scores[self.order]
        # Each row's group of equal scores, numbered in ascending order of the score.
        self.group = np.concatenate([[0], np.cumsum(np.diff(ordered) != 0)])
        self.groups = int(self.group[-1]) + 1
        self.positive_sorted = labels[self.order].astype(np.float64)
        predicted = scores >= threshold
        self.tp, self.fp, self.fn = ((predicted & labels).astype(np.float64), (predicted & ~labels).astype(np.float64),
                                     (~predicted & labels).astype(np.float64))
        p = np.clip(scores, EPSILON, 1.0 - EPSILON)
        self.log_loss = -np.where(labels, np.log(p), np.log1p(-p))
        self.brier = (scores - labels) ** 2

    def metrics(self, weights: np.ndarray, positives: float, n: float) -> Dict[str, float]:
        tp, fp, fn = weights @ self.tp, weights @ self.fp, weights @ self.fn
        found = {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
                 "f1_score": 2 * tp / (2 * tp + fp + fn) if tp else 0.0, "binary_accuracy": (n - fp - fn) / n,
                 "log_loss": weights @ self.log_loss / n, "brier": weights @ self.brier / n}
        negatives = n - positives
        if positives == 0 or negatives == 0:
            found["auc"] = float("nan")
            return found
        ordered = weights[self.order]
        above = np.bincount(self.group, weights=ordered * self.positive_sorted, minlength=self.groups)
        below = np.bincount(self.group, weights=ordered, minlength=self.groups) - above
        # A positive beats every negative in a lower group and half of those in its own.
        beaten = np.cumsum(below) - 0.5 * below
        found["auc"] = float(above @ beaten / (positives * negatives))
        return found


def _resampled_together(labels, models, indices) -> list:
    """Each metric on each resample, for several models (`models`: (scores, threshold)
    pairs) on the same resampled rows: [{metric: one value per resample}, ...]."""
    labels = np.asarray(labels, dtype=bool)
    if labels.size == 0:  # every resample is empty too: what all_metrics says of no rows
        empty = all_metrics(labels, np.zeros(0))
        return [{m: np.full(len(indices), empty[m]) for m in METRICS} for _ in models]
    out = [{m: np.empty(len(indices)) for m in METRICS} for _ in models]
    prepared = [_WeightedScores(labels, np.asarray(scores, dtype=np.float64), threshold)
                for scores, threshold in models]
    positive = labels.astype(np.float64)
    for b, rows in enumerate(indices):
        weights = np.bincount(rows, minlength=labels.size).astype(np.float64)
        positives, n = float(weights @ positive), float(len(rows))
        for model, found in zip(prepared, out):
            for m, value in model.metrics(weights, positives, n).items():
                found[m][b] = value
    return out


def _resampled(labels, scores, indices, threshold: float = THRESHOLD) -> Dict[str, np.ndarray]:
    return _resampled_together(labels, [(scores, threshold)], indices)[0]


def resample_indices(n: int, samples: int, seed: int) -> np.ndarray:
    """The rows of each bootstrap resample: a (samples, n) array, reproducible by seed."""
    return np.random.default_rng(seed).integers(0, n, size=(samples, n))


class Resamples:
    """The rows of each bootstrap resample, as `resample_indices` gives them (the same
    rows, row for row), drawn one resample at a time each time they are iterated. The
    whole array is samples × n integers: at a million judged rows and a thousand
    resamples, gigabytes held for the gate's whole run."""

    def __init__(self, n: int, samples: int, seed: int):
        self.n, self.samples, self.seed = n, samples, seed

    def __len__(self) -> int:
        return self.samples

    def __iter__(self):
        generator = np.random.default_rng(self.seed)
        for _ in range(self.samples):
            yield generator.integers(0, self.n, size=self.n)


def intervals(labels, scores, indices, confidence: float, threshold: float = THRESHOLD) -> Dict[str, Interval]:
    """Each metric on the whole set, with its bootstrap interval; F1, precision, recall
    and accuracy of `score >= threshold`."""
    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=np.float64)
    whole = all_metrics(labels, scores, threshold)
    resampled = _resampled(labels, scores, indices, threshold)
    return {m: Interval(whole[m], *percentiles(resampled[m], confidence)) for m in METRICS}


def paired_differences(labels, candidate, baseline, indices, confidence: float,
                       thresholds=(THRESHOLD, THRESHOLD)) -> Dict[str, Interval]:
    """candidate − baseline for each metric, scored on the same resampled rows, each
    deciding at its own threshold (`thresholds`: the candidate's, the baseline's)."""
    labels = np.asarray(labels, dtype=bool)
    candidate, baseline = np.asarray(candidate, np.float64), np.asarray(baseline, np.float64)
    whole_c, whole_b = all_metrics(labels, candidate, thresholds[0]), all_metrics(labels, baseline, thresholds[1])
    res_c, res_b = _resampled_together(labels, [(candidate, thresholds[0]), (baseline, thresholds[1])], indices)
    return {m: Interval(whole_c[m] - whole_b[m], *percentiles(res_c[m] - res_b[m], confidence))
            for m in METRICS}


def wilson(successes: int, n: int, confidence: float = 0.95) -> Optional[tuple]:
    """Wilson score interval of a proportion: sound for small counts, where a slice of a
    dozen examples would otherwise look certain."""
    if n == 0:
        return None
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)
