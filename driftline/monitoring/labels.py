"""Online quality when the label arrives late: a file of outcomes joined, by request id,
to the predictions the server logged; F1, precision and recall per version.

The taxi label is known only after the trip (the tip), so the outcome file carries
`request_id` and either `tips` (the label is then computed from the logged fare, by the
same rule as training: components/model/features.py) or `big_tipper` (0 or 1). Only
rows whose tip the meter records count (`tip_observable` = 1 in the log): the model says
nothing checkable about the others, as in training and evaluation. Intervals are the
same bootstrap as the ModelGate's, and the F1 floor alarms only when the whole interval
is below it.
"""
from typing import Dict

import numpy as np

from components.errors import DataError
from components.example_gen import csv_reader
from components.model import features
from components.model_gate import metrics

LABEL = "big_tipper"


def read_outcomes(path) -> Dict[str, int]:
    """request_id -> label, from the outcome file."""
    table = csv_reader.read_span([str(path)])
    names = table.column_names
    if "request_id" not in names or (LABEL not in names and features.OUTCOME_KEY not in names):
        raise DataError(f"{path}: an outcome file needs a request_id column and either "
                        f"{features.OUTCOME_KEY} or {LABEL} (has: {', '.join(names)})")
    ids = table.column("request_id").to_pylist()
    if LABEL in names:
        values = table.column(LABEL).to_pylist()
        found = {}
        for row, (rid, value) in enumerate(zip(ids, values), start=2):
            if value not in ("0", "1"):
                raise DataError(f"{path}: row {row}: {LABEL} = {value!r} is not 0 or 1")
            found[rid] = int(value)
        return found
    tips = table.column(features.OUTCOME_KEY).to_pylist()
    found = {}
    for row, (rid, value) in enumerate(zip(ids, tips), start=2):
        try:
            found[rid] = float(value) if value not in (None, "") else None
        except ValueError:
            raise DataError(f"{path}: row {row}: {features.OUTCOME_KEY} = {value!r} is not a number") from None
    return found


def join(log_table, outcomes: Dict[str, object]) -> dict:
    """version -> (labels, probabilities) of the logged, observable rows with an outcome."""
    ids = log_table.column("request_id").to_pylist()
    versions = log_table.column("model_version").to_pylist()
    probabilities = log_table.column("probability").to_pylist()
    observable = log_table.column("tip_observable").to_pylist()
    fares = log_table.column(features.FARE_KEY).to_pylist()
    by_version: Dict[str, list] = {}
    matched = unobservable = 0
    for rid, version, p, seen, fare in zip(ids, versions, probabilities, observable, fares):
        if rid not in outcomes:
            continue
        matched += 1
        if seen not in ("1", "1.0"):
            unobservable += 1
            continue
        outcome = outcomes[rid]
        if isinstance(outcome, float) or outcome is None:  # tips: the label by the training rule,
            # in float32 arrays as the transform computes it, so that a tip at the boundary agrees
            tips = np.asarray([outcome or 0.0], dtype=np.float32)
            label = int(features.is_big_tipper(tips, np.asarray([float(fare or 0.0)], dtype=np.float32))[0])
        else:
            label = outcome
        by_version.setdefault(version, []).append((label, float(p)))
    return {"matched": matched, "unobservable": unobservable, "unmatched": len(outcomes) - matched,
            "versions": {v: (np.asarray([r[0] for r in rows]), np.asarray([r[1] for r in rows]))
                         for v, rows in by_version.items()}}


def quality(joined: dict, config, thresholds: Dict[str, float]) -> dict:
    """Per version: F1, precision, recall with intervals, each version deciding at its
    own operating threshold (`thresholds`, recorded on its model in MLMD); alarms under
    the F1 floor."""
    settings = config.monitoring
    result = {"matched": joined["matched"], "unobservable": joined["unobservable"],
              "unmatched": joined["unmatched"], "versions": {}, "alarms": []}
    for version, (labels, scores) in sorted(joined["versions"].items()):
        info = {"rows": int(labels.size), "positives": int(labels.sum()), "judged": False}
        result["versions"][version] = info
        if labels.size < settings.min_requests:
            info["note"] = (f"{labels.size} labelled rows, fewer than min_requests = "
                            f"{settings.min_requests}: not judged")
            continue
        threshold = thresholds.get(version, metrics.THRESHOLD)
        info["threshold"] = threshold
        found = metrics.intervals(labels, scores, metrics.resample_indices(labels.size, 500, config.training.seed),
                                  config.evaluation.confidence, threshold)
        info["judged"] = True
        for name in ("f1_score", "precision", "recall"):
            info[name] = found[name].to_json()
        f1 = found["f1_score"]
        if settings.min_online_f1 is not None and f1.high < settings.min_online_f1:
            result["alarms"].append({
                "kind": "online_f1", "version": version, "feature": "", "value": f1.value,
                "threshold": settings.min_online_f1,
                "text": f"version {version}: online F1 {f1.text()} on {labels.size} labelled requests is "
                        f"below the floor {settings.min_online_f1:g}, beyond noise"})
    return result
