"""Online quality when the label arrives late: a file of outcomes joined, by request id,
to the predictions the server logged; F1, precision and recall per version.

A label is often known only after the fact, so the outcome file carries `request_id` and
either the label itself (the task's `label_name`, 0 or 1) or the columns the label rule
reads as outcomes; the label is then computed by the same rule as training
(components/model/task.py), any other column it reads taken from the logged request.
Only rows whose label can be known count (`label_known` = 1 in the log): the model says
nothing checkable about the others, as in training and evaluation. Intervals are the
same bootstrap as the ModelGate's, and the F1 floor alarms only when the whole interval
is below it.
"""
from typing import Dict

import numpy as np

from components.errors import DataError
from components.example_gen import csv_reader
from components.model.rule import NumpyBackend
from components.model.task import LABEL_KNOWN, Task
from components.model_gate import metrics


def read_outcomes(path, task: Task) -> Dict[str, object]:
    """request_id -> the label (0 or 1), or -> {outcome column: its text} for the rule."""
    table = csv_reader.read_span([str(path)])
    names = table.column_names
    outcomes = task.outcomes
    if "request_id" not in names or (task.label_name not in names and not set(outcomes) <= set(names)):
        raise DataError(f"{path}: an outcome file needs a request_id column and either "
                        f"{task.label_name} or {', '.join(outcomes)} (has: {', '.join(names)})")
    ids = table.column("request_id").to_pylist()
    if task.label_name in names:
        return _labels_given(path, task, ids, table.column(task.label_name).to_pylist())
    columns = {name: table.column(name).to_pylist() for name in outcomes}
    return {rid: {name: columns[name][i] or "" for name in outcomes} for i, rid in enumerate(ids)}


def _labels_given(path, task: Task, ids: list, values: list) -> Dict[str, object]:
    """request_id -> the label as the file gives it: 0 or 1, or a regression task's number."""
    found = {}
    for row, (rid, value) in enumerate(zip(ids, values), start=2):
        if task.kind == "regression":
            try:
                found[rid] = float(value)
            except (TypeError, ValueError):
                raise DataError(f"{path}: row {row}: {task.label_name} = {value!r} is not a number") from None
        elif value not in ("0", "1"):
            raise DataError(f"{path}: row {row}: {task.label_name} = {value!r} is not 0 or 1")
        else:
            found[rid] = int(value)
    return found


def _numeric(rule, name: str, values: list, where: str) -> np.ndarray:
    """Text cells as numbers (NaN when empty) for a column the rule does arithmetic or an
    order comparison on; text otherwise."""
    uses = {how for column, _, how in rule.column_uses() if column == name}
    if "number" not in uses:
        return np.asarray(values, dtype=object)
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value not in (None, ""):
            try:
                out[i] = float(value)
            except ValueError:
                raise DataError(f"{where}: {name} = {value!r} is not a number") from None
    return out


def _evaluate(rule, rows: list, log_rows: list) -> np.ndarray:
    """`rule` over the joined rows: each column from the outcome file (`rows`, dicts) when
    it is there, else from the logged request (`log_rows`)."""
    columns = {name: [r[name] if name in r else logged.get(name, "") for r, logged in zip(rows, log_rows)]
               for name in rule.columns}
    return rule.evaluate(NumpyBackend({name: _numeric(rule, name, values, "outcome file")
                                       for name, values in columns.items()}))


def labels_of(task: Task, rows: list, log_rows: list) -> np.ndarray:
    """The label of each joined row by the task's rule: outcome columns from the outcome
    file, the rule's other columns from the logged request."""
    return np.asarray(_evaluate(task.label_rule, rows, log_rows),
                      dtype=np.float64 if task.kind == "regression" else np.int64)


def known_after_the_fact(task: Task, given: list, log_rows: list) -> np.ndarray:
    """Whether each row's label can be known, for rows the server could not say about
    (its rule reads an outcome, which no request carries): by `known_when` over the
    outcome and the logged request. A label given outright (0 or 1) is known."""
    known = np.ones(len(given), dtype=bool)
    rule = task.known_rule
    by_rule = [j for j, outcome in enumerate(given) if isinstance(outcome, dict)]
    if rule is not None and by_rule:
        known[by_rule] = _evaluate(rule, [given[j] for j in by_rule], [log_rows[j] for j in by_rule])
    return known


def join(log_table, outcomes: Dict[str, object], task: Task) -> dict:
    """version -> (labels, probabilities) of the logged rows, whose label can be known,
    with an outcome."""
    logged = list(dict.fromkeys(task.references + (task.known_rule.columns if task.known_rule else [])))
    log = {name: log_table.column(name).to_pylist() if name in log_table.column_names else
           [""] * log_table.num_rows
           for name in ["request_id", "model_version", "probability", "timestamp", LABEL_KNOWN] + logged}
    matched = unknown = 0
    kept, pending = [], []
    for i, rid in enumerate(log["request_id"]):
        if rid not in outcomes:
            continue
        matched += 1
        seen = log[LABEL_KNOWN][i]
        if seen in ("1", "1.0"):
            kept.append(i)
        elif seen in ("", None):  # the server could not tell: the outcome will
            pending.append(i)
        else:
            unknown += 1
    if pending:
        known = known_after_the_fact(task, [outcomes[log["request_id"][i]] for i in pending],
                                     [{name: log[name][i] for name in logged} for i in pending])
        kept = sorted(kept + [i for i, k in zip(pending, known) if k])
        unknown += int((~known).sum())
    given = [outcomes[log["request_id"][i]] for i in kept]
    by_rule = [j for j, outcome in enumerate(given) if isinstance(outcome, dict)]
    labels = list(given)
    if by_rule:
        computed = labels_of(task, [given[j] for j in by_rule],
                             [{name: log[name][kept[j]] for name in logged} for j in by_rule])
        for j, label in zip(by_rule, computed):
            labels[j] = label.item()
    by_version: Dict[str, list] = {}
    for i, label in zip(kept, labels):
        by_version.setdefault(log["model_version"][i], []).append(
            (label, float(log["probability"][i]), log["request_id"][i], _seconds(log["timestamp"][i])))
    return {"kind": task.kind, "matched": matched, "unobservable": unknown, "unmatched": len(outcomes) - matched,
            "versions": {v: (np.asarray([r[0] for r in rows]), np.asarray([r[1] for r in rows]))
                         for v, rows in by_version.items()},
            "ids": {v: [r[2] for r in rows] for v, rows in by_version.items()},
            "stamps": {v: np.asarray([r[3] for r in rows]) for v, rows in by_version.items()}}


def _seconds(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def quality(joined: dict, config, thresholds: Dict[str, float]) -> dict:
    """Per version: F1, precision, recall with intervals, each version deciding at its
    own operating threshold (`thresholds`, recorded on its model in MLMD); alarms under
    the F1 floor."""
    if joined.get("kind") == "regression":
        return regression_quality(joined, config)
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
        found = metrics.intervals(labels, scores, metrics.Resamples(labels.size, 500, config.training.seed),
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


def regression_quality(joined: dict, config) -> dict:
    """Per version of a regression model: RMSE and MAE of its served numbers against the
    outcomes, with intervals; an alarm when the RMSE is above `max_online_rmse` beyond
    noise (the whole interval above it)."""
    from components.model_gate import regression

    settings = config.monitoring
    result = {"task_kind": "regression", "matched": joined["matched"], "unobservable": joined["unobservable"],
              "unmatched": joined["unmatched"], "versions": {}, "alarms": []}
    for version, (labels, predicted) in sorted(joined["versions"].items()):
        info = {"rows": int(labels.size), "judged": False}
        result["versions"][version] = info
        if labels.size < settings.min_requests:
            info["note"] = (f"{labels.size} labelled rows, fewer than min_requests = "
                            f"{settings.min_requests}: not judged")
            continue
        found = regression.intervals(labels, predicted, metrics.Resamples(labels.size, 500, config.training.seed),
                                     config.evaluation.confidence)
        info["judged"] = True
        info.update({name: found[name].to_json() for name in regression.METRICS})
        rmse, ceiling = found["rmse"], settings.max_online_rmse
        if ceiling is not None and rmse.low > ceiling:
            result["alarms"].append({
                "kind": "online_rmse", "version": version, "feature": "", "value": rmse.value, "threshold": ceiling,
                "text": f"version {version}: online RMSE {rmse.text(4)} on {labels.size} labelled requests is "
                        f"above the ceiling {ceiling:g}, beyond noise"})
    return result


def online_text(info: dict) -> str:
    """A judged version's online quality in a few words: F1 for a classifier, RMSE for a number."""
    if "rmse" in info:
        return f"RMSE {info['rmse']['value']:.4g} on {info['rows']}"
    return f"F1 {info['f1_score']['value']:.3f} on {info['rows']}"
