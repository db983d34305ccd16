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
            "Rows outside the population the model learned from (tip_observable = 0)",
            ["model", "version"], registry=self.registry)
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
        self.log_dropped = Gauge(
            "driftline_request_log_dropped_rows", "Rows the request log could not keep up with",
            ["model"], registry=self.registry)
