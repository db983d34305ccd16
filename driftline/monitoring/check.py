"""One monitoring pass over a window of the request log.

For each model version that served rows in the window (and has at least
`min_requests` of them):
- skew: the window's statistics against the statistics of the data that version was
  trained on (found through MLMD, driftline/monitoring/baseline.py), by the schema's
  skew_comparator L-infinity thresholds, in the SERVING environment;
- prediction drift: the histogram of its served probabilities against the same model's
  on its evaluation split, as the ModelGate recorded them;
- latency p50 and p99;
- a classifier's performance estimated from its probabilities (estimate.py), against the
  range its evaluation rows showed in windows of the same size.
And for the window as a whole, drift against the window before it, by the schema's
drift_comparator thresholds, and multivariate drift against the busiest version's
evaluation rows (multivariate.py). Each distance over its threshold is an alarm. Nothing
is judged on fewer than `min_requests` rows: the result says so instead.
"""
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np

from components.drift_gate.comparison import DRIFT, SKEW, compare, load_statistics
from driftline.data import drift as span_drift
from driftline.monitoring.baseline import trained
from driftline.monitoring import multivariate
from driftline.monitoring.distance import prediction_distance
from driftline.monitoring.window import Window, floats as _floats, rows_of as _rows_of

# The ModelGate's own columns in its predictions file, beside the raw inputs.
RESERVED = ("span", "label", "observable", "candidate", "baseline")


@dataclass
class Alarm:
    kind: str        # skew, drift, prediction_drift, latency, estimated_performance, multivariate_drift
    version: str     # "" for the whole window
    feature: str     # "" when not about one feature
    value: float
    threshold: float
    text: str


def reference_rows(path: str):
    """The ModelGate's predictions on the version's evaluation rows (labels, whether each
    label can be known, the probabilities and the raw inputs) as a pyarrow Table, or None."""
    import io

    import pyarrow.parquet as pq

    from components import storage

    if not path or not storage.exists(path):
        return None
    return pq.read_table(io.BytesIO(storage.read_bytes(path)))


def _judge_version(config, schema, store, version: str, rows, alarms: list, sources: list,
                   references: dict) -> dict:
    """One version's share of the window: latency, skew against its own training data,
    its predictions against those on its evaluation split and its estimated performance.
    Appends its alarms and the MLMD artifacts it read; keeps its evaluation rows in
    `references`."""
    settings = config.monitoring
    latency = _floats(rows, "latency_ms")
    info = {"rows": rows.num_rows, "latency_p50_ms": float(np.percentile(latency, 50)),
            "latency_p99_ms": float(np.percentile(latency, 99)), "judged": False}
    if rows.num_rows < settings.min_requests:
        info["note"] = f"{rows.num_rows} rows, fewer than min_requests = {settings.min_requests}: not judged"
        return info
    info["judged"] = True
    if info["latency_p99_ms"] > settings.p99_latency_ms:
        alarms.append(Alarm("latency", version, "", info["latency_p99_ms"], settings.p99_latency_ms,
                            f"version {version}: p99 latency {info['latency_p99_ms']:.1f} ms over "
                            f"{settings.p99_latency_ms:g} ms"))
    source = trained(store, config.pipeline_name, version)
    if source is not None:
        sources.append(("served_model", source.pushed))
        if source.statistics is not None:
            sources.append(("training_statistics", source.statistics))
    if source is None or source.statistics is None:
        info["note"] = (f"version {version} was not pushed by a run this MLMD store knows: "
                        "no training statistics to compare with")
        return info
    info.update({"training_run": source.run, "model_artifact": source.model.id,
                 "training_statistics": source.statistics.id})
    skew = compare([span_drift.statistics(rows, schema)], load_statistics(source.statistics.uri), schema,
                   SKEW, current_label=f"version {version}'s requests",
                   baseline_label=f"its training data (run {source.run})", environment="SERVING")
    info["skew"] = skew.to_json()
    for feature in skew.offending:
        alarms.append(Alarm("skew", version, feature.name, feature.distance or 0.0, feature.threshold or 0.0,
                            f"skew of {feature.name} for version {version}: distance "
                            f"{feature.distance:.4f} over the threshold {feature.threshold:g} "
                            f"(its requests against its training data, run {source.run})"))
    reference = reference_rows(source.predictions)
    if reference is not None and not reference.num_rows:
        reference = None
    _estimate(config, schema, version, rows, source, reference, info, alarms)
    if reference is not None:
        references[version] = reference
        expected = np.asarray(reference.column("candidate").to_pylist(), dtype=np.float64)
        distance = prediction_distance(_floats(rows, "probability"), expected)
        info["prediction_drift"] = distance
        if distance > settings.prediction_drift:
            alarms.append(Alarm("prediction_drift", version, "", distance, settings.prediction_drift,
                                f"version {version}: its predictions' distribution is {distance:.4f} "
                                f"from the one on its evaluation split, over {settings.prediction_drift:g}"))
    return info


def _estimate(config, schema, version: str, rows, source, reference, info: dict, alarms: list):
    """The version's performance on the window estimated from its probabilities, or why
    not; an alarm when the estimated F1 leaves the range its evaluation rows showed."""
    from driftline.monitoring import performance
    from pipeline.inputs import resolve_task

    found = performance.judge(config, resolve_task(config, schema).kind, version, rows, source, reference)
    if "note" in found:
        info["estimate_note"] = found["note"]
        return
    info["estimated_performance"] = found["block"]
    if found["alarm"]:
        alarms.append(Alarm("estimated_performance", version, "", *found["alarm"]))


def _judge_drift(window: Window, schema, settings, result: dict, alarms: list):
    """The whole window against the one before it, when that one is large enough."""
    current, previous = window.current, window.previous
    if previous is None or previous.num_rows < settings.min_requests:
        result["drift_note"] = "no earlier window of at least min_requests rows: drift not judged"
        return
    drift = compare([span_drift.statistics(current, schema)], [span_drift.statistics(previous, schema)],
                    schema, DRIFT, current_label=f"the newest {current.num_rows} requests",
                    baseline_label=f"the {previous.num_rows} before them", environment="SERVING")
    result["drift"] = drift.to_json()
    for feature in drift.offending:
        alarms.append(Alarm("drift", "", feature.name, feature.distance or 0.0, feature.threshold or 0.0,
                            f"drift of {feature.name}: distance {feature.distance:.4f} over the "
                            f"threshold {feature.threshold:g} (the window against the one before)"))


def judge_window(config, schema, store, window: Window):
    """(result, sources): the pass as JSON, and the (role, artifact) pairs it read from
    MLMD for each judged version (the served model and its training statistics)."""
    settings = config.monitoring
    current = window.current
    alarms: List[Alarm] = []
    sources: List[tuple] = []
    result = {"rows": current.num_rows, "log_rows": window.total_rows, "files": len(window.files),
              "min_requests": settings.min_requests, "versions": {}, "drift": None}
    stamps = _floats(current, "timestamp")
    result["first_timestamp"], result["last_timestamp"] = float(stamps.min()), float(stamps.max())
    result["judged"] = current.num_rows >= settings.min_requests
    if not result["judged"]:
        result["note"] = (f"{current.num_rows} rows in the window, fewer than min_requests = "
                          f"{settings.min_requests}: nothing is judged on so little")
        result["alarms"] = []
        return result, sources

    references: dict = {}
    for version in sorted(set(current.column("model_version").to_pylist())):
        result["versions"][version] = _judge_version(config, schema, store, version,
                                                     _rows_of(current, version), alarms, sources, references)
    _judge_drift(window, schema, settings, result, alarms)
    if current.num_rows < multivariate.MIN_ROWS:
        result["multivariate_drift"] = None
        result["multivariate_note"] = (f"{current.num_rows} rows, fewer than the {multivariate.MIN_ROWS} a domain "
                                       "classifier is trained and cross-validated on: multivariate drift not judged")
    else:
        result["multivariate_drift"] = _judge_multivariate(config, current, result["versions"], references, alarms)
    estimated = [(info["estimated_performance"]["rows"], version) for version, info in result["versions"].items()
                 if "estimated_performance" in info]
    if estimated:  # the window's: the version that served most of it
        version = max(estimated)[1]
        result["estimated_performance"] = {"version": version, **result["versions"][version]["estimated_performance"]}
    log_dir = Path(window.files[0]).parent if window.files else config.request_log_dir
    result["shadow"] = _judge_shadow(config, schema, store, current, log_dir, sources)
    result["alarms"] = [asdict(a) for a in alarms]
    return result, sources


def _judge_multivariate(config, current, versions: dict, references: dict, alarms: list) -> Optional[dict]:
    """The window's rows against the evaluation rows of the version that served most of
    them (multivariate.py), or None when no judged version has them."""
    from driftline.serving.request_log import EXTRA

    busiest = max(((info["rows"], v) for v, info in versions.items() if v in references), default=None)
    if busiest is None:
        return None
    version = busiest[1]
    reference = references[version]
    features = [name for name in reference.column_names if name in current.column_names
                and name not in EXTRA and name not in RESERVED]
    if not features:
        return None
    found = multivariate.domain_classifier(reference.select(features), current.select(features), features,
                                           config.training.seed, config.evaluation.confidence)
    threshold = config.monitoring.max_domain_auc
    found.update(version=version, threshold=threshold, verdict=multivariate.verdict(found, threshold),
                 features=found["features"][:5])
    if found["verdict"] == "over threshold":
        auc = found["auc"]
        alarms.append(Alarm("multivariate_drift", "", ", ".join(found["relied_on"]), auc["value"], threshold,
                            f"multivariate drift: a classifier tells the window's rows from version {version}'s "
                            f"evaluation rows with AUC {auc['value']:.3f} ({auc['low']:.3f}–{auc['high']:.3f}), "
                            f"over {threshold:g}; it relied on "
                            + (", ".join(found["relied_on"]) or "no one feature")))
    return found


def _judge_shadow(config, schema, store, current, log_dir, sources: list) -> Optional[dict]:
    """The shadow's agreement with the answering versions on the window's rows, or None;
    the shadow's pushed model joins the pass's `sources`."""
    from driftline.monitoring import shadow
    from driftline.monitoring.baseline import operating_thresholds
    from pipeline.inputs import resolve_task

    if not shadow.present(log_dir):
        return None
    said = shadow.read(log_dir)
    versions = {v for v, _ in said.values()} | set(current.column("model_version").to_pylist())
    models = {v: trained(store, config.pipeline_name, v) for v in versions}
    found = shadow.agreement(current, said, operating_thresholds(models), resolve_task(config, schema).kind)
    if found is not None and models.get(found["version"]) is not None:
        sources.append(("shadow_model", models[found["version"]].pushed))
    return found
