"""A Grafana dashboard over the metrics `driftline serve` exports, for teams that run
Grafana beside Prometheus (`driftline monitor report` writes it next to the HTML one)."""
import json

PANELS = [
    ("Feature skew (L∞) against training data", "driftline_feature_skew{model=\"$model\"}",
     "{{version}} {{feature}}"),
    ("Skew thresholds", "driftline_feature_skew_threshold{model=\"$model\"}", "{{feature}}"),
    ("Feature drift (L∞) against the window before", "driftline_feature_drift{model=\"$model\"}", "{{feature}}"),
    ("Prediction drift", "driftline_prediction_drift{model=\"$model\"}", "{{version}}"),
    ("Requests per second by version and code",
     "sum by (version, code) (rate(driftline_requests_total{model=\"$model\"}[5m]))", "{{version}} {{code}}"),
    ("p99 latency (s) by version", "histogram_quantile(0.99, sum by (version, le) "
     "(rate(driftline_request_latency_seconds_bucket{model=\"$model\"}[5m])))", "{{version}}"),
    ("Online F1 by version", "driftline_online_f1{model=\"$model\"}", "{{version}}"),
    ("Canary share (%)", "driftline_canary_percent{model=\"$model\"}", "canary"),
    ("F1 estimated before outcomes, and its range from the evaluation rows",
     "driftline_estimated_performance{model=\"$model\", metric=\"f1_score\"} or "
     "driftline_estimated_f1_range{model=\"$model\"}", "{{version}} {{bound}}"),
    ("Multivariate drift: domain classifier AUC", "driftline_multivariate_auc{model=\"$model\"} or "
     "driftline_multivariate_auc_threshold{model=\"$model\"}", "{{bound}}"),
]


def dashboard(model: str) -> dict:
    panels = []
    for index, (title, expr, legend) in enumerate(PANELS):
        panels.append({
            "id": index + 1, "type": "timeseries", "title": title, "datasource": "${datasource}",
            "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
            "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
        })
    return {
        "title": f"driftline: {model}", "uid": f"driftline-{model}"[:40], "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "tags": ["driftline"],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "model", "type": "constant", "query": model, "hide": 2},
        ]},
        "panels": panels,
    }


def write(model: str, path) -> None:
    path.write_text(json.dumps(dashboard(model), indent=2))
