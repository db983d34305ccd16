"""The dashboard's rollout and shadow sections, drawn from MLMD-shaped history: where the
newest rollout change left things (step, pause, shadow), every step decision, and the
shadow's agreement over time."""
import json

from driftline.monitoring import dashboard


def _deployment(t, action, canary=None, percent=0.0, steps=(), step=-1, paused="", shadow=None, share=0.0):
    policy = {"steps": list(steps), "step": step}
    return {"execution": t, "time_ms": t * 1000, "revision": t, "action": action, "reason": action,
            "stable_version": 10, "canary_version": canary, "canary_percent": percent,
            "policy": json.dumps(policy), "shadow_version": shadow, "shadow_percent": share, "paused": paused}


def _history():
    passes = [{"execution": i, "time": 1_800_000_000 + i * 60,
               "result": {"judged": True, "rows": 500, "alarms": [], "versions": {},
                          "shadow": {"version": "30", "rows": 400, "agreement": a, "distance": 0.1, "failed": 0}}}
              for i, a in enumerate((0.97, 0.95, 0.72))]
    deployments = [_deployment(1, "shadow", shadow=30, share=100.0),
                   _deployment(2, "canary", 20, 10.0, (10.0, 50.0, 100.0), 0, shadow=30, share=100.0),
                   _deployment(3, "pause", 20, 10.0, (10.0, 50.0, 100.0), 0, paused="inconclusive after 300 requests",
                               shadow=30, share=100.0)]
    steps = [{"time_ms": 3000, "pushed_version": "20", "outcome": "paused",
              "reason": "inconclusive after 300 requests: needs about 41 more labelled requests",
              "details": {"share": 10.0, "verdict": "inconclusive"}}]
    return {"passes": passes, "outcomes": [], "deployments": deployments, "steps": steps}


def test_the_rollout_section_shows_the_step_the_pause_and_the_shadow():
    found = _history()
    state = dashboard.rollout_state(found)
    assert state == ("stable 10, canary 20 at 10% (step 1 of 3: 10% → 50% → 100%), shadow 30 on 100% of "
                     "requests; PAUSED for a person: inconclusive after 300 requests")
    images = dashboard.charts(found)
    assert "shadow.png" in images and images["shadow.png"].startswith(b"\x89PNG")
    page = dashboard.page("m", found, images)
    assert "<h2>Rollout</h2>" in page and "needs about 41 more labelled requests" in page
    assert "<td>inconclusive</td><td>paused</td>" in page
    assert "alt='shadow.png'" in page


def test_without_a_rollout_or_shadow_the_sections_say_so():
    found = {"passes": [], "outcomes": [], "deployments": [], "steps": []}
    page = dashboard.page("m", found, dashboard.charts(found))
    assert "no rollout change recorded yet" in page and "No canary step analysed yet." in page
    assert "No shadow version has scored requests." in page
