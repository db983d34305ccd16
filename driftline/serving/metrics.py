"""What `/metrics` says, in Prometheus's text format (prometheus-client)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PROBABILITY_BUCKETS = tuple(i / 10 for i in range(1, 11))


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "driftline_requests", "Requests answered, by model, version, slot and HTTP status code",
            ["model", "version", "slot", "code"], registry=self.registry)
        self.rows = Counter(
            "driftline_predicted_rows", "Rows predicted (a request can hold several)",
            ["model", "version", "slot"], registry=self.registry)
        self.unobservable = Counter(
            "driftline_unobservable_rows",
            "Rows outside the population the model learned from (label_known = 0)",
            ["model", "version"], registry=self.registry)
        self.out_of_domain = Counter(
            "driftline_out_of_domain_values", "Scored rows with a feature value outside the schema's "
            "domain (range or string domain)", ["model", "version", "feature"], registry=self.registry)
        self.latency = Histogram(
            "driftline_request_latency_seconds", "Time from a request's arrival to its answer",
            ["model", "version"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.probability = Histogram(
            "driftline_prediction_probability", "Predicted probabilities",
            ["model", "version"], buckets=PROBABILITY_BUCKETS, registry=self.registry)
        self.loaded = Gauge(
            "driftline_version_available", "1 for a version that is loaded and takes traffic",
            ["model", "version", "state"], registry=self.registry)
        self.canary_percent = Gauge(
            "driftline_canary_percent", "The share of traffic the canary version takes",
            ["model"], registry=self.registry)
        self.policy_revision = Gauge(
            "driftline_rollout_revision", "The rollout policy's revision in effect",
            ["model"], registry=self.registry)
        self.directory_missing = Gauge(
            "driftline_serving_dir_missing", "1 while the serving directory is gone (loaded versions "
            "keep serving)", ["model"], registry=self.registry)
        self.directory_missing_scans = Gauge(
            "driftline_serving_dir_missing_scans", "Polls that found the serving directory gone after "
            "versions were loaded from it", ["model"], registry=self.registry)
        self.shadow_rows = Counter(
            "driftline_shadow_rows", "Rows the shadow version scored, failed on, or dropped (queue full)",
            ["model", "version", "outcome"], registry=self.registry)
        self.shadow_latency = Histogram(
            "driftline_shadow_latency_seconds", "The shadow version's time to score a request (off the "
            "request's path)", ["model", "version"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.shadow_percent = Gauge(
            "driftline_shadow_percent", "The share of requests the shadow version scores (0: no shadow)",
            ["model"], registry=self.registry)
        self.rollout_step = Gauge(
            "driftline_rollout_step", "The canary's step in effect, from 1 (0: no canary or no steps)",
            ["model"], registry=self.registry)
        self.rollout_paused = Gauge(
            "driftline_rollout_paused", "1 while the rollout waits for a person (rollout approve or abort)",
            ["model"], registry=self.registry)
        self.log_dropped = Gauge(
            "driftline_request_log_dropped_rows", "Rows the request log could not keep up with",
            ["model"], registry=self.registry)


class MonitoringCollector:
    """The newest `driftline monitor` result (a JSON file the command writes) as gauges,
    read when Prometheus scrapes, so that alerting rules see skew, drift and prediction
    drift beside the request counters. No file yet: no gauges."""

    def __init__(self, path, model: str):
        self.path, self.model = path, model
        self._cache = (None, None)

    def _result(self):
        import json
        import os

        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            return None
        if self._cache[0] != stamp:
            try:
                with open(self.path) as f:
                    self._cache = (stamp, json.load(f))
            except (OSError, ValueError):  # being replaced: keep what was read last
                return self._cache[1]
        return self._cache[1]

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        result = self._result() or {}
        m = self.model
        judged = GaugeMetricFamily("driftline_monitor_judged", "1 when the newest monitoring pass had "
                                   "enough rows to judge", labels=["model"])
        if result:
            judged.add_metric([m], float(bool(result.get("judged"))))
        rows = GaugeMetricFamily("driftline_monitor_window_rows", "Rows in the newest monitoring window",
                                 labels=["model"])
        if result:
            rows.add_metric([m], float(result.get("rows", 0)))
        when = GaugeMetricFamily("driftline_monitor_last_timestamp_seconds",
                                 "Time of the newest row the newest monitoring pass judged", labels=["model"])
        if result:
            when.add_metric([m], float(result.get("last_timestamp", 0.0)))
        skew = GaugeMetricFamily("driftline_feature_skew", "L-infinity distance of a feature's serving "
                                 "distribution from its training data", labels=["model", "version", "feature"])
        skew_limit = GaugeMetricFamily("driftline_feature_skew_threshold", "The schema's skew_comparator "
                                       "threshold", labels=["model", "feature"])
        drift = GaugeMetricFamily("driftline_feature_drift", "L-infinity distance of a feature from the "
                                  "window before", labels=["model", "feature"])
        drift_limit = GaugeMetricFamily("driftline_feature_drift_threshold", "The schema's drift_comparator "
                                        "threshold", labels=["model", "feature"])
        predictions = GaugeMetricFamily("driftline_prediction_drift", "L-infinity distance of served "
                                        "probabilities from the evaluation split's", labels=["model", "version"])
        limits = {}
        for version, info in result.get("versions", {}).items():
            for feature in (info.get("skew") or {}).get("features", []):
                if feature["distance"] is not None and feature["threshold"] is not None:
                    skew.add_metric([m, version, feature["name"]], float(feature["distance"]))
                    limits[feature["name"]] = float(feature["threshold"])
            if "prediction_drift" in info:
                predictions.add_metric([m, version], float(info["prediction_drift"]))
        for name, value in sorted(limits.items()):
            skew_limit.add_metric([m, name], value)
        for feature in (result.get("drift") or {}).get("features", []):
            if feature["distance"] is not None and feature["threshold"] is not None:
                drift.add_metric([m, feature["name"]], float(feature["distance"]))
                drift_limit.add_metric([m, feature["name"]], float(feature["threshold"]))
        online = GaugeMetricFamily("driftline_online_f1", "F1 on requests whose outcome arrived "
                                   "(driftline monitor labels)", labels=["model", "version"])
        online_high = GaugeMetricFamily("driftline_online_f1_upper", "The upper end of its interval",
                                        labels=["model", "version"])
        quality = self._beside(".labels.json")
        for version, info in (quality or {}).get("versions", {}).items():
            if info.get("judged") and "f1_score" in info:
                online.add_metric([m, version], float(info["f1_score"]["value"]))
                online_high.add_metric([m, version], float(info["f1_score"]["high"]))
        return [judged, rows, when, skew, skew_limit, drift, drift_limit, predictions, online, online_high,
                *self._estimated(result), *self._multivariate(result), *self._shadow(result), *self._analysis()]

    def _estimated(self, result: dict):
        from prometheus_client.core import GaugeMetricFamily

        found = GaugeMetricFamily("driftline_estimated_performance", "A classifier's performance on the newest "
                                  "window, estimated from its probabilities before outcomes arrive (bound: the "
                                  "estimate, or its interval's low or high end)",
                                  labels=["model", "version", "metric", "bound"])
        limits = GaugeMetricFamily("driftline_estimated_f1_range", "The range of F1 the version's evaluation "
                                   "rows showed in windows of the newest window's size (bound: low or high)",
                                   labels=["model", "version", "bound"])
        for version, info in result.get("versions", {}).items():
            block = info.get("estimated_performance") or {}
            for metric, values in block.get("metrics", {}).items():
                for bound in ("value", "low", "high"):
                    if values.get(bound) is not None:
                        found.add_metric([self.model, version, metric, bound], float(values[bound]))
            for bound in ("low", "high"):
                if (block.get("reference") or {}).get(bound) is not None:
                    limits.add_metric([self.model, version, bound], float(block["reference"][bound]))
        return [found, limits]

    def _multivariate(self, result: dict):
        from prometheus_client.core import GaugeMetricFamily

        auc = GaugeMetricFamily("driftline_multivariate_auc", "Cross-validated AUC of a classifier telling the "
                                "newest window's rows from the served version's evaluation rows (bound: the "
                                "AUC, or its interval's low or high end)", labels=["model", "bound"])
        limit = GaugeMetricFamily("driftline_multivariate_auc_threshold", "[monitoring] max_domain_auc",
                                  labels=["model"])
        lost = GaugeMetricFamily("driftline_multivariate_feature_reliance", "AUC that classifier loses when the "
                                 "feature's values are shuffled", labels=["model", "feature"])
        found = result.get("multivariate_drift") or {}
        if found:
            for bound in ("value", "low", "high"):
                auc.add_metric([self.model, bound], float(found["auc"][bound]))
            limit.add_metric([self.model], float(found["threshold"]))
            for feature in found.get("features", []):
                lost.add_metric([self.model, feature["name"]], float(feature["auc_lost"]))
        return [auc, limit, lost]

    def _shadow(self, result: dict):
        from prometheus_client.core import GaugeMetricFamily

        agreement = GaugeMetricFamily("driftline_shadow_agreement", "Share of the newest window's shadowed rows "
                                      "where the shadow version decides as the answering one did",
                                      labels=["model", "version"])
        distance = GaugeMetricFamily("driftline_shadow_prediction_distance", "L-infinity distance between the "
                                     "shadow's and the answering versions' predictions on the same rows",
                                     labels=["model", "version"])
        found = result.get("shadow") or {}
        if found.get("agreement") is not None:
            agreement.add_metric([self.model, found["version"]], float(found["agreement"]))
        if found.get("distance") is not None:
            distance.add_metric([self.model, found["version"]], float(found["distance"]))
        return [agreement, distance]

    def _analysis(self):
        from prometheus_client.core import GaugeMetricFamily

        verdict = GaugeMetricFamily("driftline_rollout_verdict", "1 for the verdict of the newest analysis of "
                                    "the canary's step (promote, abort, inconclusive)",
                                    labels=["model", "version", "verdict"])
        needs = GaugeMetricFamily("driftline_rollout_needs_labelled", "More labelled requests the canary's "
                                  "step likely needs before its analysis decides", labels=["model", "version"])
        found = self._beside(".analysis.json") or {}
        if found.get("canary") is not None:
            version = str(found["canary"])
            from driftline.serving.policy import VERDICTS

            for name in VERDICTS:
                verdict.add_metric([self.model, version, name], float(found.get("verdict") == name))
            if found.get("needs") is not None:
                needs.add_metric([self.model, version], float(found["needs"]))
        return [verdict, needs]

    def _beside(self, suffix: str):
        """The JSON file next to the monitoring result (`<model><suffix>`), or None."""
        import json
        from pathlib import Path

        path = Path(self.path).with_suffix(suffix)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None
