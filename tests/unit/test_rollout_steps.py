"""The parts of a progressive rollout and a shadow that need no server: the policy's steps,
pauses and shadow sample, the three-way step verdict and its "needs N more" estimate,
the [rollout] settings, and the shadow's agreement and paired online comparison."""
import numpy as np
import pyarrow as pa
import pytest

from components.model_gate.metrics import Interval
from driftline.autopilot import step_analysis
from driftline.autopilot import watcher as autopilot
from driftline.config import load_config
from driftline.monitoring import shadow as shadows
from driftline.serving import policy as policies
from driftline.views.shadow import shadow_text
from pipeline.errors import ConfigError


def _stepped(steps=(5.0, 25.0, 50.0, 100.0)):
    pinned = policies.Policy().changed("pin", "first", slots={"blue": 10, "green": None})
    return pinned.changed("canary", "try", slots={"blue": 10, "green": 20}, canary_percent=steps[0],
                          steps=list(steps), step=0)


def test_a_stepped_canary_names_its_next_share_until_promotion():
    policy = _stepped()
    assert policy.canary == 20 and policy.next_step == 25.0
    policy = policy.changed("step", "held", canary_percent=25.0, step=1)
    policy = policy.changed("step", "held", canary_percent=50.0, step=2)
    assert policy.next_step == 100.0
    assert "step 3 of 4: 5% → 25% → 50% → 100%" in policy.describe()
    promoted = policy.changed("promote", "held", live="green", canary_percent=0.0)
    assert promoted.canary is None and promoted.steps == [] and promoted.step == -1 and promoted.next_step is None


def test_a_pause_holds_until_the_next_change_and_a_rollback_walks_past_it():
    paused = _stepped().changed("pause", "inconclusive", paused="inconclusive")
    assert paused.paused == "inconclusive" and "PAUSED for a person" in paused.describe()
    approved = paused.changed("approve", "by a person", canary_percent=25.0, step=1)
    assert approved.paused == ""
    # The pause routed as the canary did: a rollback goes back to before the canary.
    back = paused.rolled_back("undo")
    assert back.canary is None and back.stable == 10 and back.paused == ""


def test_the_shadow_samples_its_share_apart_from_the_canary_split():
    policy = _stepped().changed("shadow", "watch", shadow=30, shadow_percent=40.0)
    keys = [f"rider-{i}" for i in range(4000)]
    sampled = [policies.shadowed(policy, k) for k in keys]
    assert 0.37 < np.mean(sampled) < 0.43
    assert [policies.shadowed(policy, k) for k in keys[:200]] == sampled[:200]  # a key sticks
    canary = [policies.route(policy, k) == policy.idle for k in keys]
    both = np.mean(np.asarray(sampled) & np.asarray(canary))
    assert abs(both - np.mean(sampled) * np.mean(canary)) < 0.01  # independent of the canary's split
    assert not policies.shadowed(policy.changed("unshadow", "done", shadow=None, shadow_percent=0.0), "k")
    with pytest.raises(ValueError, match="shadow_percent"):
        policies.Policy.from_json({**policy.to_json(), "shadow_percent": 120})


@pytest.mark.parametrize("low, high, verdict", [
    (-0.02, 0.03, step_analysis.PROMOTE),        # the whole interval above -margin
    (-0.12, -0.06, step_analysis.ABORT),         # the whole interval below -margin
    (-0.09, 0.01, step_analysis.INCONCLUSIVE),   # straddles -margin
])
def test_a_step_is_promoted_aborted_or_inconclusive_by_where_the_interval_lies(low, high, verdict):
    found = step_analysis.judge(Interval((low + high) / 2, low, high), 300, 0.05, True, "F1", "online F1")
    assert found.verdict == verdict
    if verdict == step_analysis.INCONCLUSIVE:
        assert found.needs > 0 and f"needs about {found.needs} more labelled requests" in found.text()
        assert "0.05 F1 drop from noise" in found.text()


def test_lower_is_better_metrics_are_judged_on_the_increase():
    allowed = 0.5
    assert step_analysis.judge(Interval(0.8, 0.6, 1.0), 100, allowed, False, "RMSE", "x").verdict == "abort"
    assert step_analysis.judge(Interval(0.1, -0.1, 0.3), 100, allowed, False, "RMSE", "x").verdict == "promote"
    assert step_analysis.judge(Interval(0.4, 0.2, 0.7), 100, allowed, False, "RMSE", "x").verdict == "inconclusive"


def test_the_count_needed_shrinks_the_interval_to_the_margin():
    # Half-width 0.05 at n = 400; the estimate is 0.025 from the boundary: 4x the rows.
    assert step_analysis.more_needed(400, -0.1, 0.0, -0.05 + 0.025, -0.05) == 1200
    assert step_analysis.more_needed(400, -0.1, 0.0, -0.05, -0.05) is None  # on the margin
    assert step_analysis.more_needed(400, 0.0, 0.02, 0.01, -0.05) == 1


def test_a_better_canary_is_promoted_and_a_worse_one_aborted_on_real_f1_intervals():
    rng = np.random.default_rng(3)
    config = load_config()
    labels = rng.integers(0, 2, 600).astype(bool)
    right = labels.copy()
    wrong_often = np.where(rng.random(600) < 0.4, ~labels, labels)
    better = autopilot.f1_verdict(labels, right, labels, wrong_often, config)
    worse = autopilot.f1_verdict(labels, wrong_often, labels, right, config)
    assert better.verdict == step_analysis.PROMOTE and worse.verdict == step_analysis.ABORT
    thin = autopilot.f1_verdict(labels[:20], right[:20], labels[:20], right[:20], config)
    assert thin.verdict in (step_analysis.PROMOTE, step_analysis.INCONCLUSIVE)
    same_but_noisy = autopilot.f1_verdict(labels[:60], wrong_often[:60], labels[60:120], wrong_often[60:120], config)
    assert same_but_noisy.verdict == step_analysis.INCONCLUSIVE and same_but_noisy.needs > 0


def test_error_rate_and_latency_break_a_step_whatever_the_metric():
    problems, held = step_analysis.limits((12, 100), 40.0, 0.05, 250.0)
    assert problems == ["error rate 0.120 over 0.05 (12 of its 100 requests since the server started)"]
    assert held == ["p99 latency 40.0 ms within 250 ms"]
    problems, _ = step_analysis.limits((0, 100), 400.0, 0.05, 250.0)
    assert problems == ["p99 latency 400.0 ms over 250 ms"]


def test_rollout_settings_must_rise_to_100_and_gates_must_name_a_step():
    config = load_config(overrides={"rollout": {"steps": [5, 25, 50, 100], "approve_before": ["promote", 25]}})
    assert config.rollout.gated(100.0) and config.rollout.gated(25.0) and not config.rollout.gated(50.0)
    assert load_config().rollout.effective_steps(10.0) == [10.0, 100.0]
    with pytest.raises(ConfigError) as refused:
        load_config(overrides={"rollout": {"steps": [5, 50, 25, 100], "approve_before": [30]}})
    text = str(refused.value)
    assert "'rollout.steps' = [5, 50, 25, 100] must rise and end at 100" in text
    assert "'rollout.approve_before' holds 30" in text


def _log(rows):
    """A request-log table: (request_id, served version, probability)."""
    return pa.table({"request_id": [r[0] for r in rows], "model_version": [r[1] for r in rows],
                     "probability": [f"{r[2]:.6f}" for r in rows]})


def test_shadow_agreement_counts_equal_decisions_each_at_its_own_threshold():
    table = _log([("a-0", "10", 0.7), ("b-0", "10", 0.2), ("c-0", "10", 0.55), ("d-0", "10", 0.9)])
    said = {"a-0": ("30", 0.65), "b-0": ("30", 0.1), "c-0": ("30", 0.45), "x-0": ("30", 0.3), "d-0": ("30", None)}
    found = shadows.agreement(table, said, {"10": 0.5, "30": 0.5}, "binary")
    assert found["version"] == "30" and found["rows"] == 3 and found["failed"] == 1
    assert found["agreement"] == pytest.approx(2 / 3)  # c: served says 1, the shadow 0
    # At the shadow's own threshold of 0.4, it decides c as the served version did.
    assert shadows.agreement(table, said, {"10": 0.5, "30": 0.4}, "binary")["agreement"] == 1.0
    assert shadows.agreement(_log([("q-0", "10", 0.5)]), said, {}, "binary") is None


def test_the_shadows_online_f1_is_compared_on_the_same_rows_with_a_paired_interval():
    rng = np.random.default_rng(5)
    n = 400
    labels = rng.integers(0, 2, n)
    served = np.where(rng.random(n) < 0.7, labels, 1 - labels) * 0.6 + 0.2   # right 70% of the time
    ids = [f"r{i}-0" for i in range(n)]
    joined = {"kind": "binary", "versions": {"10": (labels, served)}, "ids": {"10": ids}}
    said = {rid: ("30", 0.8 if label else 0.2) for rid, label in zip(ids, labels)}   # always right
    found = shadows.online(joined, said, {"10": 0.5, "30": 0.5}, load_config())
    assert found["rows"] == n and found["shadow"] == 1.0 and found["served"] < 0.8
    assert found["difference"]["low"] > 0  # the shadow is better beyond noise, on the same rows
    assert "paired interval" in shadow_text(found)
