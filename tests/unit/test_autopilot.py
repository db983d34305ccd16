"""The retraining policy's parts that need no server: alarm streaks read from the
monitoring history, the canary's F1 difference and its interval, the replay's span
range, and the configuration written for the replay's server."""
import dataclasses

import numpy as np
import pytest

from driftline.autopilot import watcher as autopilot
from driftline.autopilot import replay
from driftline.config import load_config
from pipeline.config import fast, to_toml
from pipeline.errors import ConfigError


def _pass(time, alarms, judged=True):
    return {"time": time, "result": {"judged": judged, "alarms": alarms}}


def _alarm(kind, version="7", feature="payment_type"):
    return {"kind": kind, "version": version, "feature": feature, "value": 0.2, "threshold": 0.1,
            "text": f"{kind} of {feature}"}


def test_a_streak_counts_consecutive_judged_windows_back_from_the_newest():
    found = {"passes": [_pass(1, [_alarm("skew")]), _pass(2, []), _pass(3, [_alarm("skew")]),
                        _pass(4, [], judged=False), _pass(5, [_alarm("skew"), _alarm("drift", version="")]),
                        _pass(6, [_alarm("skew")])],
             "outcomes": []}
    found_streaks = autopilot.streaks(found, 7, since=0, triggers=["skew", "drift", "online_f1"])
    assert found_streaks["skew"]["windows"] == 3  # 3, 5, 6: the unjudged window neither counts nor breaks
    assert found_streaks["drift"]["windows"] == 0  # the newest window has no drift alarm
    assert found_streaks["online_f1"]["windows"] == 0
    # Only alarms about the stable version count for skew; nothing before `since` counts.
    assert autopilot.streaks(found, 8, 0, ["skew"])["skew"]["windows"] == 0
    assert autopilot.streaks(found, 7, 4.5, ["skew"])["skew"]["windows"] == 2


def test_the_alarms_known_before_outcomes_can_trigger_retraining_too():
    """Multivariate drift is about the whole window, as drift is; an estimated F1 out of
    its range is about a version, as skew is."""
    whole = _alarm("multivariate_drift", version="", feature="fare, trip_miles")
    found = {"passes": [_pass(1, [whole, _alarm("estimated_performance", feature="")]),
                        _pass(2, [whole, _alarm("estimated_performance", version="8", feature="")])],
             "outcomes": []}
    held = autopilot.streaks(found, 7, 0, ["multivariate_drift", "estimated_performance"])
    assert held["multivariate_drift"]["windows"] == 2 and held["multivariate_drift"]["alarm"] == whole
    assert held["estimated_performance"]["windows"] == 0  # the newest is about version 8, not the stable 7


def test_a_config_may_name_them_as_triggers(tmp_path):
    path = tmp_path / "triggers.toml"
    path.write_text('[retraining]\ntriggers = ["multivariate_drift", "estimated_performance"]\n')
    assert load_config(path).retraining.triggers == ["multivariate_drift", "estimated_performance"]


def test_an_online_f1_streak_reads_the_outcome_joins_that_judged_the_stable_version():
    def join(time, judged, alarmed):
        return {"time": time, "result": {"versions": {"7": {"judged": judged}},
                                         "alarms": [_alarm("online_f1", feature="")] if alarmed else []}}

    found = {"passes": [], "outcomes": [join(1, True, True), join(2, False, False), join(3, True, True)]}
    assert autopilot.streaks(found, 7, 0, ["online_f1"])["online_f1"]["windows"] == 2


def test_the_canary_f1_difference_has_an_interval_that_holds_the_true_difference():
    rng = np.random.default_rng(0)
    config = load_config()
    labels = rng.integers(0, 2, 400)
    good = np.where(labels == 1, 0.8, 0.2)                       # always right: F1 1
    half = np.where(rng.random(400) < 0.5, good, 1 - good)       # right half the time
    def difference(canary, stable):
        return autopilot.f1_verdict(labels, canary >= 0.5, labels, stable >= 0.5, config).details["f1_difference"]

    same = difference(good, good)
    assert same["value"] == 0.0 and same["low"] <= 0.0 <= same["high"]
    worse = difference(half, good)
    assert worse["value"] < -0.3 and worse["high"] < -0.3  # clearly worse, beyond noise


def test_spans_are_a_range_with_one_to_train_on_and_one_to_serve():
    assert replay.parse_spans("1-4") == [1, 2, 3, 4]
    assert replay.parse_spans("2-3") == [2, 3]
    for bad in ("3", "x-4", "0-2", "4-1"):
        with pytest.raises(ConfigError):
            replay.parse_spans(bad)


def test_a_replay_never_empties_a_directory_it_did_not_make(tmp_path):
    from components.errors import DataError

    source = tmp_path / "taxi"
    for span in (1, 2):
        (source / f"span-{span}").mkdir(parents=True)
        (source / f"span-{span}" / "data.csv").write_text("a,b\n1,2\n")
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a replay directory"):
        replay.prepare(precious, source, [1, 2])
    assert (precious / "notes.txt").read_text() == "keep me"
    data = replay.prepare(tmp_path / "replay", source, [1, 2])
    assert sorted(p.name for p in data.iterdir()) == ["span-1"]  # the later spans arrive later
    data = replay.prepare(tmp_path / "replay", source, [1, 2])  # a replay's own directory is emptied
    assert sorted(p.name for p in data.iterdir()) == ["span-1"]
    with pytest.raises(DataError, match="no span-3/"):
        replay.prepare(tmp_path / "other", source, [1, 2, 3])


def test_the_first_model_learns_from_every_span_up_to_the_first(tmp_path):
    source = tmp_path / "taxi"
    for span in (1, 2, 3, 4):
        (source / f"span-{span}").mkdir(parents=True)
        (source / f"span-{span}" / "data.csv").write_text("a,b\n1,2\n")
    data = replay.prepare(tmp_path / "replay", source, [2, 3, 4])
    assert sorted(p.name for p in data.iterdir()) == ["span-1", "span-2"]


def test_the_configuration_written_for_another_process_reads_back_the_same(tmp_path):
    config = fast(load_config())
    config.span, config.serving.rest_port, config.retraining.triggers = 3, 0, ["skew"]
    written = tmp_path / "written.toml"
    written.write_text(to_toml(config))
    assert dataclasses.asdict(load_config(written)) == dataclasses.asdict(config)
