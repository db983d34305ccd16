"""`driftline replay --fast` on the real spans: the first model serves span 2's requests,
the data moves, and the loop runs on its own through the real server: an alarm held
for windows in a row and a newer labelled span start a retrain, the model becomes a
canary, and its online metrics promote it or roll it back. Every decision is in MLMD;
`lineage trace` of the model serving at the end reaches its canary decision, its
training run and the sha256 of its CSV files; the timeline report is drawn."""
import re
from pathlib import Path
from types import SimpleNamespace

import ml_metadata as mlmd
import numpy as np
import pytest

from driftline.autopilot import retraining
from driftline.serving import policy as policies
from pipeline import metadata
from pipeline.inputs import sha256_of

MODEL = "taxi_big_tipper"


@pytest.fixture(scope="module")
def replayed():
    import background_jobs  # started when the tests were collected (tests/conftest.py)

    code, stdout, stderr, directory = background_jobs.wait("replay", timeout=1500)
    assert code == 0, stdout + stderr
    proc = SimpleNamespace(returncode=code, stdout=stdout, stderr=stderr)
    store = mlmd.MetadataStore(metadata.sqlite_config(directory / "run" / "metadata.sqlite", readonly=True))
    return {"dir": directory, "proc": proc, "store": store,
            "decisions": retraining.history(store, MODEL),
            "policy": policies.read(directory / "run" / "serving" / MODEL)}


def test_the_loop_retrains_on_drift_then_judges_the_canary_on_its_online_metrics(replayed):
    decisions = replayed["decisions"]
    retrains = [d for d in decisions if d["trigger"] in ("skew", "drift") and d["outcome"].startswith("canary at")]
    assert retrains, decisions
    retrain = retrains[0]
    assert "consecutive windows" in retrain["reason"] and "is newer than span" in retrain["reason"]
    assert retrain["run"] and retrain["canary_deployment"] > 0
    verdicts = [d for d in decisions if d["trigger"] == "canary" and d["pushed_version"] == retrain["pushed_version"]]
    assert verdicts, decisions
    # configs/replay.toml's steps: 25% → 50% → 100%; every decision but the last is a step.
    *stepped, verdict = verdicts
    assert all(d["outcome"].startswith("step to ") and d["details"]["verdict"] == "promote" for d in stepped)
    assert verdict["outcome"] in ("promoted", "aborted", "paused") or verdict["outcome"].startswith("step to ")
    details = verdict["details"]
    assert details["verdict"] in ("promote", "abort", "inconclusive") and details["share"] in (25.0, 50.0)
    if verdict["outcome"] != "paused":  # a pause may come before enough outcomes
        assert details["canary_labelled"] >= 150  # configs/replay.toml's canary_min_labelled
        assert "online F1" in verdict["reason"] and "p99 latency" in verdict["reason"]
    # What the verdicts did is what serves at the end.
    final = replayed["policy"]
    if verdict["outcome"] == "promoted":
        assert final.stable == int(retrain["pushed_version"]) and final.canary is None
    elif verdict["outcome"] == "aborted":
        assert final.stable == details["stable"] and final.canary is None
    else:
        assert final.canary == int(retrain["pushed_version"]) and final.paused == (verdict["outcome"] == "paused")
    out = replayed["proc"].stdout
    assert f"DECISION        canary {retrain['pushed_version']} {verdict['outcome']}" in out
    assert "retrain on span" in out


def test_a_held_alarm_without_a_newer_span_waits_and_trains_nothing(replayed):
    """A held alarm with no newer labelled span is recorded as a wait, never a run."""
    decisions = replayed["decisions"]
    first_retrain = next(d for d in decisions if d["outcome"].startswith("canary at"))
    for d in decisions:
        if d["outcome"].startswith("waiting"):
            assert "no span newer than span" in d["outcome"] and not d["run"]
    assert first_retrain["details"]["newest_span"] > first_retrain["details"]["trained_span"]


def test_lineage_trace_of_the_serving_model_reaches_its_decision_run_and_data(replayed, driftline):
    directory, final = replayed["dir"], replayed["policy"]
    pushed = directory / "run" / "serving" / MODEL / str(final.stable)
    proc = driftline("lineage", "trace", pushed, "--output-dir", directory / "run")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert re.search(r"^decision .* canary: (promoted|aborted|paused|step to \d+%) ", text, re.M), text
    run = re.search(r"^run\s+(\S+)", text, re.M).group(1)
    context = replayed["store"].get_context_by_type_and_name(metadata.RUN_CONTEXT, run)
    assert context is not None
    for line in re.findall(r"^data\s+span \d+: (\S+) sha256 (\w+)", text, re.M):
        path, digest = line
        assert sha256_of(Path(path)) == digest
    assert re.search(r"^data\s+span \d+: ", text, re.M)


def test_the_timeline_shows_every_decision_and_is_drawn(replayed):
    from PIL import Image

    page = (replayed["dir"] / "timeline" / "index.html").read_text()
    for d in replayed["decisions"]:
        assert d["outcome"].split(":")[0] in page
    assert "span 2 labelled" in page
    steps = [d for d in replayed["decisions"] if d["outcome"].startswith("step to ")]
    assert all(f"canary {d['pushed_version']} at " in page for d in steps)  # each step's rollout change
    image = np.asarray(Image.open(replayed["dir"] / "timeline" / "timeline.png").convert("L"), dtype=float)
    assert image.shape[0] > 400 and image.std() > 10  # not blank


def test_the_replay_checks_its_estimates_against_the_realized_f1_and_reports_them(replayed):
    """Each window's F1 estimated before its outcomes is set beside the F1 they realized
    when they arrived (one window later), recorded in MLMD with the outcome pass, and
    the replay's report sums them up."""
    import html

    from driftline.monitoring import dashboard
    from driftline.views import estimates

    history = dashboard.history(replayed["store"], MODEL)
    checks = [c for o in history["outcomes"] for c in o["result"].get("estimate_checks") or []]
    estimated = {p["execution"] for p in history["passes"] if p["result"].get("estimated_performance")}
    assert len(checks) >= 5 and {c["pass"] for c in checks} <= estimated
    assert len({c["pass"] for c in checks}) == len(checks)  # each window checked once
    for c in checks:
        assert c["error"] == pytest.approx(c["estimated"]["value"] - c["realized"])
        assert c["covered"] == (c["estimated"]["low"] <= c["realized"] <= c["estimated"]["high"])
    line = f"estimates       {estimates.summary_text(estimates.summary(checks))}"
    assert line in replayed["proc"].stdout.splitlines(), replayed["proc"].stdout[-2000:]
    assert estimates.summary(checks)["mean_absolute_error"] < 0.15
    page = (replayed["dir"] / "timeline" / "index.html").read_text()
    assert "<th>F1 estimated (interval), realized</th>" in page and "<th>domain AUC (interval)</th>" in page
    assert html.escape(estimates.summary_text(estimates.summary(checks))) in page
