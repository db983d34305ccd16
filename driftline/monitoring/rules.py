"""Prometheus alerting rules from `[monitoring]`, and promtool unit tests for each.

The skew, drift and prediction-drift gauges are those `driftline serve` exports from
the newest `driftline monitor` pass (driftline/serving/metrics.py: MonitoringCollector),
which only judges windows of at least `min_requests` rows; a skew or drift alert fires
where a feature's distance is over its threshold, the schema's, exported beside it.
Error rate and p99 latency come from the server's own counters and histogram, judged
only over at least `min_requests` requests in the rate window.

YAML is written by hand (the shapes are fixed) so that nothing beyond the standard
library is needed to write it.
"""
from dataclasses import dataclass
from typing import Dict, List

RATE_WINDOW = "5m"
# promtool's tests evaluate every minute.
TEST_INTERVAL = "1m"


@dataclass
class Alert:
    name: str
    expr: str
    summary: str
    description: str


def _q(text: str) -> str:
    """A YAML single-quoted scalar."""
    return "'" + text.replace("'", "''") + "'"


def alerts(config) -> List[Alert]:
    m = config.monitoring
    enough = f"sum by (model) (increase(driftline_requests_total[{RATE_WINDOW}])) >= {m.min_requests}"
    return [
        Alert("DriftlineFeatureSkew",
              "driftline_feature_skew > on(model, feature) group_left() driftline_feature_skew_threshold",
              "Skew of {{ $labels.feature }} for version {{ $labels.version }}",
              "Its serving distribution is farther from its training data than the schema's "
              "skew_comparator allows (driftline monitor)."),
        Alert("DriftlineFeatureDrift",
              "driftline_feature_drift > on(model, feature) driftline_feature_drift_threshold",
              "Drift of {{ $labels.feature }}",
              "The newest requests are farther from the window before than the schema's "
              "drift_comparator allows (driftline monitor)."),
        Alert("DriftlinePredictionDrift",
              f"driftline_prediction_drift > {m.prediction_drift:g}",
              "Prediction drift of version {{ $labels.version }}",
              f"Its served probabilities are more than {m.prediction_drift:g} (L-infinity) from those "
              "on its evaluation split."),
        Alert("DriftlineErrorRate",
              f"(sum by (model) (rate(driftline_requests_total{{code!~\"2..\"}}[{RATE_WINDOW}])) "
              f"/ sum by (model) (rate(driftline_requests_total[{RATE_WINDOW}]))) > {m.error_rate:g} "
              f"and on(model) {enough}",
              "Error rate of {{ $labels.model }}",
              f"More than {m.error_rate:.0%} of requests answered with an error over {RATE_WINDOW}."),
        Alert("DriftlineLatencyP99",
              f"histogram_quantile(0.99, sum by (model, version, le) "
              f"(rate(driftline_request_latency_seconds_bucket[{RATE_WINDOW}]))) > {m.p99_latency_ms / 1000:g} "
              f"and on(model, version) sum by (model, version) "
              f"(increase(driftline_request_latency_seconds_count[{RATE_WINDOW}])) >= {m.min_requests}",
              "p99 latency of version {{ $labels.version }}",
              f"The 99th percentile of request latency is over {m.p99_latency_ms:g} ms."),
        Alert("DriftlineRolloutPaused", "driftline_rollout_paused > 0",
              "The rollout of {{ $labels.model }} waits for a person",
              "Its canary step was inconclusive past [rollout] max_step_minutes or max_step_requests, or "
              "[rollout] approve_before holds the next step: `driftline rollout status` says why; "
              "`driftline rollout approve` or `abort` decides."),
        Alert("DriftlineEstimatedF1",
              "driftline_estimated_performance{metric=\"f1_score\", bound=\"value\"} < ignoring(metric, bound) "
              "driftline_estimated_f1_range{bound=\"low\"} or driftline_estimated_performance{metric="
              "\"f1_score\", bound=\"value\"} > ignoring(metric, bound) driftline_estimated_f1_range{bound=\"high\"}",
              "Estimated F1 of version {{ $labels.version }} is out of its range",
              "F1 estimated from its probabilities on the newest window, before outcomes, is outside the "
              "range its evaluation rows showed in windows of that size (driftline monitor)."),
        Alert("DriftlineMultivariateDrift",
              "driftline_multivariate_auc{bound=\"low\"} > on(model) driftline_multivariate_auc_threshold",
              "Multivariate drift of {{ $labels.model }}",
              "A classifier tells the newest window's rows from the served version's evaluation rows, "
              "beyond noise, better than [monitoring] max_domain_auc allows; "
              "driftline_multivariate_feature_reliance names the features (driftline monitor)."),
        Alert("DriftlineShadowDisagrees", f"driftline_shadow_agreement < {m.min_shadow_agreement:g}",
              "Shadow version {{ $labels.version }} disagrees",
              f"It decides as the answering versions did on fewer than {m.min_shadow_agreement:.0%} of the "
              "newest window's shadowed rows (driftline monitor)."),
    ] + ([Alert("DriftlineOnlineF1", f"driftline_online_f1_upper < {m.min_online_f1:g}",
                "Online F1 of version {{ $labels.version }}",
                f"F1 on requests whose outcome arrived is below {m.min_online_f1:g} even at the upper "
                "end of its interval (driftline monitor labels).")]
         if m.min_online_f1 is not None else [])


def rules_yaml(config) -> str:
    lines = ["# Written by `driftline monitor rules` from [monitoring]; regenerate, do not edit.",
             "groups:", "  - name: driftline", "    rules:"]
    for a in alerts(config):
        lines += [f"      - alert: {a.name}", f"        expr: {_q(a.expr)}",
                  "        labels:", "          severity: warning",
                  "        annotations:", f"          summary: {_q(a.summary)}",
                  f"          description: {_q(a.description)}"]
    return "\n".join(lines) + "\n"


def _render(template: str, labels: Dict[str, str]) -> str:
    for key, value in labels.items():
        template = template.replace("{{ $labels.%s }}" % key, value)
    return template


def _series(name: str, labels: Dict[str, str], values: str) -> List[str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return [f"          - series: {_q(name + '{' + inner + '}')}", f"            values: {_q(values)}"]


def _expect(alert: Alert, at: str, fired: List[Dict[str, str]]) -> List[str]:
    lines = [f"          - eval_time: {at}", f"            alertname: {alert.name}"]
    if not fired:
        return lines + ["            exp_alerts: []"]
    lines.append("            exp_alerts:")
    for labels in fired:
        lines.append("              - exp_labels:")
        lines += [f"                  {k}: {_q(v)}" for k, v in {**labels, "severity": "warning"}.items()]
        lines += ["                exp_annotations:",
                  f"                  summary: {_q(_render(alert.summary, labels))}",
                  f"                  description: {_q(_render(alert.description, labels))}"]
    return lines


def tests_yaml(config, rules_file: str) -> str:
    """A promtool test for every alert: a case where it fires and one where it does not."""
    m, model = config.monitoring, config.model_name
    by_name = {a.name: a for a in alerts(config)}
    lines = ["# Written by `driftline monitor rules --tests`: promtool test rules FILE",
             f"rule_files:\n  - {_q(rules_file)}", f"evaluation_interval: {TEST_INTERVAL}", "tests:"]

    def case(series: List[str], checks: List[str]):
        lines.extend([f"  - interval: {TEST_INTERVAL}", "    input_series:", *series])
        lines.append("    alert_rule_test:")
        lines.extend(checks)

    over, under = "feature_over", "feature_under"  # made up: one over its threshold, one under
    skew = {"model": model, "version": "7", "feature": over}
    case(_series("driftline_feature_skew", skew, "0.44x5")
         + _series("driftline_feature_skew", {**skew, "feature": under}, "0.02x5")
         + _series("driftline_feature_skew_threshold", {"model": model, "feature": over}, "0.1x5")
         + _series("driftline_feature_skew_threshold", {"model": model, "feature": under}, "0.1x5"),
         _expect(by_name["DriftlineFeatureSkew"], "2m", [skew]))
    drift = {"model": model, "feature": over}
    case(_series("driftline_feature_drift", drift, "0.05 0.05 0.3 0.3")
         + _series("driftline_feature_drift_threshold", drift, "0.1x3"),
         _expect(by_name["DriftlineFeatureDrift"], "1m", [])
         + _expect(by_name["DriftlineFeatureDrift"], "3m", [drift]))
    predictions = {"model": model, "version": "7"}
    low, high = m.prediction_drift / 2, min(1.0, m.prediction_drift + 0.1)
    case(_series("driftline_prediction_drift", predictions, f"{low:g} {low:g} {high:g} {high:g}"),
         _expect(by_name["DriftlinePredictionDrift"], "1m", [])
         + _expect(by_name["DriftlinePredictionDrift"], "3m", [predictions]))
    # Requests per minute: enough of them to be judged over the rate window.
    per_minute = max(1, -(-m.min_requests // 4))
    errors_per_minute = max(1, int(per_minute * m.error_rate * 3) + 1)
    ok = {"model": model, "version": "7", "slot": "blue", "code": "200"}
    bad = {"model": model, "version": "", "slot": "", "code": "400"}
    case(_series("driftline_requests_total", ok, f"0+{per_minute}x20")
         + _series("driftline_requests_total", bad, f"0x10 0+{errors_per_minute}x10"),
         _expect(by_name["DriftlineErrorRate"], "8m", [])
         + _expect(by_name["DriftlineErrorRate"], "18m", [{"model": model}]))
    slow = {"model": model, "version": "7"}
    limit = m.p99_latency_ms / 1000
    buckets = {f"{limit / 2:g}": f"0+{per_minute // 2}x10", f"{limit * 2:g}": f"0+{per_minute}x10",
               "+Inf": f"0+{per_minute}x10"}
    series = []
    for le, values in buckets.items():
        series += _series("driftline_request_latency_seconds_bucket", {**slow, "le": le}, values)
    series += _series("driftline_request_latency_seconds_count", slow, f"0+{per_minute}x10")
    fast = {"model": model, "version": "8"}
    for le in buckets:
        series += _series("driftline_request_latency_seconds_bucket", {**fast, "le": le}, f"0+{per_minute}x10")
    series += _series("driftline_request_latency_seconds_count", fast, f"0+{per_minute}x10")
    case(series, _expect(by_name["DriftlineLatencyP99"], "8m", [slow]))
    _rollout_cases(case, by_name, m, model)
    _estimate_cases(case, by_name, m, model)
    if "DriftlineOnlineF1" in by_name:
        online = {"model": model, "version": "7"}
        good, bad = min(1.0, m.min_online_f1 + 0.2), max(0.0, m.min_online_f1 - 0.2)
        case(_series("driftline_online_f1_upper", online, f"{good:g} {good:g} {bad:g} {bad:g}"),
             _expect(by_name["DriftlineOnlineF1"], "1m", [])
             + _expect(by_name["DriftlineOnlineF1"], "3m", [online]))
    return "\n".join(lines) + "\n"


def _rollout_cases(case, by_name: Dict[str, Alert], m, model: str):
    """A paused rollout, and a shadow whose agreement falls under the floor."""
    case(_series("driftline_rollout_paused", {"model": model}, "0 0 1 1"),
         _expect(by_name["DriftlineRolloutPaused"], "1m", [])
         + _expect(by_name["DriftlineRolloutPaused"], "3m", [{"model": model}]))
    shadow = {"model": model, "version": "9"}
    agree, disagree = min(1.0, m.min_shadow_agreement + 0.05), max(0.0, m.min_shadow_agreement - 0.2)
    case(_series("driftline_shadow_agreement", shadow, f"{agree:g} {agree:g} {disagree:g} {disagree:g}"),
         _expect(by_name["DriftlineShadowDisagrees"], "1m", [])
         + _expect(by_name["DriftlineShadowDisagrees"], "3m", [shadow]))


def _estimate_cases(case, by_name: Dict[str, Alert], m, model: str):
    """An estimated F1 that falls under its range, one above it, one inside; a domain
    classifier's AUC whose interval rises over the threshold."""
    f1 = {"model": model, "version": "7", "metric": "f1_score", "bound": "value"}
    series = _series("driftline_estimated_performance", f1, "0.7 0.7 0.4 0.4")
    series += _series("driftline_estimated_performance", {**f1, "version": "8"}, "0.7 0.7 0.95 0.95")
    for version in ("7", "8"):
        series += _series("driftline_estimated_f1_range", {"model": model, "version": version, "bound": "low"}, "0.6x3")
        series += _series("driftline_estimated_f1_range", {"model": model, "version": version, "bound": "high"},
                          "0.8x3")
    case(series, _expect(by_name["DriftlineEstimatedF1"], "1m", [])
         + _expect(by_name["DriftlineEstimatedF1"], "3m", [{"model": model, "version": v} for v in ("7", "8")]))
    auc = {"model": model, "bound": "low"}
    within, over = (m.max_domain_auc + 0.5) / 2, min(1.0, m.max_domain_auc + 0.1)
    case(_series("driftline_multivariate_auc", auc, f"{within:g} {within:g} {over:g} {over:g}")
         + _series("driftline_multivariate_auc_threshold", {"model": model}, f"{m.max_domain_auc:g}x3"),
         _expect(by_name["DriftlineMultivariateDrift"], "1m", [])
         + _expect(by_name["DriftlineMultivariateDrift"], "3m", [{"model": model}]))
