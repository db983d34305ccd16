"""A real `driftline serve` on loopback, for the serving and monitoring tests."""
import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from driftline.autopilot.replay import free_port  # noqa: F401 - test_monitor imports it from here


class Served:
    """`driftline serve` in a subprocess on free loopback ports; stopped by stop()."""

    def __init__(self, config: Path, cwd: Path, extra=()):
        self.rest_port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.rest_port}"
        self.grpc = f"127.0.0.1:{self.grpc_port}"
        self.config, self.cwd = config, cwd
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "driftline", "serve", "--config", str(config),
             "--rest-port", str(self.rest_port), "--grpc-port", str(self.grpc_port), *extra],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait(self, versions: int, timeout: float = 240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited {self.proc.returncode}: "
                                     f"{self.proc.stdout.read()}{self.proc.stderr.read()}")
            try:
                state = self.get("/v1/driftline/rollout")
                if sum(v["state"] in ("AVAILABLE", "FAILED") for v in state["versions"].values()) >= versions:
                    return state
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise AssertionError("the server did not load its versions in time")

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            body = response.read()
            return json.loads(body) if response.headers.get_content_type() == "application/json" else body.decode()

    def post(self, path: str, body, headers=None, raw: bytes = None):
        """(status, JSON body, headers) of a POST, errors included."""
        data = raw if raw is not None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read()), _lower(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), _lower(error.headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def b64(example) -> dict:
    return {"b64": base64.b64encode(example.SerializeToString()).decode()}


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample of a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class Client:
    """A keep-alive HTTP connection, one per thread of a load test."""

    def __init__(self, port: int):
        import http.client

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes, headers=None):
        self.connection.request("POST", path, body=body,
                                headers={"Content-Type": "application/json", **(headers or {})})
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())


def load(port: int, path: str, bodies, clients: int, seconds: float = None, requests: int = None,
         keys=None, on_answer=None, until=None):
    """Sends requests from `clients` threads until `seconds` pass, `requests` are sent, or
    `until(answered)` says so. `on_answer(answered)` is called after each answer.
    Returns [(started, finished, status, answer, key)] of every request."""
    import itertools
    import threading

    results, lock = [], threading.Lock()
    counter = itertools.count()
    deadline = time.monotonic() + seconds if seconds else None

    def work():
        client = Client(port)
        while True:
            index = next(counter)
            if (requests is not None and index >= requests) or (deadline and time.monotonic() > deadline) \
                    or (until is not None and until(len(results))):
                return
            key = keys[index % len(keys)] if keys else None
            started = time.monotonic()
            try:
                status, answer = client.post(path, bodies[index % len(bodies)],
                                             {"X-Request-Key": key} if key else None)
            except Exception as exc:  # noqa: BLE001 - a failed request is a result to count
                status, answer = -1, {"error": repr(exc)}
                client = Client(port)
            with lock:
                results.append((started, time.monotonic(), status, answer, key))
                answered = len(results)
            if on_answer is not None:
                on_answer(answered)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def write_probe(directory: Path, probe):
    """The warm-up request a version must answer before it serves (TF Serving's
    assets.extra/tf_serving_warmup_requests): one Predict of the tf.Example `probe`."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest()
    request.inputs["examples"].CopyFrom(tf.make_tensor_proto([probe.SerializeToString()], dtype=tf.string))
    (directory / "assets.extra").mkdir()
    with tf.io.TFRecordWriter(str(directory / "assets.extra" / "tf_serving_warmup_requests")) as writer:
        writer.write(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)).SerializeToString())
