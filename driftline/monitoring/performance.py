"""A version's performance on a window, estimated before outcomes arrive and judged
against the range its evaluation rows showed (estimate.py does the arithmetic)."""
from typing import Optional

import numpy as np


def _labelled_scores(rows) -> np.ndarray:
    """The scores of the window's rows whose label can be known: the only rows an outcome
    will be checked on, as in training and evaluation."""
    known = [str(v) for v in rows.column("label_known").to_pylist()] if "label_known" in rows.column_names \
        else ["1"] * rows.num_rows
    return np.asarray([float(p) for p, k in zip(rows.column("probability").to_pylist(), known)
                       if k in ("1", "1.0") and p not in ("", None)])


def labelled_reference(reference) -> Optional[tuple]:
    """(labels, scores) of the evaluation rows whose label is known, or None."""
    if reference is None or "observable" not in reference.column_names:
        return None
    observable = np.asarray(reference.column("observable").to_pylist(), dtype=bool)
    return (np.asarray(reference.column("label").to_pylist())[observable],
            np.asarray(reference.column("candidate").to_pylist(), dtype=np.float64)[observable])


def judge(config, kind: str, version: str, rows, source, reference) -> dict:
    """{"note": why no estimate} or {"block": the estimate, "alarm": (value, threshold,
    text) or None}. `source`: baseline.trained(...) of the version; `reference`: its
    evaluation rows (the ModelGate's predictions) or None."""
    from components.model import operating_point
    from driftline.monitoring import estimate

    settings, evaluation = config.monitoring, config.evaluation
    if kind != "binary":
        return {"note": "no estimate for a regression model: its numbers carry no rate to estimate from"}
    refused = estimate.refusal(source.calibration_error, settings.max_calibration_error, version)
    if refused:
        return {"note": refused}
    scores = _labelled_scores(rows)
    if scores.size < settings.min_requests:
        return {"note": f"{scores.size} rows whose label can be known, fewer than min_requests = "
                        f"{settings.min_requests}: no estimate"}
    threshold = operating_point.of_artifact(source.model)
    judged = labelled_reference(reference)
    calibrated = judged is not None and judged[0].size >= settings.min_requests
    rates = estimate.calibrator(*judged)(scores) if calibrated else scores
    rate = float(rates.mean())
    block = {"rows": int(scores.size), "threshold": threshold, "calibration_error": source.calibration_error,
             "recalibrated_on": int(judged[0].size) if calibrated else 0,
             # The constant beside it: answering "yes" to every row has recall 1 and
             # precision the expected positive rate.
             "always_yes_f1": 2 * rate / (1 + rate),
             "metrics": estimate.estimate(scores, threshold, evaluation.bootstrap_samples, config.training.seed,
                                          evaluation.confidence, rates)}
    found = estimate.reference_range(*judged, threshold, scores.size, config.training.seed) if judged else None
    block["reference"] = found
    f1 = block["metrics"]["f1_score"]
    if found is None or not estimate.outside(f1["value"], found):
        return {"block": block, "alarm": None}
    text = (f"version {version}: estimated F1 {f1['value']:.3f} ({f1['low']:.3f}–{f1['high']:.3f}) on "
            f"{scores.size} rows before outcomes is outside {found['low']:.3f}–{found['high']:.3f}, the range its "
            f"evaluation rows showed in {found['windows']} windows of that size")
    return {"block": block, "alarm": (f1["value"], found["low"] if f1["value"] < found["low"] else found["high"], text)}
