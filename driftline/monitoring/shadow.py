"""What the shadow version said, beside what was answered.

The server logs the shadow's prediction for each sampled row under the answered row's
request id (driftline/serving/shadow.py). A window pass reports how often the shadow
would have decided as the answering version did (each at its own operating threshold)
and the L-infinity distance between their predictions' histograms on the same rows; an
outcome pass, once outcomes arrive, both versions' online metric on the same labelled
rows with a paired bootstrap interval of the difference (the rows are the same, so they
are resampled together).
"""
import csv
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from driftline.monitoring.distance import prediction_distance
from driftline.serving.shadow import PREFIX, log_dir


# path -> ((size, mtime), its rows): a watcher's window and outcome passes read the same
# files tick after tick, and a file the server has closed never changes again.
_READ: Dict[str, tuple] = {}


def _read_file(path: Path) -> Dict[str, tuple]:
    stat = path.stat()
    key = (stat.st_size, stat.st_mtime_ns)
    cached = _READ.get(str(path))
    if cached is not None and cached[0] == key:
        return cached[1]
    found = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                prediction = float(row["prediction"]) if row.get("prediction") else None
                found[row["request_id"]] = (row["shadow_version"], prediction)
            except (KeyError, TypeError, ValueError):
                continue  # a row torn by a crash mid-line
    _READ[str(path)] = (key, found)
    return found


def read(request_log_dir) -> Dict[str, tuple]:
    """request id -> (shadow version, its prediction or None when it failed)."""
    found = {}
    for path in sorted(log_dir(request_log_dir).glob(f"{PREFIX}-*.csv")):
        found.update(_read_file(path))
    return found


def _paired(table, shadow: Dict[str, tuple]):
    """(shadow version, served versions, served predictions, shadow predictions, failed)
    of the table's rows the shadow scored; None when it scored none."""
    ids = table.column("request_id").to_pylist()
    served_version = table.column("model_version").to_pylist()
    served = table.column("probability").to_pylist()
    rows = [(shadow[r], v, p) for r, v, p in zip(ids, served_version, served) if r in shadow]
    if not rows:
        return None
    version = rows[-1][0][0]  # the newest shadow, when another shadowed earlier in the window
    rows = [row for row in rows if row[0][0] == version]
    failed = sum(1 for (_, prediction), _, _ in rows if prediction is None)
    rows = [(s, v, p) for s, v, p in rows if s[1] is not None and p not in ("", None)]
    return (version, [v for _, v, _ in rows], np.asarray([float(p) for _, _, p in rows]),
            np.asarray([s[1] for s, _, _ in rows]), failed)


def agreement(table, shadow: Dict[str, tuple], thresholds: Dict[str, float], kind: str) -> Optional[dict]:
    """The window's rows the shadow scored: its share of equal decisions (a classifier's)
    and its predictions' distance from the answered ones."""
    paired = _paired(table, shadow)
    if paired is None:
        return None
    version, served_versions, served, shadowed, failed = paired
    result = {"version": version, "rows": int(served.size), "failed": failed,
              "distance": prediction_distance(shadowed, served) if served.size else None}
    if kind == "regression" or not served.size:
        result["agreement"] = None
        result["mean_abs_difference"] = float(np.mean(np.abs(shadowed - served))) if served.size else None
        return result
    answered = served >= np.asarray([thresholds.get(v, 0.5) for v in served_versions])
    would = shadowed >= thresholds.get(version, 0.5)
    result["agreement"] = float(np.mean(answered == would))
    return result


def online(joined: dict, shadow: Dict[str, tuple], thresholds: Dict[str, float], config) -> Optional[dict]:
    """Both versions' online F1 (RMSE for a regression task) on the labelled rows the
    shadow scored, and the paired interval of the shadow's minus the answering one's."""
    from components.model_gate import metrics, regression

    labels, served, shadowed, served_at, version = [], [], [], [], None
    for answering, ids in joined.get("ids", {}).items():
        truth, predicted = joined["versions"][answering]
        for i, request_id in enumerate(ids):
            found = shadow.get(request_id)
            if found is None or found[1] is None:
                continue
            version = found[0]
            labels.append(truth[i])
            served.append(predicted[i])
            shadowed.append(found[1])
            served_at.append(thresholds.get(answering, 0.5))
    if not labels:
        return None
    labels, served, shadowed = np.asarray(labels), np.asarray(served, float), np.asarray(shadowed, float)
    if joined.get("kind") == "regression":
        def value(rows, predicted):
            return regression.errors(labels[rows].astype(float), predicted[rows])["rmse"]
        name, first, second = "rmse", served, shadowed
    else:
        def value(rows, decided):
            return metrics.at_threshold(labels[rows].astype(bool), decided[rows])["f1_score"]
        name = "f1_score"
        first, second = served >= np.asarray(served_at), shadowed >= thresholds.get(version, 0.5)
    every = np.arange(labels.size)
    indices = metrics.Resamples(labels.size, config.evaluation.bootstrap_samples, config.training.seed)
    differences = np.array([value(rows, second) - value(rows, first) for rows in indices])
    low, high = metrics.percentiles(differences, config.evaluation.confidence)
    return {"version": version, "metric": name, "rows": int(labels.size),
            "served": float(value(every, first)), "shadow": float(value(every, second)),
            "difference": {"value": float(value(every, second) - value(every, first)), "low": low, "high": high}}


def present(request_log_dir) -> bool:
    return Path(log_dir(request_log_dir)).is_dir()
