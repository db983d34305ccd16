"""Progressive canaries and shadows through the real `driftline serve`, `driftline rollout`
and the watcher's decisions (the code `driftline monitor --watch` runs), over the two
versions the challengers pushed (tests/e2e/conftest.py), on a copy of their serving
directory with its own policy, request log and outcomes.

The outcomes decide which version is better: each labelled request's outcome is written
from the decision the version that answered it made, or its opposite. So a canary that
was right on every labelled request and one that was wrong on every one are known
before the analysis runs, and so is a canary with too few outcomes to tell.
"""
import csv
import http.client
import json
import shutil
import time

import pytest

from serving_helpers import Served, metric, write_probe

MODEL = "taxi_big_tipper"
STEPS_SETTINGS = """
[serving]
poll_seconds = 0.2
log_dir = "{log}"
[monitoring]
p99_latency_ms = 60000.0
[retraining]
outcomes_dir = "{outcomes}"
canary_min_labelled = 40
[rollout]
steps = [25.0, 50.0, 100.0]
max_step_requests = 80
approve_before = ["promote"]
"""


@pytest.fixture(scope="module")
def stepped(runs, challengers, small_spans, tmp_path_factory):
    from e2e_helpers import typed_inputs

    work = runs["work"]
    serving = tmp_path_factory.mktemp("steps") / MODEL
    shutil.copytree(work / "challenge" / "serving" / MODEL, serving)
    for leftover in ("steps-log", "steps-outcomes"):
        shutil.rmtree(work / leftover, ignore_errors=True)
    config = work / "steps.toml"
    config.write_text((work / "base.toml").read_text() + STEPS_SETTINGS.format(
        log=work / "steps-log", outcomes=work / "steps-outcomes"))
    with open(small_spans / "span-3" / "data.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["payment_type"] == "Credit Card"]
    assert len(rows) >= 150, len(rows)
    ctx = {"work": work, "config": config, "serving": serving, "maps": [typed_inputs(r) for r in rows], "rows": rows,
           "server": Served(config, work, extra=("--serving-dir", serving))}
    try:
        state = ctx["server"].wait(versions=2)
        ctx["versions"] = sorted(int(v) for v in state["versions"])
        yield ctx
    finally:
        ctx["server"].stop()


def _cli(driftline, ctx, *args):
    return driftline("rollout", *args, "--config", ctx["config"], "--server", ctx["server"].url,
                     "--serving-dir", ctx["serving"], cwd=ctx["work"], timeout=180)


def _policy(ctx):
    from driftline.serving import policy as policies

    return policies.read(ctx["serving"])


def _send(ctx, count: int, tag: str):
    """`count` one-row :classify requests keyed `tag-i` on one keep-alive connection;
    returns [(request id of the row, answering version, decided class, raw body)]."""
    connection = http.client.HTTPConnection("127.0.0.1", ctx["server"].rest_port, timeout=60)
    maps, sent = ctx["maps"], []
    for i in range(count):
        body = json.dumps({"examples": [maps[i % len(maps)]], "key": f"{tag}-{i}"})
        connection.request("POST", f"/v1/models/{MODEL}:classify", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        assert response.status == 200, raw
        answer = json.loads(raw)
        decided = int(answer["result"][0][0][0])
        sent.append((response.getheader("X-Request-Id") + "-0", int(response.getheader("X-Model-Version")),
                     decided, raw))
    connection.close()
    _wait_logged(ctx, {rid for rid, _, _, _ in sent})
    return sent


def _wait_logged(ctx, ids, timeout=60):
    """The server logs off the request path: wait for the rows, not for a time."""
    from driftline.monitoring.window import read_log

    deadline = time.monotonic() + timeout
    while True:
        try:
            table, _ = read_log(ctx["work"] / "steps-log")
            if ids <= set(table.column("request_id").to_pylist()):
                return
        except Exception:  # noqa: BLE001 - no file yet
            pass
        assert time.monotonic() < deadline, "the request log did not receive the rows"
        time.sleep(0.1)


def _outcomes(ctx, name: str, sent, right_for: dict, only=None):
    """An outcome file: each request's label is the answering version's decision when
    right_for[version] is true, its opposite otherwise; `only(i, version)` picks rows."""
    from driftline.config import load_config
    from pipeline.inputs import resolve_task

    label = resolve_task(load_config(ctx["config"])).label_name
    directory = ctx["work"] / "steps-outcomes"
    directory.mkdir(exist_ok=True)
    temporary = directory / f".{name}.tmp"
    with open(temporary, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["request_id", label])
        for i, (rid, version, decided, _) in enumerate(sent):
            if only is None or only(i, version):
                writer.writerow([rid, decided if right_for[version] else 1 - decided])
    temporary.replace(directory / f"{name}.csv")


def _decide(ctx):
    """One decision of the watcher, in this process, against the real server."""
    from driftline.autopilot.watcher import Watcher
    from driftline.config import load_config
    from driftline.mlmd.store import open_for_recording
    from driftline.monitoring.window import read_log
    from driftline.schema.check import load_schema
    from driftline.serving.rollout import Target

    config = load_config(ctx["config"])
    store = open_for_recording(config)
    said = []
    pilot = Watcher(config, load_schema(config.schema_file), store,
                    Target(MODEL, ctx["serving"], ctx["server"].url, store), config.request_log_dir, said.append,
                    dashboard=False)
    table, _ = read_log(config.request_log_dir)
    return pilot.decide(table), "\n".join(said)


def test_a_canary_no_worse_goes_step_by_step_and_waits_for_approval_before_promotion(stepped, driftline):
    stable, canary = max(stepped["versions"]), min(stepped["versions"])
    assert _policy(stepped).stable == stable
    started = _cli(driftline, stepped, "canary", "--version", canary, "--reason", "a challenger")
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"canary {canary}" in started.stdout and "at 25% (step 1 of 3: 25% → 50% → 100%)" in started.stdout
    sent = _send(stepped, 300, "better")
    assert {v for _, v, _, _ in sent} == {stable, canary}
    _outcomes(stepped, "better-25", sent, {stable: True, canary: True})
    decision, said = _decide(stepped)
    assert decision["outcome"] == "step to 50%" and decision["verdict"] == "promote", said
    assert _policy(stepped).canary_percent == 50.0 and _policy(stepped).step == 1
    # The next step is analysed on its own requests only.
    decision, said = _decide(stepped)
    assert decision is None and "the canary has 0 labelled requests in this step" in said, said
    sent = _send(stepped, 200, "better-50")
    _outcomes(stepped, "better-50", sent, {stable: True, canary: True})
    decision, said = _decide(stepped)
    # The analysis passed, but [rollout] approve_before holds promotion for a person.
    assert decision["outcome"] == "paused" and "approve_before holds the step to 100%" in decision["reason"], said
    assert _policy(stepped).paused and _policy(stepped).canary == canary
    again, said = _decide(stepped)
    assert again is None and "waits for a person" in said
    status = _cli(driftline, stepped, "status")
    assert "waits for: a person" in status.stdout and "[50%]" in status.stdout, status.stdout
    approved = _cli(driftline, stepped, "approve", "--reason", "looked at the dashboard")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert _policy(stepped).stable == canary and _policy(stepped).canary is None
    assert "(approve: approved by a person: looked at the dashboard)" in approved.stdout


def test_a_worse_canary_is_aborted_and_the_stable_version_keeps_all_traffic(stepped, driftline):
    stable, canary = min(stepped["versions"]), max(stepped["versions"])  # promoted above
    assert _cli(driftline, stepped, "canary", "--version", canary).returncode == 0
    sent = _send(stepped, 300, "worse")
    _outcomes(stepped, "worse", sent, {stable: True, canary: False})
    decision, said = _decide(stepped)
    assert decision["outcome"] == "aborted" and decision["verdict"] == "abort", said
    assert "is worse by more than 0.05, beyond noise" in decision["reason"]
    policy = _policy(stepped)
    assert policy.canary is None and policy.stable == stable and policy.action == "abort"
    assert {v for _, v, _, _ in _send(stepped, 40, "after-abort")} == {stable}


def test_too_few_outcomes_pause_the_rollout_which_survives_a_restart_until_a_person_approves(stepped, driftline):
    stable, canary = min(stepped["versions"]), max(stepped["versions"])
    assert _cli(driftline, stepped, "canary", "--version", canary).returncode == 0
    sent = _send(stepped, 400, "thin")
    canary_rows = [i for i, (_, v, _, _) in enumerate(sent) if v == canary]
    assert len(canary_rows) > 80  # past max_step_requests
    _outcomes(stepped, "thin", sent, {stable: True, canary: True},
              only=lambda i, v: v == stable or i in canary_rows[:5])
    decision, said = _decide(stepped)
    assert decision["outcome"] == "paused" and decision["verdict"] == "inconclusive", said
    assert "needs 35 more labelled requests" in decision["reason"] and "inconclusive after" in decision["reason"]
    assert metric(stepped["server"].get("/metrics"), "driftline_rollout_paused", model=MODEL) == 1.0
    assert metric(stepped["server"].get("/metrics"), "driftline_rollout_step", model=MODEL) == 1.0
    # A restarted server and watcher find the rollout where it stood: paused, at 25%.
    stepped["server"].stop()
    stepped["server"] = Served(stepped["config"], stepped["work"], extra=("--serving-dir", stepped["serving"]))
    stepped["server"].wait(versions=2)
    decision, said = _decide(stepped)
    assert decision is None and f"version {canary} at 25% waits for a person" in said
    policy = _policy(stepped)
    assert policy.canary == canary and policy.canary_percent == 25.0 and policy.paused
    assert {v for _, v, _, _ in _send(stepped, 60, "still-paused")} == {stable, canary}
    approved = _cli(driftline, stepped, "approve", "--reason", "enough seen")
    assert approved.returncode == 0, approved.stderr
    assert _policy(stepped).canary_percent == 50.0 and not _policy(stepped).paused
    refused = _cli(driftline, stepped, "approve")
    assert refused.returncode != 0 and "is not waiting for approval" in refused.stderr
    aborted = _cli(driftline, stepped, "abort", "--reason", "not today")
    assert aborted.returncode == 0 and _policy(stepped).canary is None


def test_every_step_pause_approval_and_abort_is_in_mlmd_and_the_trace(stepped, driftline):
    from driftline.config import load_config
    from driftline.mlmd import decisions, deployments
    from driftline.mlmd.store import open_for_recording

    store = open_for_recording(load_config(stepped["config"]))
    actions = [d["action"] for d in deployments.history(store, MODEL)]
    for action in ("canary", "step", "pause", "approve", "abort"):
        assert action in actions, actions
    outcomes = [d["outcome"] for d in decisions.history(store, MODEL) if d["trigger"] == "canary"]
    assert {"step to 50%", "paused", "aborted"} <= set(outcomes), outcomes
    canary = max(stepped["versions"])
    trace = driftline("lineage", "trace", stepped["work"] / "challenge" / "serving" / MODEL / str(canary),
                      "--config", stepped["config"], cwd=stepped["work"])
    assert trace.returncode == 0, trace.stderr
    assert "(pause): canary at 25%" in trace.stdout and "canary: aborted" in trace.stdout


def test_a_shadow_changes_no_answer_and_logs_its_prediction_by_request_id(stepped, driftline):
    stable, shadow = min(stepped["versions"]), max(stepped["versions"])
    assert _policy(stepped).stable == stable and _policy(stepped).canary is None
    without = _send(stepped, 2000, "same")
    started = _cli(driftline, stepped, "shadow", "--version", shadow, "--percent", 100, "--reason", "watch it")
    assert started.returncode == 0, started.stderr
    assert f"shadow {shadow} on 100% of requests" in started.stdout
    shadowed = _send(stepped, 2000, "same")
    assert [raw for *_, raw in shadowed] == [raw for *_, raw in without]  # byte for byte
    said = _wait_shadowed(stepped, {rid for rid, *_ in shadowed})
    assert {said[rid][0] for rid, *_ in shadowed} == {str(shadow)} and all(said[rid][1] is not None
                                                                          for rid, *_ in shadowed)
    # What the shadow logged is what it answers when asked directly.
    first = stepped["maps"][0]
    status, answer, _ = stepped["server"].post(f"/v1/models/{MODEL}/versions/{shadow}:classify",
                                               {"examples": [first]})
    assert status == 200
    assert said[shadowed[0][0]][1] == pytest.approx(dict(answer["result"][0])["1"], abs=1e-5)
    scored = metric(stepped["server"].get("/metrics"), "driftline_shadow_rows_total", model=MODEL,
                    version=str(shadow), outcome="scored")
    assert scored >= 2000
    # gRPC's Predict is shadowed too.
    _grpc_predict(stepped, 3)
    deadline = time.monotonic() + 60
    while metric(stepped["server"].get("/metrics"), "driftline_shadow_rows_total", model=MODEL,
                 version=str(shadow), outcome="scored") < scored + 3:
        assert time.monotonic() < deadline, "the gRPC request's rows were not shadowed"
        time.sleep(0.1)


def _grpc_predict(ctx, rows: int):
    """One Predict through the unmodified tensorflow-serving-api stub, routed by the policy."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from e2e_helpers import raw_example

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(ctx["server"].grpc))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["examples"].CopyFrom(tf.make_tensor_proto(
        [raw_example(row).SerializeToString() for row in ctx["rows"][:rows]]))
    response = stub.Predict(request, timeout=30)
    assert tf.make_ndarray(response.outputs["probabilities"]).size == rows


def _wait_shadowed(ctx, ids, timeout=600):
    from driftline.monitoring import shadow as shadows

    deadline = time.monotonic() + timeout
    while True:
        said = shadows.read(ctx["work"] / "steps-log")
        if ids <= set(said):
            return said
        # The queue holds far more than a test sends: a drop is a defect, not a wait.
        dropped = metric(ctx["server"].get("/metrics"), "driftline_shadow_rows_total", model=MODEL,
                         outcome="dropped")
        assert dropped == 0, f"the shadow dropped {dropped:g} rows"
        assert time.monotonic() < deadline, f"{len(ids - set(said))} shadowed rows never reached the shadow log"
        time.sleep(0.2)


def test_monitor_reports_the_shadows_agreement_and_the_trace_shows_it(stepped, driftline):
    shadow = max(stepped["versions"])
    # The newest 2,001 rows: the 2,000 shadowed and the one asked of the shadow version directly.
    proc = driftline("monitor", "--config", stepped["config"], "--window", 2001, "--json", cwd=stepped["work"],
                     timeout=300)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    found = result["shadow"]
    assert found["version"] == str(shadow) and found["rows"] == 2000 and found["failed"] == 0
    assert 0.0 <= found["agreement"] <= 1.0 and found["distance"] is not None
    _estimated_or_refused(stepped, result)
    gauge = metric(stepped["server"].get("/metrics"), "driftline_shadow_agreement", model=MODEL,
                   version=str(shadow))
    assert gauge == pytest.approx(found["agreement"])
    trace = driftline("lineage", "trace", stepped["work"] / "challenge" / "serving" / MODEL / str(shadow),
                      "--config", stepped["config"], cwd=stepped["work"])
    assert "shadow on 100% of requests, answering none" in trace.stdout, trace.stdout
    assert "shadowed        " in trace.stdout and f"{found['agreement']:.1%} of decisions" in trace.stdout


def _estimated_or_refused(ctx, result):
    """The answering version's performance is estimated from its probabilities when the
    gate found it calibrated, and refused naming its calibration error otherwise."""
    from driftline.config import load_config
    from driftline.mlmd.store import open_for_recording
    from driftline.monitoring.baseline import trained

    config = load_config(ctx["config"])
    for version, info in result["versions"].items():
        if not info["judged"]:
            continue
        error = trained(open_for_recording(config), config.pipeline_name, version).calibration_error
        if error <= config.monitoring.max_calibration_error:
            found = info["estimated_performance"]
            assert set(found["metrics"]) == {"f1_score", "precision", "recall", "auc"}
            assert all(m["low"] <= m["value"] <= m["high"] for m in found["metrics"].values()), found
            assert found["calibration_error"] == error
        else:
            assert f"expected calibration error {error:.3f}" in info["estimate_note"]
    estimated = [v for v, i in result["versions"].items() if "estimated_performance" in i]
    if estimated:  # the window's block is the busiest estimated version's
        assert result["estimated_performance"]["version"] in estimated
    else:
        assert "estimated_performance" not in result


def test_a_shadow_that_fails_on_every_request_fails_none(stepped, driftline, tmp_path):
    faulty = 9999999996
    staged = tmp_path / "faulty"
    _always_failing_version(staged)
    shutil.move(str(staged), str(stepped["serving"] / str(faulty)))
    try:
        _wait_available(stepped, faulty)
        assert _cli(driftline, stepped, "shadow", "--version", faulty).returncode == 0
        sent = _send(stepped, 200, "faulty-shadow")  # every one answered 200 (asserted inside)
        said = _wait_shadowed(stepped, {rid for rid, *_ in sent})
        assert all(said[rid] == (str(faulty), None) for rid, *_ in sent)
        failed = metric(stepped["server"].get("/metrics"), "driftline_shadow_rows_total", model=MODEL,
                        version=str(faulty), outcome="failed")
        assert failed >= 200
    finally:
        _cli(driftline, stepped, "shadow", "--stop")
        shutil.rmtree(stepped["serving"] / str(faulty), ignore_errors=True)


def _wait_available(ctx, version, timeout=120):
    deadline = time.monotonic() + timeout
    while ctx["server"].get("/v1/driftline/rollout")["versions"].get(str(version), {}).get("state") != "AVAILABLE":
        assert time.monotonic() < deadline, f"version {version} did not load"
        time.sleep(0.2)


def _always_failing_version(directory):
    """A SavedModel whose probe carries a feature no request has: it loads, and raises on
    every request (a parse error on the missing feature)."""
    import tensorflow as tf

    class Failing(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            marker = tf.io.parse_example(examples, {"probe_only": tf.io.FixedLenFeature([1], tf.float32)})
            return {"probabilities": tf.sigmoid(marker["probe_only"])}

    module = Failing()
    tf.saved_model.save(module, str(directory), signatures={"serving_default": module.serve})
    probe = tf.train.Example()
    probe.features.feature["probe_only"].float_list.value.append(1.0)
    write_probe(directory, probe)
