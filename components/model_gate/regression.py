"""The ModelGate for a task whose label is a number.

The candidate's root mean squared error (RMSE) and mean absolute error (MAE) on the
judged rows, each with its bootstrap interval, against:
- the constant predictor, the mean label of the train split for every row: the
  candidate must have a lower RMSE beyond noise (the paired interval of the difference
  lies below 0), unless a quick mode only reports it;
- the serving model, on the same resampled rows: the candidate is rejected only when the
  whole paired interval of its RMSE's increase lies above `max_rmse_increase` times the
  serving model's RMSE, on the whole set and on the newest span alone.
The reference learner (gradient-boosted trees) says what the inputs allow; it never
blesses. Same bootstrap as the binary gate (components/model_gate/metrics.py): B
resamples of the rows, the central `confidence` share of their values.
"""
from typing import Dict, Optional

import numpy as np

from components.model_gate.decision import Check, Decision
from components.model_gate.metrics import Interval, percentiles

METRICS = ("rmse", "mae")
NAMES = {"rmse": "RMSE", "mae": "MAE"}


def errors(labels, predictions) -> Dict[str, float]:
    residual = np.asarray(predictions, np.float64) - np.asarray(labels, np.float64)
    if residual.size == 0:
        return {"rmse": float("nan"), "mae": float("nan")}
    return {"rmse": float(np.sqrt(np.mean(residual ** 2))), "mae": float(np.mean(np.abs(residual)))}


def _resampled(labels, predictions, indices) -> Dict[str, np.ndarray]:
    """Each error on each resample, as sums over the rows weighted by how often each was
    drawn: memory stays one row's worth whatever the number of resamples."""
    residual = np.asarray(predictions, np.float64) - np.asarray(labels, np.float64)
    found = {m: np.full(len(indices), np.nan) for m in METRICS}
    if residual.size == 0:
        return found
    squared, absolute = residual ** 2, np.abs(residual)
    for b, rows in enumerate(indices):
        weights = np.bincount(rows, minlength=residual.size).astype(np.float64)
        found["rmse"][b] = np.sqrt(weights @ squared / len(rows))
        found["mae"][b] = weights @ absolute / len(rows)
    return found


def intervals(labels, predictions, indices, confidence: float) -> Dict[str, Interval]:
    whole, resampled = errors(labels, predictions), _resampled(labels, predictions, indices)
    return {m: Interval(whole[m], *percentiles(resampled[m], confidence)) for m in METRICS}


def paired(labels, candidate, baseline, indices, confidence: float) -> Dict[str, Interval]:
    """candidate − baseline for each error, on the same resampled rows (negative: the
    candidate errs less)."""
    whole_c, whole_b = errors(labels, candidate), errors(labels, baseline)
    res_c, res_b = _resampled(labels, candidate, indices), _resampled(labels, baseline, indices)
    return {m: Interval(whole_c[m] - whole_b[m], *percentiles(res_c[m] - res_b[m], confidence))
            for m in METRICS}


def _span(diff: Interval, confidence: float) -> str:
    return f"{diff.value:+.4g}, {diff.low:+.4g} to {diff.high:+.4g} at {confidence * 100:g}%"


def constant_check(candidate: Interval, constant_rmse: float, diff: Interval, confidence: float,
                   required: bool) -> Check:
    """The candidate's RMSE below the constant's beyond noise."""
    shown = _span(diff, confidence)
    if diff.high < 0:
        return Check("rmse vs constant", True, f"RMSE {candidate.value:.4g} is below the constant's "
                                               f"{constant_rmse:.4g} (the train mean for every row) "
                                               f"beyond noise ({shown})")
    return Check("rmse vs constant", not required,
                 f"RMSE {candidate.value:.4g} is not shown below the constant's {constant_rmse:.4g} "
                 f"(the train mean for every row; {shown}): the model predicts no better than the mean"
                 + ("" if required else " (reported, not required)"))


def serving_check(diff: Interval, serving_rmse: float, share: float, confidence: float, where: str) -> Check:
    """Rejected only when the whole interval of the RMSE's increase is above the allowed one."""
    allowed = share * serving_rmse
    label, shown = f"rmse vs serving model{where}", _span(diff, confidence)
    if diff.low > allowed:
        return Check(label, False, f"RMSE{where} worse than the serving model's {serving_rmse:.4g} by "
                                   f"{diff.value:.4g} ({shown}), beyond the allowed {allowed:.4g} "
                                   f"({share:.0%} of it)")
    return Check(label, True, f"RMSE{where} change {shown}: within the allowed increase of {allowed:.4g} "
                              f"({share:.0%} of the serving model's {serving_rmse:.4g})")


def decide(settings: dict, candidate: Dict[str, Interval], examples: int, constant: dict,
           serving: Optional[dict] = None, newest: Optional[dict] = None) -> Decision:
    """`constant`: {"rmse": its RMSE, "diff": candidate − constant}; `serving` and
    `newest`: {"rmse": the serving model's RMSE there, "diff": candidate − serving,
    "where": "" or " on span N"}."""
    confidence = settings["confidence"]
    decision = Decision(blessed=True)
    decision.checks.append(constant_check(candidate["rmse"], constant["rmse"], constant["diff"]["rmse"],
                                          confidence, settings.get("beat_constant", True)))
    for found in (serving, newest):
        if found is not None:
            decision.checks.append(serving_check(found["diff"]["rmse"], found["rmse"],
                                                 settings["max_rmse_increase"], confidence, found["where"]))
    decision.blessed = all(c.passed for c in decision.checks)
    if examples < settings["min_eval_examples"]:
        decision.warnings.append(f"the evaluation set has {examples} examples, fewer than "
                                 f"min_eval_examples = {settings['min_eval_examples']}: its intervals are "
                                 "wide and few changes can be told from noise")
    return decision
