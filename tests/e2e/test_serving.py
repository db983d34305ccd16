"""`driftline serve` and `driftline rollout` for real: a server on loopback over the two
versions the challengers pushed (tests/e2e/conftest.py), TF Serving's REST and gRPC
clients, canary, promote, rollback and blue-green switch under load, corrupt versions,
bad requests, /metrics, the request log and the deployments in MLMD."""
import csv
import json
import shutil
import time

import grpc
import numpy as np
import pytest
import tensorflow as tf
import yaml

from serving_helpers import Served, b64, load, metric, write_probe

MODEL = "taxi_big_tipper"


@pytest.fixture(scope="module")
def served(runs, challengers, small_spans):
    work = runs["work"]
    config = work / "serve.toml"
    config.write_text((work / "base.toml").read_text() + "\n[serving]\npoll_seconds = 0.2\n")
    serving = work / "challenge" / "serving" / MODEL
    versions = sorted(int(p.name) for p in serving.iterdir())
    assert len(versions) == 2, versions  # base and reseeded; the undertrained one was not pushed
    server = Served(config, work)
    try:
        server.wait(versions=2)
        with open(small_spans / "span-3" / "data.csv") as f:
            rows = list(csv.DictReader(f))
        from test_pipeline import _raw_examples_from_rows

        examples = _raw_examples_from_rows(rows[:40])
        yield {"server": server, "config": config, "work": work, "serving": serving,
               "versions": versions, "examples": examples, "rows": rows[:40]}
    finally:
        server.stop()


def _rollout(driftline, served, *args):
    return driftline("rollout", *args, "--config", served["config"], "--server", served["server"].url,
                     cwd=served["work"], timeout=120)


def _in_process(served, version, examples):
    model = tf.saved_model.load(str(served["serving"] / str(version)))
    out = model.signatures["serving_default"](examples=tf.constant([e.SerializeToString() for e in examples]))
    return out["probabilities"].numpy().reshape(-1)


def test_rest_and_grpc_answer_what_the_savedmodel_answers(served):
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    server, examples = served["server"], served["examples"]
    for version in served["versions"]:
        expected = _in_process(served, version, examples)
        path = f"/v1/models/{MODEL}/versions/{version}:predict"
        status, row, headers = server.post(path, {"instances": [b64(e) for e in examples]})
        assert status == 200, row
        assert row["model_spec"]["version"] == str(version) and headers["x-model-version"] == str(version)
        assert np.allclose([r["probabilities"][0] for r in row["predictions"]], expected, atol=1e-6)
        status, column, _ = server.post(path, {"inputs": {"examples": [b64(e) for e in examples]}})
        assert np.allclose(np.asarray(column["outputs"]["probabilities"]).reshape(-1), expected, atol=1e-6)

        # The stub from tensorflow-serving-api, unmodified.
        stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc))
        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        request.model_spec.version.value = version
        request.inputs["examples"].CopyFrom(tf.make_tensor_proto([e.SerializeToString() for e in examples]))
        response = stub.Predict(request, timeout=30)
        assert response.model_spec.version.value == version
        assert np.allclose(tf.make_ndarray(response.outputs["probabilities"]).reshape(-1), expected, atol=1e-6)


def _feature_maps(rows):
    """CSV rows as :classify's JSON feature maps, each value of its schema type."""
    from e2e_helpers import typed_inputs

    return [typed_inputs(row) for row in rows]


def test_classify_takes_raw_feature_values(served):
    server, rows = served["server"], served["rows"][:5]
    maps = _feature_maps(rows)
    version = served["versions"][0]
    status, answer, _ = server.post(f"/v1/models/{MODEL}/versions/{version}:classify", {"examples": maps})
    assert status == 200, answer
    expected = _in_process(served, version, served["examples"][:5])
    scores = [dict(pairs)["1"] for pairs in answer["result"]]
    assert np.allclose(scores, expected, atol=1e-6)


def test_classify_decides_at_the_threshold_recorded_in_mlmd(served, challengers):
    """The decision :classify puts first, over REST and gRPC, is `probability >= t` for
    the threshold the Trainer chose and MLMD holds for that version, not one half."""
    from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc

    from e2e_helpers import recorded_threshold

    server, examples = served["server"], served["examples"]
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc))
    for version in served["versions"]:
        threshold = recorded_threshold(challengers["stores"]["base"], version)
        expected = _in_process(served, version, examples)
        decided = ["1" if p >= threshold else "0" for p in expected]
        status, answer, headers = server.post(f"/v1/models/{MODEL}/versions/{version}:classify",
                                              {"examples": _feature_maps(served["rows"])})
        assert status == 200, answer
        assert float(headers["x-operating-threshold"]) == threshold
        assert [pairs[0][0] for pairs in answer["result"]] == decided
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name = MODEL
        request.model_spec.version.value = version
        request.input.example_list.examples.extend(examples)
        response = stub.Classify(request, timeout=30)
        assert [c.classes[0].label for c in response.result.classifications] == decided


def _curl_posts(page):
    """The docs' `curl -X POST ... -d BODY` transcripts: (transcript, path, body bytes)."""
    from docs_transcripts import ROOT, matching

    for transcript in matching("curl -s -X POST", page):
        words = transcript.words()
        path = "/" + words[words.index("POST") + 1].split("/", 1)[1]
        body = words[words.index("-d") + 1]
        data = (ROOT / body[1:]).read_bytes() if body.startswith("@") else body.encode()
        yield transcript, path, data


def test_the_docs_request_errors_are_what_the_server_answers(served):
    """Each refused request the serving page shows gets, from the real server, the body
    the page prints; a ride from docs/examples is scored, with the answer's shape shown."""
    checked = 0
    for transcript, path, data in _curl_posts("serving.md"):
        status, body, _ = served["server"].post(path, None, raw=data)
        shown = json.loads(transcript.output[0])
        if "error" in shown:
            assert status == 400 and body == shown, (transcript.where, body)
            checked += 1
        else:
            assert status == 200 and set(body) == set(shown), (transcript.where, body)
            # The same classes; which comes first is the decision of the model that answers.
            assert sorted(label for label, _ in body["result"][0]) == sorted(label for label, _ in shown["result"][0])
    assert checked >= 3


def test_canary_splits_by_key_and_each_key_sticks(served, driftline):
    server, (stable, canary) = served["server"], served["versions"]
    switched = _rollout(driftline, served, "switch", "--to", stable, "--reason", "start from base")
    assert switched.returncode == 0, switched.stderr
    proc = _rollout(driftline, served, "canary", "--version", canary, "--percent", 10, "--reason", "try it")
    assert proc.returncode == 0, proc.stderr
    assert f"canary {canary} (green) at 10%" in proc.stdout or f"canary {canary} (blue) at 10%" in proc.stdout
    body = json.dumps({"instances": [b64(served["examples"][0])]}).encode()
    keys = [f"user-{i}" for i in range(5000)]
    answers = load(server.rest_port, f"/v1/models/{MODEL}:predict", [body], clients=16,
                   requests=10000, keys=keys)
    assert len(answers) == 10000 and all(status == 200 for _, _, status, _, _ in answers)
    by_key = {}
    for _, _, _, answer, key in answers:
        by_key.setdefault(key, set()).add(answer["model_spec"]["version"])
    assert all(len(v) == 1 for v in by_key.values())  # every key always the same version
    share = sum(a["model_spec"]["version"] == str(canary) for _, _, _, a, _ in answers) / len(answers)
    assert 0.09 <= share <= 0.11, share


def _version_of(served, key="anyone"):
    status, answer, _ = served["server"].post(f"/v1/models/{MODEL}:predict",
                                              {"instances": [b64(served["examples"][0])]},
                                              {"X-Request-Key": key})
    assert status == 200, answer
    return int(answer["model_spec"]["version"])


def test_promote_rollback_and_switch_show_in_the_answers(served, driftline):
    stable, canary = served["versions"]
    assert _rollout(driftline, served, "promote", "--reason", "holds up").returncode == 0
    assert {_version_of(served, f"k{i}") for i in range(30)} == {canary}
    assert _rollout(driftline, served, "rollback", "--reason", "second thoughts").returncode == 0
    assert {_version_of(served, f"k{i}") for i in range(200)} == {stable, canary}  # the canary again
    assert _rollout(driftline, served, "switch", "--to", stable, "--reason", "blue-green").returncode == 0
    assert {_version_of(served, f"k{i}") for i in range(30)} == {stable}


def test_a_switch_under_load_fails_no_request_and_leaves_nothing_on_the_old_version(served, driftline):
    import threading

    server, (old, new) = served["server"], served["versions"]
    assert _rollout(driftline, served, "switch", "--to", old, "--reason", "baseline").returncode in (0, 2)
    body = json.dumps({"instances": [b64(e) for e in served["examples"][:4]]}).encode()
    done, under_way = {}, threading.Event()

    def switch():
        under_way.wait(120)  # the load is running: 200 answers came back
        done["proc"] = _rollout(driftline, served, "switch", "--to", new, "--reason", "under load")
        done["at"], done["answered"] = time.monotonic(), answered["n"]

    answered = {"n": 0}
    thread = threading.Thread(target=switch)
    thread.start()
    answers = load(server.rest_port, f"/v1/models/{MODEL}:predict", [body], clients=32, seconds=300,
                   on_answer=lambda n: (answered.update(n=n), n >= 200 and under_way.set()),
                   until=lambda n: "answered" in done and n >= done["answered"] + 200)
    thread.join()
    assert done["proc"].returncode == 0, done["proc"].stderr
    failed = [a for _, _, status, a, _ in answers if status != 200]
    assert not failed, failed[:3]
    after = [a for started, _, _, a, _ in answers if started > done["at"]]
    assert after and {a["model_spec"]["version"] for a in after} == {str(new)}
    assert {a["model_spec"]["version"] for _, _, _, a, _ in answers} == {str(old), str(new)}


def test_a_corrupt_version_is_never_routed_to(served, driftline):
    server = served["server"]
    corrupt = served["serving"] / "9999999999"
    shutil.copytree(served["serving"] / str(served["versions"][0]), corrupt)
    (corrupt / "saved_model.pb").write_bytes(b"half a model")
    try:
        _wait_state(server, 9999999999, "FAILED", timeout=60)
        status = server.get(f"/v1/models/{MODEL}")["model_version_status"]
        assert next(s for s in status if s["version"] == "9999999999")["state"] == "FAILED"
        assert 9999999999 not in {_version_of(served, f"c{i}") for i in range(50)}
        code, answer, _ = server.post(f"/v1/models/{MODEL}/versions/9999999999:predict",
                                      {"instances": [b64(served["examples"][0])]})
        assert code == 404
        refused = _rollout(driftline, served, "canary", "--version", 9999999999, "--reason", "no")
        assert refused.returncode == 2
        assert "nothing was changed" in refused.stderr and "is not loaded by the server" in refused.stderr
    finally:
        shutil.rmtree(corrupt)


def test_paths_and_methods_outside_the_api_get_json_errors_and_head_probes_answer(served):
    import urllib.error
    import urllib.request

    url = served["server"].url

    def call(method, path):
        try:
            with urllib.request.urlopen(urllib.request.Request(url + path, method=method), timeout=10) as answer:
                return answer.status, answer.read(), answer.headers.get_content_type()
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get_content_type()

    assert call("HEAD", "/healthz") == (200, b"", "text/plain")
    assert call("GET", "/healthz")[:2] == (200, b"ok")
    status, body, kind = call("GET", "/no/such/path")
    assert (status, kind, json.loads(body)) == (404, "application/json",
                                                {"error": "Malformed request: GET /no/such/path"})
    status, body, kind = call("DELETE", "/metrics")
    assert (status, kind, json.loads(body)) == (405, "application/json",
                                                {"error": "Malformed request: DELETE /metrics"})
    status, body, _ = call("PUT", f"/v1/models/{MODEL}:predict")
    assert status == 405 and json.loads(body)["error"].startswith("Malformed request: PUT")
    # The server still answers a prediction after all of them.
    code, answer, headers = served["server"].post(f"/v1/models/{MODEL}:predict",
                                                  {"instances": [b64(served["examples"][0])]})
    assert code == 200 and len(answer["predictions"]) == 1 and headers["x-request-id"]


@pytest.mark.parametrize("path, body, raw, status, says", [
    (":predict", None, b"{not json", 400, "JSON Parse error"),
    (":predict", {"instances": []}, None, 400, "no rows"),
    (":predict", {"rows": []}, None, 400, "missing \"instances\" or \"inputs\""),
    (":classify", {"examples": [{"fare": "a lot"}]}, None, 400, "feature 'fare' = 'a lot' is not FLOAT"),
    (":classify", {"examples": [{"fare": 3.0, "fair": 1}]}, None, 400, "feature 'fair' is not a serving feature"),
    (":classify", {"examples": [{"tips": 1.0}]}, None, 400, "feature 'tips' is an outcome of the label"),
    (":classify", {"examples": [{"fare": 3.0}]}, None, 400, "required feature"),
    (":classify", {"examples": [{"fare": [1.0, 2.0]}]}, None, 400,
     "row 0: feature 'fare' holds 2 values (1, 2); the schema allows 1 per row"),
    (":classify", None, b'{"examples": [{"fare": NaN}]}', 400, "feature 'fare' = nan is not a finite number"),
    (":classify", None, b'{"examples": [{"fare": 1e999}]}', 400, "feature 'fare' = inf is not a finite number"),
    (":predict", "multi-valued", None, 400, "feature 'fare' holds 2 values"),
    (":predict", "int fare", None, 400, "feature 'fare' holds INT values where the schema says FLOAT"),
    ("/versions/1:predict", {"instances": [{"b64": "Z2FyYmFnZSE="}]}, None, 400, "not a serialized tf.Example"),
    ("/versions/1:predict", "example", None, 404, "Servable not found for request: Specific(taxi_big_tipper, 1)"),
    ("/labels/purple:predict", "example", None, 404, "Labeled(taxi_big_tipper, purple)"),
    (":predict", "too many", None, 400, "over the limit of 1000"),
    (":predict", None, b" " * (5 << 20), 413, "over the limit"),
])
def test_bad_requests_get_an_error_body_and_the_server_keeps_serving(served, path, body, raw, status, says):
    server = served["server"]
    before = server.get("/metrics")
    if body == "example":
        body = {"instances": [b64(served["examples"][0])]}
    elif body in ("multi-valued", "int fare"):
        example = tf.train.Example()
        example.CopyFrom(served["examples"][0])
        fare = example.features.feature["fare"]
        if body == "multi-valued":
            fare.float_list.value.append(2.0)
        else:
            fare.int64_list.value.append(int(fare.float_list.value[0]))
        body = {"instances": [b64(example)]}
    elif body == "too many":
        body = {"instances": [b64(served["examples"][0])] * 1001}
    code, answer, _ = server.post(f"/v1/models/{MODEL}{path}", body, raw=raw)
    assert code == status and set(answer) == {"error"} and says in answer["error"], answer
    after = server.get("/metrics")
    # Nothing was predicted, so nothing was logged or counted as a prediction.
    assert sum(metric(after, "driftline_predicted_rows_total", version=str(v)) for v in served["versions"]) == \
        sum(metric(before, "driftline_predicted_rows_total", version=str(v)) for v in served["versions"])
    assert _version_of(served) in served["versions"]


def _errors_counted(text: str, code: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("driftline_requests_total{") and f'code="{code}"' in line)


def test_a_bad_request_is_counted_where_the_error_rate_alert_sees_it(served):
    server = served["server"]
    before = _errors_counted(server.get("/metrics"), "400")
    code, answer, _ = server.post(f"/v1/models/{MODEL}:classify", {"examples": [{"fare": [1.0, 2.0]}]})
    assert code == 400
    assert _errors_counted(server.get("/metrics"), "400") == before + 1


def test_grpc_refuses_what_rest_refuses_as_invalid_argument(served):
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    server = served["server"]
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc))
    wrong_type = predict_pb2.PredictRequest()
    wrong_type.model_spec.name = MODEL
    wrong_type.inputs["examples"].CopyFrom(tf.make_tensor_proto([1.0, 2.0], dtype=tf.float32))
    example = tf.train.Example()
    example.CopyFrom(served["examples"][0])
    example.features.feature["fare"].float_list.value.append(float("nan"))
    multi = predict_pb2.PredictRequest()
    multi.model_spec.name = MODEL
    multi.inputs["examples"].CopyFrom(tf.make_tensor_proto([example.SerializeToString()]))
    for request, says in ((wrong_type, "the input 'examples' must be DT_STRING (serialized tf.Examples), "
                                       "is DT_FLOAT"),
                          (multi, "feature 'fare' holds 2 values")):
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(request, timeout=30)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value
        assert says in error.value.details()
    assert stub.Predict(_grpc_request(served), timeout=30).outputs["probabilities"].float_val


def _grpc_request(served):
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["examples"].CopyFrom(tf.make_tensor_proto([served["examples"][0].SerializeToString()]))
    return request


def test_a_value_outside_the_schema_domain_is_scored_and_counted(served):
    server = served["server"]
    example = tf.train.Example()
    example.CopyFrom(served["examples"][0])
    example.features.feature["fare"].float_list.value[0] = -5000.0  # the schema's minimum is 0
    before = server.get("/metrics")
    version = served["versions"][0]
    code, answer, _ = server.post(f"/v1/models/{MODEL}/versions/{version}:predict",
                                  {"instances": [b64(example)]})
    assert code == 200, answer
    after = server.get("/metrics")
    counted = metric(after, "driftline_out_of_domain_values_total", version=str(version), feature="fare") - \
        metric(before, "driftline_out_of_domain_values_total", version=str(version), feature="fare")
    assert counted == 1
    assert metric(after, "driftline_out_of_domain_values_total", version=str(version), feature="payment_type") == \
        metric(before, "driftline_out_of_domain_values_total", version=str(version), feature="payment_type")


def test_metrics_count_every_request_per_version(served):
    server, versions = served["server"], served["versions"]
    before = server.get("/metrics")
    sent = {versions[0]: 7, versions[1]: 3}
    for version, count in sent.items():
        for _ in range(count):
            server.post(f"/v1/models/{MODEL}/versions/{version}:predict",
                        {"instances": [b64(e) for e in served["examples"][:2]]})
    after = server.get("/metrics")
    for version, count in sent.items():
        for name, per_request in (("driftline_requests_total", 1), ("driftline_predicted_rows_total", 2)):
            delta = sum(metric(after, name, version=str(version), **extra) -
                        metric(before, name, version=str(version), **extra)
                        for extra in ({"slot": s} for s in ("blue", "green", "direct")))
            assert delta == count * per_request, (name, version, delta)
    assert metric(after, "driftline_version_available", version=str(versions[0]), state="AVAILABLE") == 1


def test_the_request_log_reads_as_serving_data(served, driftline):
    log_dir = served["work"] / "challenge" / "request-logs" / MODEL
    deadline = time.monotonic() + 20
    while not list(log_dir.glob("requests-*.csv")) and time.monotonic() < deadline:
        time.sleep(0.2)
    with open(sorted(log_dir.glob("requests-*.csv"))[0]) as f:
        rows = list(csv.DictReader(f))
    assert rows and {"payment_type", "fare", "model_version", "slot", "key", "probability",
                     "latency_ms", "request_id"} <= set(rows[0])
    assert "tips" not in rows[0]
    proc = driftline("drift", "--span", 3, "--serving-data", log_dir, "--config", served["config"],
                     "--json", cwd=served["work"], timeout=300)
    assert proc.returncode in (0, 3), proc.stderr
    assert json.loads(proc.stdout)["current_examples"] >= len(rows)


def test_every_change_is_a_deployment_in_mlmd_and_in_the_trace(served, driftline):
    proc = driftline("lineage", "deployments", "--config", served["config"], "--json", cwd=served["work"])
    found = json.loads(proc.stdout)
    actions = [d["action"] for d in found]
    assert {"canary", "promote", "rollback", "switch"} <= set(actions)
    canary = next(d for d in found if d["action"] == "canary")
    assert canary["canary_percent"] == 10.0 and canary["reason"] == "try it"
    trace = driftline("lineage", "trace", served["serving"] / str(served["versions"][1]),
                      "--config", served["config"], cwd=served["work"])
    assert trace.returncode == 0, trace.stderr
    assert "served          " in trace.stdout and "canary at 10%" in trace.stdout


def _faulty_version(directory):
    """A SavedModel that passes its load probe and fails at prediction for a negative fare
    (a TensorFlow assertion at run time): what a model whose graph breaks on some input
    does to a request."""
    class Faulty(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            fare = tf.io.parse_example(examples, {"fare": tf.io.FixedLenFeature([1], tf.float32)})["fare"]
            with tf.control_dependencies([tf.debugging.assert_non_negative(fare, message="negative fare")]):
                return {"probabilities": tf.sigmoid(tf.identity(fare))}

    module = Faulty()
    tf.saved_model.save(module, str(directory), signatures={"serving_default": module.serve})
    probe = tf.train.Example()
    probe.features.feature["fare"].float_list.value.append(1.0)
    write_probe(directory, probe)


def _wait_state(server, version, state, timeout=120):
    deadline = time.monotonic() + timeout
    while server.get("/v1/driftline/rollout")["versions"].get(str(version), {}).get("state") != state:
        assert time.monotonic() < deadline, f"version {version} did not become {state}"
        time.sleep(0.2)


def test_a_failure_inside_the_model_is_a_counted_json_500_and_a_push_takes_no_traffic(served, tmp_path):
    server = served["server"]
    faulty = served["serving"] / "9999999997"
    staged = tmp_path / "faulty"
    _faulty_version(staged)
    shutil.move(str(staged), str(faulty))
    try:
        _wait_state(server, 9999999997, "AVAILABLE")
        # Loaded, but no rollout decided it serves: the pinned policy keeps every key off it.
        assert 9999999997 not in {_version_of(served, f"p{i}") for i in range(100)}
        example = tf.train.Example()
        example.CopyFrom(served["examples"][0])
        example.features.feature["fare"].float_list.value[0] = -5000.0
        before = _errors_counted(server.get("/metrics"), "500")
        code, answer, _ = server.post(f"/v1/models/{MODEL}/versions/9999999997:predict",
                                      {"instances": [b64(example)]})
        assert code == 500 and set(answer) == {"error"}, answer
        assert answer["error"].startswith("internal error while predicting: InvalidArgumentError: ")
        assert _errors_counted(server.get("/metrics"), "500") == before + 1
        assert _version_of(served) in served["versions"]  # and it keeps serving
    finally:
        shutil.rmtree(faulty)


def test_the_first_version_loaded_is_pinned_and_recorded(served, driftline):
    from driftline.serving import policy as policies

    proc = driftline("lineage", "deployments", "--config", served["config"], "--json", cwd=served["work"])
    pins = [d for d in json.loads(proc.stdout) if d["action"] == "pin"]
    assert len(pins) == 1, pins
    assert pins[0]["reason"] == "the first version this server loaded"
    assert pins[0]["stable_version"] == max(served["versions"]) and pins[0]["revision"] == 1
    assert policies.read(served["serving"]).revision >= 1


def test_a_vanished_serving_directory_keeps_the_loaded_versions_serving(served, tmp_path):
    server, serving = served["server"], served["serving"]
    aside = serving.with_name(serving.name + ".aside")
    serving.rename(aside)
    try:
        deadline = time.monotonic() + 60
        while metric(server.get("/metrics"), "driftline_serving_dir_missing", model=MODEL) != 1:
            assert time.monotonic() < deadline, "the missing directory was not counted"
            time.sleep(0.2)
        assert _version_of(served) in served["versions"]
        assert {s["state"] for s in server.get(f"/v1/models/{MODEL}")["model_version_status"]
                if int(s["version"]) in served["versions"]} == {"AVAILABLE"}
    finally:
        aside.rename(serving)
    deadline = time.monotonic() + 60
    while metric(server.get("/metrics"), "driftline_serving_dir_missing", model=MODEL) != 0:
        assert time.monotonic() < deadline, "the returned directory was not noticed"
        time.sleep(0.2)
    log = (served["work"] / "challenge" / "logs" / "serve.log").read_text()
    assert f"the serving directory {serving} is gone; the versions already loaded" in log
    assert f"the serving directory {serving} is back" in log


def test_a_serving_dir_one_level_too_high_is_named_in_the_first_line(served):
    above = served["serving"].parent
    other = Served(served["config"], served["work"], extra=["--serving-dir", str(above)])
    try:
        first = other.proc.stdout.readline()
    finally:
        other.stop()
    assert first == (f"driftline: {above} holds no version directory; {served['serving']} holds "
                     f"{len(served['versions'])}: serve that?\n"), first


def test_concurrent_rollout_changes_are_applied_one_at_a_time(served, driftline):
    import subprocess
    import sys

    from driftline.serving import policy as policies

    server = served["server"]
    stable = server.get("/v1/driftline/rollout")["policy"]
    stable = stable["slots"][stable["live"]]
    other = next(v for v in served["versions"] if v != stable)
    before = policies.read(served["serving"])
    procs = [subprocess.Popen([sys.executable, "-m", "driftline", "rollout", "canary", "--version", str(other),
                               "--percent", str(percent), "--reason", f"at once {percent}",
                               "--config", str(served["config"]), "--server", server.url],
                              cwd=served["work"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for percent in (30, 40, 50)]
    results = [(p.wait(timeout=180), p.stdout.read(), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    revisions = sorted(int(out.split()[1].rstrip(":")) for _, out, _ in results)
    assert revisions == [before.revision + 1, before.revision + 2, before.revision + 3], results
    applied = server.get("/v1/driftline/rollout")["policy"]
    proc = driftline("lineage", "deployments", "--config", served["config"], "--json", cwd=served["work"])
    recorded = json.loads(proc.stdout)
    assert [d["revision"] for d in recorded[-3:]] == revisions
    assert recorded[-1]["canary_percent"] == applied["canary_percent"] and applied["revision"] == revisions[-1]

    # Rollbacks walk back through the three changes, then to what was before them.
    percents = [d["canary_percent"] for d in recorded[-3:]]
    routing = lambda p: (p["slots"], p["live"], p["canary_percent"])  # noqa: E731
    for expected in (percents[1], percents[0]):
        assert _rollout(driftline, served, "rollback", "--reason", "walk back").returncode == 0
        assert server.get("/v1/driftline/rollout")["policy"]["canary_percent"] == expected
    assert _rollout(driftline, served, "rollback", "--reason", "walk back").returncode == 0
    assert routing(server.get("/v1/driftline/rollout")["policy"]) == routing(before.to_json())


def test_trace_serving_answers_what_serves_since_when_and_by_which_blessing(served, driftline):
    policy = served["server"].get("/v1/driftline/rollout")["policy"]
    stable = policy["slots"][policy["live"]]
    other = next(v for v in served["versions"] if v != stable)
    if policy["canary_percent"]:
        assert _rollout(driftline, served, "switch", "--to", stable, "--reason", "all on one").returncode == 0
    proc = driftline("lineage", "trace", "serving", "--config", served["config"], cwd=served["work"])
    assert proc.returncode == 0, proc.stderr
    assert f"serving         version {stable} takes traffic since " in proc.stdout, proc.stdout
    assert "pushed by       the blessing #" in proc.stdout and "blessed         yes" in proc.stdout
    from docs_transcripts import assert_labels_shown

    assert_labels_shown("driftline lineage trace serving", "serving.md", proc.stdout)
    proc = driftline("lineage", "trace", served["serving"] / str(other), "--config", served["config"],
                     cwd=served["work"])
    assert proc.returncode == 0, proc.stderr
    assert f"stopped         version {other} took traffic from " in proc.stdout, proc.stdout


def test_a_canary_share_finer_than_the_routing_is_refused(served, driftline):
    stable = served["server"].get("/v1/driftline/rollout")["policy"]
    other = next(v for v in served["versions"] if v != stable["slots"][stable["live"]])
    for percent in ("1e-9", "99.999", "0"):
        proc = _rollout(driftline, served, "canary", "--version", other, "--percent", percent, "--reason", "x")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "must be between 0.01 and 99.99" in proc.stderr and "nothing was changed" in proc.stderr


def test_export_for_tf_serving_and_kserve(served, driftline, tmp_path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    proc = driftline("rollout", "export", "--config", served["config"], "--kserve", tmp_path / "isvc.yaml",
                     "--tf-serving", tmp_path / "models.config", cwd=served["work"])
    assert proc.returncode == 0, proc.stderr
    config = text_format.Parse((tmp_path / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    entry = config.model_config_list.config[0]
    assert entry.name == MODEL and entry.model_platform == "tensorflow"
    assert entry.version_labels["stable"] in served["versions"]
    assert list(entry.model_version_policy.specific.versions)
    service = yaml.safe_load((tmp_path / "isvc.yaml").read_text())
    # The fields and types of KServe's v1beta1 InferenceService that this file uses.
    assert service["apiVersion"] == "serving.kserve.io/v1beta1" and service["kind"] == "InferenceService"
    import re

    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", service["metadata"]["name"])
    predictor = service["spec"]["predictor"]
    assert isinstance(predictor["tensorflow"]["storageUri"], str)
    assert isinstance(predictor["minReplicas"], int)
    assert set(predictor) <= {"minReplicas", "tensorflow", "canaryTrafficPercent"}
    if "canaryTrafficPercent" in predictor:
        assert isinstance(predictor["canaryTrafficPercent"], int) and 0 <= predictor["canaryTrafficPercent"] <= 100


def test_retrain_hands_a_blessed_model_to_the_server_as_a_canary(served, driftline):
    """Last in this module: it pushes a third version into the shared `challenge` store."""
    import ml_metadata as mlmd

    from components.properties import value_of
    from pipeline import metadata

    work, server = served["work"], served["server"]
    config = work / "retrain.toml"
    # The judge is not what this is about: any model that can be computed is blessed.
    config.write_text((work / "base.toml").read_text()
                      + f"[serving]\npoll_seconds = 0.2\nrest_port = {server.rest_port}\n"
                      + "[evaluation]\nmin_auc = 0.0\nmin_f1 = 0.0\nmax_auc_drop = 1.0\n")
    before = server.get("/v1/driftline/rollout")["policy"]
    proc = driftline("retrain", "--fast", "--config", config, "--span", 4, "--reason", "skew on payment_type",
                     "--percent", 10, cwd=work, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = max(int(p.name) for p in served["serving"].iterdir() if p.name.isdigit())
    assert version not in served["versions"]
    assert f"retrain         version {version} is a canary at 10% beside stable {before['slots'][before['live']]}" \
        in proc.stdout, proc.stdout
    policy = server.get("/v1/driftline/rollout")["policy"]
    assert policy["canary_percent"] == 10 and version in policy["slots"].values()
    assert policy["slots"][policy["live"]] == before["slots"][before["live"]]  # stable unchanged

    store = mlmd.MetadataStore(metadata.sqlite_config(work / "challenge" / "metadata.sqlite", readonly=True))
    decisions = store.get_executions_by_type("driftline.Retraining")
    assert decisions, "the retraining decision is not in MLMD"
    last = {k: value_of(v) for k, v in max(decisions, key=lambda e: e.id).properties.items()}
    assert last["outcome"] == "canary at 10%" and last["pushed_version"] == str(version)
    assert last["reason"] == "skew on payment_type" and last["trigger"] == "manual"
    deployment = store.get_executions_by_id([last["canary_deployment"]])[0]
    assert value_of(deployment.properties["action"]) == "canary"
    assert value_of(deployment.properties["canary_version"]) == version

    # The same data again, only the gate's settings changed: the Trainer reuses its model,
    # which is the canary already. Nothing is pushed again and nothing changes.
    again = work / "retrain-again.toml"
    again.write_text(config.read_text().replace("max_auc_drop = 1.0", "max_auc_drop = 0.99"))
    revision = server.get("/v1/driftline/rollout")["policy"]["revision"]
    proc = driftline("retrain", "--fast", "--config", again, "--span", 4, "--reason", "again",
                     "--percent", 10, cwd=work, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"retrain         the run's model is version {version} again, the canary" in proc.stdout, proc.stdout
    assert "nothing changed" in proc.stdout and "(already there: the same model as before" in proc.stdout
    assert max(int(p.name) for p in served["serving"].iterdir() if p.name.isdigit()) == version
    assert server.get("/v1/driftline/rollout")["policy"]["revision"] == revision
