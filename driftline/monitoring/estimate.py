"""A classifier's performance on a window, estimated from its own probabilities before
any outcome arrives (confidence-based performance estimation, as NannyML's CBPE).

A calibrated probability p says the row is positive p of the time. So at the operating
threshold t each row decided "yes" (score >= t) is a true positive with probability p
and a false positive with 1 - p, and each decided "no" a false negative with p: the
expected confusion matrix, and from it precision, recall and F1. The rate p is the
score recalibrated on the served version's evaluation rows (isotonic, `calibrator`), so
that a model slightly over- or under-confident where it was judged does not bias the
estimate. The interval is that of the
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


def expected(scores, threshold: float, rates=None) -> dict:
    """Expected precision, recall and F1 when the model decides `scores >= threshold` and
    each row is positive at its rate (`rates`: calibrated probabilities; the scores
    themselves when None), and the expected AUC of the scores."""
    s = np.asarray(scores, dtype=np.float64)
    p = s if rates is None else np.asarray(rates, dtype=np.float64)
    decided = s >= threshold
    tp, fp, fn = p[decided].sum(), (1 - p[decided]).sum(), p[~decided].sum()
    found = {"precision": float(_ratio(np.array(tp), np.array(tp + fp))),
             "recall": float(_ratio(np.array(tp), np.array(tp + fn))),
             "f1_score": float(_ratio(np.array(2 * tp), np.array(2 * tp + fp + fn)))}
    # E[AUC] as the expected count of (positive above negative) pairs over the expected
    # count of pairs: each pair (i scored above j) counts p_i * (1 - p_j).
    order = np.argsort(s, kind="stable")
    below = np.concatenate([[0.0], np.cumsum(1 - p[order])[:-1]])
    pairs = p.sum() * (1 - p).sum() - (p * (1 - p)).sum()
    found["auc"] = float((p[order] * below).sum() / pairs) if pairs > 0 else float("nan")
    return found


def _drawn(scores: np.ndarray, p: np.ndarray, decided: np.ndarray, samples: int, seed: int) -> dict:
    """Each metric on `samples` draws of the window's labels as Bernoulli(p): the rows are
    the window's own, so only the outcomes are uncertain."""
    rng = np.random.default_rng(seed)
    labels = rng.random((samples, p.size)) < p
    said = np.broadcast_to(decided, labels.shape)
    tp = (labels & said).sum(1).astype(float)
    fp = (~labels & said).sum(1).astype(float)
    fn = (labels & ~said).sum(1).astype(float)
    out = {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn), "f1_score": _ratio(2 * tp, 2 * tp + fp + fn)}
    # AUC by ranks (Mann-Whitney); scores rarely tie, and ties are ranked by position.
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1.0
    positives = labels.sum(1).astype(float)
    negatives = p.size - positives
    out["auc"] = _ratio((ranks * labels).sum(1) - positives * (positives + 1) / 2, positives * negatives)
    return out


def estimate(scores, threshold: float, samples: int, seed: int, confidence: float, rates=None) -> dict:
    """metric -> {"value", "low", "high"}: the expected metric and the central
    `confidence` interval of the realized one. `rates`: each row's chance of being
    positive (calibrated probabilities); the scores themselves when None."""
    from components.model_gate import metrics

    s = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    p = s if rates is None else np.clip(np.asarray(rates, dtype=np.float64), 0.0, 1.0)
    values = expected(s, threshold, p)
    drawn = _drawn(s, p, s >= threshold, samples, seed)
    found = {}
    for name in METRICS:
        low, high = metrics.percentiles(drawn[name], confidence)
        found[name] = {"value": values[name], "low": float(low), "high": float(high)}
    return found


def calibrator(labels, scores):
    """A map from the model's scores to the rate of positives among evaluation rows with
    such scores (isotonic: never decreasing), fitted on its evaluation rows whose label
    is known. The gate's calibration error bounds how far it moves them."""
    from sklearn.isotonic import IsotonicRegression

    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    fitted.fit(np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64))
    return fitted.predict


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


# The reference's range: windows of the judged window's size drawn from the served
# version's evaluation rows, and the realized F1 of each. An estimate outside its mean
# plus or minus SPREAD standard deviations is an alarm (as NannyML's standard-deviation
# thresholds): a window of the kind the model was judged on rarely lands there.
REFERENCE_WINDOWS = 200
SPREAD = 3.0


def reference_range(labels, probabilities, threshold: float, rows: int, seed: int) -> Optional[dict]:
    """{"low", "high", "mean", "sd", "windows", "rows"} of the realized F1 over windows of
    `rows` rows drawn from the reference's labelled rows with replacement (windows from the
    traffic the evaluation rows stand for: drawn without, a window that is most of the
    reference would vary too little); None when the reference holds fewer than `rows`."""
    labels = np.asarray(labels).astype(bool)
    decided = np.asarray(probabilities, dtype=np.float64) >= threshold
    if rows < 1 or labels.size < rows:
        return None
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, labels.size, size=(REFERENCE_WINDOWS, rows))
    truth, said = labels[drawn], decided[drawn]
    tp = (truth & said).sum(1).astype(float)
    wrong = (truth ^ said).sum(1).astype(float)
    f1 = _ratio(2 * tp, 2 * tp + wrong)
    f1 = f1[np.isfinite(f1)]
    mean, sd = float(f1.mean()), float(f1.std(ddof=1))
    return {"low": max(0.0, mean - SPREAD * sd), "high": min(1.0, mean + SPREAD * sd), "mean": mean, "sd": sd,
            "windows": int(f1.size), "rows": int(rows)}


def outside(value: float, found: dict) -> bool:
    return not found["low"] <= value <= found["high"]
