"""Error analysis by slice: what a model gets wrong, where, and with what certainty.

Plain NumPy over one row per evaluation example (the ModelGate's predictions), so the
gate and `driftline analyze` compute the same numbers from the same rows.

A slice is the set of rows sharing the values of one or more raw features
("carrier=AA", "carrier=AA × hour=8"). Small slices are the rule, not the exception
(a carrier with a dozen flights), so every rate comes with an interval:
- F1 and its change against another model: percentile bootstrap over the slice's own
  rows, the two models scored on the same resampled rows (paired), as for the whole set
  (components/model_gate/metrics.py);
- error rate: Wilson's interval, which stays sound at a handful of examples.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from components.model import operating_point
from components.model_gate import metrics

CROSS = " × "


@dataclass
class Slice:
    features: Tuple[str, ...]
    values: Tuple[str, ...]
    rows: np.ndarray

    @property
    def name(self) -> str:
        return CROSS.join(f"{f}={v if v != '' else '(empty)'}" for f, v in zip(self.features, self.values))

    @property
    def slicing(self) -> str:
        return CROSS.join(self.features)


def slicing_names(slicings: Sequence[Sequence[str]]) -> List[str]:
    return [CROSS.join(s) for s in slicings]


def slices_of(columns: Dict[str, Sequence], slicings: Sequence[Sequence[str]]) -> List[Slice]:
    """Every slice of every slicing, in a stable order (slicing, then value)."""
    found = []
    for features in slicings:
        features = tuple(features)
        keys = list(zip(*(np.asarray(columns[f]).astype(str) for f in features)))
        groups: Dict[tuple, list] = {}
        for row, key in enumerate(keys):
            groups.setdefault(key, []).append(row)
        for key in sorted(groups, key=_natural):
            found.append(Slice(features, key, np.asarray(groups[key], dtype=np.int64)))
    return found


def _natural(key: tuple):
    # Hours sort as numbers, not as text ("10" after "9").
    return tuple((0, float(v), "") if _is_number(v) else (1, 0.0, v) for v in key)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _f1(tp, wrong):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tp > 0, 2 * tp / (2 * tp + wrong), 0.0)


def _resampled_cells(codes: np.ndarray, cells: int, samples: int, seed: int, salt: int) -> np.ndarray:
    """How many rows of each cell (`codes`: each row's cell, 0..cells-1) every bootstrap
    resample holds, as a (samples, cells) array. F1 reads only these counts, and a
    resample of n rows drawn with replacement holds a multinomial draw of them: the same
    distribution as drawing the rows, at a cost that does not grow with the rows."""
    counts = np.bincount(codes, minlength=cells)
    n = int(counts.sum())
    if n == 0:
        return np.zeros((samples, cells), dtype=np.int64)
    return np.random.default_rng([seed, salt]).multinomial(n, counts / n, size=samples)


def _f1_resampled(labels: np.ndarray, predicted: np.ndarray, samples: int, seed: int, salt: int) -> np.ndarray:
    """F1 on each resample, 0 where nothing is predicted positive."""
    # Cells: truth * 2 + guess; true positives are cell 3, errors cells 1 and 2.
    cells = _resampled_cells(labels.astype(np.int64) * 2 + predicted, 4, samples, seed, salt)
    return _f1(cells[:, 3], cells[:, 1] + cells[:, 2])


def f1_change(labels, candidate, baseline, rows, confidence: float, samples: int, seed: int,
              salt: int = 0, thresholds=(metrics.THRESHOLD, metrics.THRESHOLD)) -> metrics.Interval:
    """candidate − baseline F1 on `rows`, with its paired bootstrap interval; each model
    decides at its own threshold (`thresholds`: the candidate's, the baseline's)."""
    labels = np.asarray(labels, dtype=bool)[rows]
    mine = np.asarray(candidate)[rows] >= thresholds[0]
    theirs = np.asarray(baseline)[rows] >= thresholds[1]
    whole = (metrics.at_threshold(labels, mine.astype(float))["f1_score"]
             - metrics.at_threshold(labels, theirs.astype(float))["f1_score"])
    # Paired: both models on the same resampled rows, so the cells are truth * 4 + mine * 2
    # + theirs, and each model's counts are sums of them.
    c = _resampled_cells(labels.astype(np.int64) * 4 + mine * 2 + theirs, 8, samples, seed, salt)
    diff = (_f1(c[:, 6] + c[:, 7], c[:, 2] + c[:, 3] + c[:, 4] + c[:, 5])
            - _f1(c[:, 5] + c[:, 7], c[:, 1] + c[:, 3] + c[:, 4] + c[:, 6]))
    return metrics.Interval(whole, *metrics.percentiles(diff, confidence))


def f1_drops(labels, candidate, baseline, columns, slicings, min_examples: int, confidence: float,
             samples: int, seed: int, thresholds=(metrics.THRESHOLD, metrics.THRESHOLD)
             ) -> List[Tuple[Slice, metrics.Interval]]:
    """The F1 change of every slice with at least `min_examples` rows (the slice gate)."""
    found = []
    for salt, piece in enumerate(slices_of(columns, slicings)):
        if piece.rows.size >= min_examples:
            found.append((piece, f1_change(labels, candidate, baseline, piece.rows, confidence,
                                           samples, seed, salt, thresholds)))
    return found


def table(labels, scores, columns, slicings, baseline=None, confidence: float = 0.95,
          samples: int = 500, seed: int = 0, threshold: float = metrics.THRESHOLD,
          baseline_threshold: Optional[float] = None) -> List[dict]:
    """One row per slice: counts, label rate, AUC, F1 (with interval), precision, recall,
    errors and their share of all errors (with the error rate's Wilson interval), and,
    given a baseline model's scores on the same rows, its F1 and the paired change. Each
    model decides at its own operating threshold (the baseline's defaults to `threshold`)."""
    baseline_threshold = threshold if baseline_threshold is None else baseline_threshold
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = scores >= threshold
    wrong = predicted != labels
    total_errors = int(wrong.sum())
    overall_f1 = metrics.at_threshold(labels, scores, threshold)["f1_score"]
    rows_out, seen = [], {}
    for salt, piece in enumerate(slices_of(columns, slicings)):
        rows = piece.rows
        n = int(rows.size)
        # A slice holding every row, or the same rows as a slice listed before it (a cross
        # with a feature that has one value here), tells nothing new: kept in the table,
        # left out of the rankings.
        same_as = "every row" if n == labels.size else seen.setdefault(rows.tobytes(), piece.name)
        same_as = None if same_as == piece.name else same_as
        found = metrics.at_threshold(labels[rows], scores[rows], threshold)
        f1_low, f1_high = metrics.percentiles(
            _f1_resampled(labels[rows], predicted[rows], samples, seed, salt), confidence)
        errors = int(wrong[rows].sum())
        error_low, error_high = metrics.wilson(errors, n, confidence)
        row = {
            "slicing": piece.slicing, "slice": piece.name, "values": list(piece.values),
            "examples": n, "positives": int(labels[rows].sum()),
            "label_rate": float(labels[rows].mean()),
            "auc": metrics.auc(labels[rows], scores[rows]),
            "f1_score": found["f1_score"], "f1_low": f1_low, "f1_high": f1_high,
            "precision": found["precision"], "recall": found["recall"],
            "errors": errors, "error_share": errors / total_errors if total_errors else 0.0,
            "error_rate": errors / n, "error_rate_low": error_low, "error_rate_high": error_high,
            "f1_below_overall": overall_f1 - found["f1_score"], "same_as": same_as,
        }
        if baseline is not None:
            change = f1_change(labels, scores, baseline, rows, confidence, samples, seed, salt,
                               (threshold, baseline_threshold))
            row.update({"baseline_f1": metrics.at_threshold(labels[rows], np.asarray(baseline)[rows],
                                                            baseline_threshold)["f1_score"],
                        "f1_change": change.value, "f1_change_low": change.low,
                        "f1_change_high": change.high})
        rows_out.append(row)
    return rows_out


def worst(rows: List[dict], min_examples: int, limit: int = 10) -> Dict[str, List[dict]]:
    """The slices to look at first: by number of errors, and by F1 below the overall F1
    where even the slice's interval stays below it (a dozen rows cannot carry that)."""
    rows = [r for r in rows if not r.get("same_as")]
    by_errors = sorted(rows, key=lambda r: (-r["errors"], r["slice"]))[:limit]
    below = [r for r in rows if r["examples"] >= min_examples and r["f1_below_overall"] > 0]
    by_f1 = sorted(below, key=lambda r: (-r["f1_below_overall"], r["slice"]))[:limit]
    return {"by_errors": by_errors, "by_f1": by_f1}


def where_to_add_data(rows: List[dict], min_examples: int, share: float = 0.05) -> List[dict]:
    """Slices holding a large share of the errors on few examples: more rows like them are
    what the model lacks. Each with a sentence saying why."""
    overall_rate = (sum(r["errors"] for r in rows if r["slicing"] == rows[0]["slicing"])
                    / max(1, sum(r["examples"] for r in rows if r["slicing"] == rows[0]["slicing"])))
    advice = []
    for r in rows:
        if r["error_share"] < share or r.get("same_as"):
            continue
        if r["examples"] < min_examples:
            why = (f"{r['slice']}: {r['errors']} of its {r['examples']} examples are wrong "
                   f"({r['error_share']:.0%} of all errors) and it has fewer than {min_examples} "
                   "examples: collect more rows like these")
        elif r["error_rate_low"] > overall_rate:
            why = (f"{r['slice']}: error rate {r['error_rate']:.0%} (at least "
                   f"{r['error_rate_low']:.0%} at the interval's low end) against {overall_rate:.0%} "
                   f"overall, {r['error_share']:.0%} of all errors: add rows like these, or "
                   "features that tell them apart")
        else:
            continue
        advice.append({"slice": r["slice"], "examples": r["examples"], "errors": r["errors"],
                       "error_share": r["error_share"], "text": why})
    return sorted(advice, key=lambda a: -a["error_share"])


def curves(labels, scores, bins: int = 10, threshold: float = metrics.THRESHOLD) -> dict:
    """The precision-recall curve, the F1-maximising threshold, the confusion matrix at
    the decision threshold and a calibration table (mean predicted vs observed rate per
    bin of predicted probability)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    points, tp, fp = operating_point.curve(labels, scores)
    positives = max(1, int(labels.sum()))
    precision = tp / (tp + fp)
    recall = tp / positives
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * tp / (tp + fp + positives), 0.0)
    best = int(np.argmax(f1)) if f1.size else 0
    predicted = scores >= threshold
    calibration = metrics.reliability(labels, scores, bins)
    return {
        "pr_curve": {"threshold": points.tolist(), "precision": precision.tolist(),
                     "recall": recall.tolist()},
        "best_threshold": {"threshold": float(points[best]) if f1.size else metrics.THRESHOLD,
                           "f1_score": float(f1[best]) if f1.size else 0.0,
                           "precision": float(precision[best]) if f1.size else 0.0,
                           "recall": float(recall[best]) if f1.size else 0.0},
        "confusion": {"threshold": threshold,
                      "true_positive": int(np.sum(predicted & labels)),
                      "false_positive": int(np.sum(predicted & ~labels)),
                      "false_negative": int(np.sum(~predicted & labels)),
                      "true_negative": int(np.sum(~predicted & ~labels))},
        "calibration": calibration,
        "calibration_error": metrics.error_of(calibration),
    }
