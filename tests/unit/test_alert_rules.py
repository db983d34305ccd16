"""The Prometheus alerting rules `driftline monitor rules` writes: promtool accepts them,
and the promtool unit tests written beside them (one firing and one quiet case per
alert) pass. A rule whose threshold or expression changes fails them."""
import subprocess

from system_programs import require_program

from driftline.monitoring import rules
from driftline.config import load_config


def _write(tmp_path, config):
    (tmp_path / "driftline.rules.yml").write_text(rules.rules_yaml(config))
    (tmp_path / "driftline.rules.test.yml").write_text(rules.tests_yaml(config, "driftline.rules.yml"))


def _promtool(*args, cwd):
    return subprocess.run([require_program("promtool", "prometheus"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules_and_their_tests_pass(tmp_path):
    config = load_config()
    _write(tmp_path, config)
    checked = _promtool("check", "rules", "driftline.rules.yml", cwd=tmp_path)
    assert checked.returncode == 0 and "SUCCESS: 10 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", "driftline.rules.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    text = (tmp_path / "driftline.rules.yml").read_text()
    for alert in ("DriftlineFeatureSkew", "DriftlineFeatureDrift", "DriftlinePredictionDrift",
                  "DriftlineErrorRate", "DriftlineLatencyP99", "DriftlineOnlineF1"):
        assert f"alert: {alert}" in text


def test_the_thresholds_come_from_the_config_and_the_tests_follow_them(tmp_path):
    config = load_config()
    config.monitoring.prediction_drift = 0.3
    config.monitoring.p99_latency_ms = 80
    config.monitoring.min_requests = 40
    _write(tmp_path, config)
    text = (tmp_path / "driftline.rules.yml").read_text()
    assert "driftline_prediction_drift > 0.3" in text and "> 0.08" in text and ">= 40" in text
    assert _promtool("test", "rules", "driftline.rules.test.yml", cwd=tmp_path).returncode == 0


def test_tests_written_for_other_thresholds_catch_a_changed_rule(tmp_path):
    config = load_config()
    _write(tmp_path, config)
    strict = load_config()
    strict.monitoring.prediction_drift = 0.9
    (tmp_path / "driftline.rules.yml").write_text(rules.rules_yaml(strict))
    tested = _promtool("test", "rules", "driftline.rules.test.yml", cwd=tmp_path)
    assert tested.returncode != 0 and "DriftlinePredictionDrift" in tested.stdout + tested.stderr
