"""The dashboard and the replay's timeline draw what is known before the outcomes: the
estimated F1 with its interval and range, the F1 realized for the same windows, and the
domain classifier's AUC; the timeline keeps one question per panel and lists its
decisions under the chart instead of writing them sideways over the data."""
from driftline.autopilot import timeline
from driftline.monitoring import dashboard


def _pass(i, value, auc):
    return {"execution": 10 + i, "time": 1_800_000_000 + 60 * i, "result": {
        "judged": True, "rows": 500, "alarms": [], "first_timestamp": 0, "last_timestamp": 0,
        "versions": {"7": {"rows": 500, "judged": True, "latency_p50_ms": 2.0, "latency_p99_ms": 4.0,
                           "prediction_drift": 0.05,
                           "skew": {"features": [{"name": "f", "distance": 0.05 * i, "threshold": 0.1}]}}},
        "drift": {"features": [{"name": "g", "distance": 0.02, "threshold": 0.1}]},
        "estimated_performance": {"version": "7", "always_yes_f1": 0.6, "metrics": {
            "f1_score": {"value": value, "low": value - 0.04, "high": value + 0.04}},
            "reference": {"low": 0.7, "high": 0.85}},
        "multivariate_drift": {"auc": {"value": auc, "low": auc - 0.03, "high": auc + 0.03}, "threshold": 0.6,
                               "verdict": "over threshold" if auc - 0.03 > 0.6 else "within threshold"}}}


def _found():
    passes = [_pass(i, v, a) for i, (v, a) in enumerate([(0.8, 0.52), (0.78, 0.55), (0.6, 0.9)], start=1)]
    checks = [{"pass": 11, "realized": 0.79}, {"pass": 12, "realized": 0.75}]
    return passes, [{"time": 1_800_000_200, "x": 3.5, "result": {"estimate_checks": checks, "versions": {}}}]


def test_the_dashboard_draws_the_estimate_beside_the_realized_f1_and_the_domain_auc():
    passes, outcomes = _found()
    found = {"passes": passes, "outcomes": outcomes, "deployments": [], "steps": []}
    images = dashboard.charts(found)
    assert images["estimate.png"].startswith(b"\x89PNG") and images["multivariate.png"].startswith(b"\x89PNG")
    page = dashboard.page("m", found, images)
    assert "<h2>Before the outcomes</h2>" in page and "alt='estimate.png'" in page and "alt='multivariate.png'" in page


def test_the_timeline_has_a_panel_per_question_and_lists_its_decisions_below():
    passes, online = _found()
    decisions = [{"x": 2.5, "time": 1_800_000_130, "kind": "skew", "outcome": "waiting: no span newer than span 2",
                  "reason": "r", "version": "7"}]
    marks = [{"x": 1.5, "time": 1_800_000_070, "text": "span 3 traffic"},
             {"x": 2.5, "time": 1_800_000_131, "text": "span 3 labelled"}]
    found = {"passes": passes, "decisions": decisions, "rollouts": [], "marks": marks, "online": online}
    image = timeline.chart(found)
    assert image.startswith(b"\x89PNG")
    import matplotlib.pyplot as plt

    plt.close("all")
    # Decisions and marks are numbered in time order; the labels are whole, not cut.
    fig, axes = plt.subplots(4, 1)
    labels = timeline._mark_events(found, list(axes))
    plt.close(fig)
    assert labels == ["1. after window 1: span 3 traffic",
                      "2. after window 2: skew held, no newer span; span 3 labelled"]  # one number per gap
    page = timeline.page("m", found, image, ["summary"])
    assert "<td>0.800 (0.760–0.840), 0.790</td>" in page and "<td>0.900 (0.870–0.930)</td>" in page
