"""A classifier's performance on a window, estimated from its own probabilities before
any outcome arrives (confidence-based performance estimation, as NannyML's CBPE).

A calibrated probability p says the row is positive p of the time. So at the operating
threshold t each row decided "yes" (p >= t) is a true positive with probability p and a
false positive with 1 - p, and each decided "no" a false negative with p: the expected
confusion matrix, and from it precision, recall and F1. The interval is that of the
realized metric the window would show: its labels drawn as Bernoulli(p), each draw
scored as outcomes would be (AUC included, by ranks). It means
something only for a model whose probabilities are calibrated: one whose expected
calibration error on its evaluation rows (the ModelGate measures and records it) is over
`[monitoring] max_calibration_error` is refused, naming its error.
"""
from typing import Optional

import numpy as np

METRICS = ("f1_score", "precision", "recall", "auc")


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def expected(probabilities, threshold: float) -> dict:
    """Expected precision, recall and F1 at `threshold`, and the expected AUC."""
    p = np.asarray(probabilities, dtype=np.float64)
    decided = p >= threshold
    tp, fp, fn = p[decided].sum(), (1 - p[decided]).sum(), p[~decided].sum()
    found = {"precision": float(_ratio(np.array(tp), np.array(tp + fp))),
             "recall": float(_ratio(np.array(tp), np.array(tp + fn))),
             "f1_score": float(_ratio(np.array(2 * tp), np.array(2 * tp + fp + fn)))}
    # E[AUC] as the expected count of (positive above negative) pairs over the expected
    # count of pairs: each pair (i above j) counts p_i * (1 - p_j).
    order = np.argsort(p, kind="stable")
    below = np.concatenate([[0.0], np.cumsum(1 - p[order])[:-1]])
    pairs = p.sum() * (1 - p).sum() - (p * (1 - p)).sum()
    found["auc"] = float((p[order] * below).sum() / pairs) if pairs > 0 else float("nan")
    return found


def _drawn(p: np.ndarray, decided: np.ndarray, samples: int, seed: int) -> dict:
    """Each metric on `samples` draws of the window's labels as Bernoulli(p): the rows are
    the window's own, so only the outcomes are uncertain."""
    rng = np.random.default_rng(seed)
    labels = rng.random((samples, p.size)) < p
    said = np.broadcast_to(decided, labels.shape)
    tp = (labels & said).sum(1).astype(float)
    fp = (~labels & said).sum(1).astype(float)
    fn = (labels & ~said).sum(1).astype(float)
    out = {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "f1_score": _ratio(2 * tp, 2 * tp + fp + fn)}
    # AUC by ranks (Mann-Whitney); probabilities rarely tie, and ties are ranked by position.
    ranks = np.argsort(np.argsort(p, kind="stable"), kind="stable") + 1.0
    positives = labels.sum(1).astype(float)
    negatives = p.size - positives
    out["auc"] = _ratio((ranks * labels).sum(1) - positives * (positives + 1) / 2, positives * negatives)
    return out


def estimate(probabilities, threshold: float, samples: int, seed: int, confidence: float) -> dict:
    """metric -> {"value", "low", "high"}: the expected metric and the central
    `confidence` interval of the realized one."""
    from components.model_gate import metrics

    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    values = expected(p, threshold)
    drawn = _drawn(p, p >= threshold, samples, seed)
    found = {}
    for name in METRICS:
        low, high = metrics.percentiles(drawn[name], confidence)
        found[name] = {"value": values[name], "low": float(low), "high": float(high)}
    return found


def refusal(calibration_error: Optional[float], limit: float, version: str) -> Optional[str]:
    """Why the version's probabilities cannot be estimated from, or None."""
    if calibration_error is None or not np.isfinite(calibration_error):
        return (f"version {version}: no calibration error is recorded on its blessing, so its probabilities "
                "cannot be trusted as rates: no estimate")
    if calibration_error > limit:
        return (f"version {version}: its expected calibration error {calibration_error:.3f} (on its evaluation "
                f"rows) is over max_calibration_error = {limit:g}: its probabilities are not rates, so no "
                "performance is estimated from them")
    return None
