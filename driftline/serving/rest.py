"""TF Serving's REST API, a bare ASGI application on uvicorn: the same paths, bodies and
error body. No web framework sits between the server and a handler: on the predict path
its routing and request objects cost more than the handler's own work.

    GET  /v1/models/{m}[/versions/{v}|/labels/{l}]             model status
    GET  /v1/models/{m}[/versions/{v}|/labels/{l}]/metadata    signature defs
    POST /v1/models/{m}[/versions/{v}|/labels/{l}]:predict     "instances" or "inputs"
    POST /v1/models/{m}[/versions/{v}|/labels/{l}]:classify    "examples" as feature maps

Beside them: /metrics (Prometheus), /v1/driftline/rollout (the policy in effect and the
requests in flight per version) and /healthz. A predict response also carries the
`model_spec` that answered (as TF Serving's gRPC response does) and the headers
X-Model-Version and X-Model-Slot.
"""
import json
import logging
import re
import time
from typing import List, Optional, Tuple

from driftline.serving.errors import ServingError, bad_request, not_found
from driftline.serving.models import NUMBER_OUTPUT, SIGNATURE, decided_first, refuse_verb
from driftline.serving.requests import example_from_json, parse_examples, serialized_rows
from driftline.serving.server import Server

log = logging.getLogger("driftline.serving")
_PATH = re.compile(r"^(?P<model>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                   r"(?:(?P<metadata>/metadata)|:(?P<verb>predict|classify|regress))?$")
MODELS = "/v1/models/"
JSON, TEXT, HTML = b"application/json", b"text/plain; charset=utf-8", b"text/html; charset=utf-8"


class Response:
    """A whole answer: status, body and headers, sent in two ASGI messages."""
    __slots__ = ("status", "body", "headers")

    def __init__(self, body: bytes, status: int = 200, media_type: bytes = JSON, headers=None):
        self.status, self.body = status, body
        self.headers = [(b"content-type", media_type), (b"content-length", b"%d" % len(body))]
        if headers:
            self.headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def send(self, send):
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


class Call:
    """What a handler reads of a request: its path below /v1/models/, its headers and its
    body, straight from the ASGI scope (no framework objects per request)."""
    __slots__ = ("rest", "headers", "receive")

    def __init__(self, scope, receive, rest: str = ""):
        self.rest, self.receive = rest, receive
        self.headers: List[Tuple[bytes, bytes]] = scope["headers"]

    def header(self, name: bytes) -> Optional[str]:
        """A header's value (`name` in lower case, as ASGI gives them), or None."""
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    async def stream(self):
        while True:
            message = await self.receive()
            if message["type"] != "http.request":  # the client went away
                return
            yield message.get("body", b"")
            if not message.get("more_body"):
                return


def _json(data, status: int = 200, headers=None) -> Response:
    # TF Serving writes NaN and Infinity as bare tokens, which Python's json also reads.
    return Response(json.dumps(data, allow_nan=True).encode(), status, JSON, headers)


def _error(error: ServingError) -> Response:
    return _json({"error": error.message}, error.status)


def _values(array):
    """A row of an output as TF Serving writes it: scalars as numbers, else nested lists."""
    return array.tolist()


def _predictions(outputs: dict, columnar: bool):
    names = sorted(outputs)
    if columnar:
        if len(names) == 1:
            return {"outputs": outputs[names[0]].tolist()}
        return {"outputs": {name: outputs[name].tolist() for name in names}}
    rows = len(next(iter(outputs.values())))
    if len(names) == 1:
        return {"predictions": [_values(outputs[names[0]][i]) for i in range(rows)]}
    return {"predictions": [{name: _values(outputs[name][i]) for name in names} for i in range(rows)]}


class _Handlers:
    """One method per route, over one server."""

    def __init__(self, server: Server):
        self.server = server
        self.settings = server.settings

    async def _body(self, request: Call) -> dict:
        # Read to the end even past the limit (keeping nothing of it), so the client gets the
        # 413 rather than a connection reset halfway through sending.
        limit = self.settings.max_body_bytes
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
        if size > limit:
            raise ServingError(413, f"the request body of {size} bytes is over the limit of {limit} bytes")
        try:
            data = json.loads(b"".join(chunks) or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"JSON Parse error: {exc}") from None
        if not isinstance(data, dict):
            raise bad_request("the request body must be a JSON object")
        signature = data.get("signature_name", SIGNATURE) or SIGNATURE
        if signature != SIGNATURE:
            raise bad_request(f"Serving signature name: \"{signature}\" not found in signature def")
        return data

    async def models_get(self, request: Call) -> Response:
        server = self.server
        match = _PATH.match(request.rest)
        if not match or match["verb"]:
            return _error(not_found(f"Malformed request: GET /v1/models/{request.rest}"))
        try:
            server._check_model(match["model"])
            if match["metadata"]:
                version, _ = server.choose(match["model"], match["version"], match["label"])
                return _json(metadata(server, version))
            status = server.versions.status()
            if match["version"] or match["label"]:
                version, _ = server.choose(match["model"], match["version"], match["label"])
                status = [s for s in status if s["version"] == str(version.number)]
            if not status:
                raise not_found(f"Servable not found for request: Latest({match['model']})")
            return _json({"model_version_status": status})
        except ServingError as error:
            return _error(error)

    def _rows(self, verb: str, body: dict):
        """(serialized tf.Examples, their values) of a :predict or :classify body, each
        checked against the data contract."""
        server = self.server
        if verb == "predict":
            serialized = serialized_rows(body)
            server.check_rows(len(serialized))
            return serialized, parse_examples(server.contract, serialized)
        rows = body.get("examples")
        if not isinstance(rows, list):
            raise bad_request("missing \"examples\": a list of feature maps to classify")
        server.check_rows(len(rows))
        context = body.get("context") or {}
        if not isinstance(context, dict):
            raise bad_request("\"context\" must be an object of feature: value")
        examples, checked = [], []
        for row, values in enumerate(rows):
            if isinstance(values, dict) and set(values) & set(context):
                raise bad_request(f"row {row}: features {sorted(set(values) & set(context))} "
                                  "appear in both the example and the context")
            merged = {**context, **values} if isinstance(values, dict) else values
            example, found = example_from_json(server.contract, merged, row)
            examples.append(example)
            checked.append(found)
        return [e.SerializeToString() for e in examples], checked

    async def models_post(self, request: Call) -> Response:
        server = self.server
        started = time.monotonic()
        match = _PATH.match(request.rest)
        if not match or not match["verb"]:
            return _error(not_found(f"Malformed request: POST /v1/models/{request.rest}"))
        version, slot = None, ""
        try:
            body = await self._body(request)
            key = request.header(b"x-request-key") or body.get("key")
            if key is not None and not isinstance(key, str):
                raise bad_request(f"\"key\" must be a string, got {key!r}")
            serialized, examples = self._rows(match["verb"], body)
            version, slot = server.choose(match["model"], match["version"], match["label"], key)
            refuse_verb(match["verb"], version)
            with version.serving():
                outputs = await server.predict(version, serialized)
            request_id = server.record(version, slot, key, examples, outputs, started)
            server.offer_shadow(version, key, request_id, serialized)
        except ServingError as error:
            server.error(error, version, slot)
            return _error(error)
        except Exception as exc:  # noqa: BLE001 - a JSON body and a count, whatever broke
            return _error(server.failure(exc, version, slot))
        return self._answer(match["verb"], body, version, slot, request_id, outputs)

    def _answer(self, verb: str, body: dict, version, slot: str, request_id: str, outputs: dict) -> Response:
        headers = {"X-Model-Version": str(version.number), "X-Model-Slot": slot, "X-Request-Id": request_id}
        spec = {"name": self.settings.model_name, "version": str(version.number), "signature_name": SIGNATURE}
        if verb == "regress":
            return _json({"result": [float(v) for v in outputs[NUMBER_OUTPUT].reshape(-1)], "model_spec": spec},
                         headers=headers)
        if verb == "classify":
            headers["X-Operating-Threshold"] = repr(version.threshold)
            result = [[list(pair) for pair in decided_first(float(p), version.threshold)]
                      for p in outputs["probabilities"].reshape(-1)]
            return _json({"result": result, "model_spec": spec}, headers=headers)
        answer = _predictions(outputs, columnar="inputs" in body)
        answer["model_spec"] = spec
        return _json(answer, headers=headers)

    async def metrics(self, request: Call) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.server.metrics.registry), media_type=CONTENT_TYPE_LATEST.encode())

    async def rollout_state(self, request: Call) -> Response:
        server = self.server
        policy = server.effective_policy()
        return _json({
            "model": self.settings.model_name, "revision": policy.revision, "policy": policy.to_json(),
            "from_file": server.policy is not None,
            "versions": {str(n): {"state": v.state, "in_flight": v.in_flight, "error": v.error}
                         for n, v in sorted(server.versions.versions.items())},
        })

    async def dashboard(self, request: Call) -> Response:
        page = self.settings.dashboard_page
        if page is None or not page.is_file():
            return _json({"error": "no monitoring dashboard yet: `driftline monitor` writes one after "
                                   "each pass"}, 404)
        return Response(page.read_bytes(), media_type=HTML)

    async def healthz(self, request: Call) -> Response:
        available = self.server.versions.available()
        return Response(b"ok" if available else b"no version available", 200 if available else 503, TEXT)


def build_app(server: Server):
    """The ASGI application: a dictionary lookup per request, then the handler."""
    handlers = _Handlers(server)
    models = {"GET": handlers.models_get, "POST": handlers.models_post}
    fixed = {"/metrics": handlers.metrics, "/v1/driftline/rollout": handlers.rollout_state,
             "/healthz": handlers.healthz, "/dashboard": handlers.dashboard}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        # HEAD is GET without the body (uvicorn drops it): load balancers probe that way.
        method, path = ("GET" if scope["method"] == "HEAD" else scope["method"]), scope["path"]
        if path.startswith(MODELS):
            handler, rest = models.get(method), path[len(MODELS):]
        else:
            handler, rest = (fixed.get(path) if method == "GET" else None), ""
        if handler is None:
            status = 405 if (path.startswith(MODELS) or path in fixed) else 404
            response = _error(ServingError(status, f"Malformed request: {scope['method']} {path}"))
        else:
            try:
                response = await handler(Call(scope, receive, rest))
            except Exception as exc:  # noqa: BLE001 - a JSON body, whatever broke
                log.error("%s %s failed inside the server", method, path, exc_info=exc)
                response = _error(ServingError(500, f"internal error: {type(exc).__name__}: {exc}"))
        await response.send(send)

    return app


def metadata(server: Server, version) -> dict:
    """GetModelMetadataResponse as TF Serving's REST writes it: the signature defs."""
    from google.protobuf import json_format

    return {
        "model_spec": {"name": server.settings.model_name, "signature_name": "",
                       "version": str(version.number)},
        "metadata": {"signature_def": json_format.MessageToDict(
            signature_defs(version), preserving_proto_field_name=True)},
    }


def signature_defs(version):
    """The version's signature defs as a SignatureDefMap proto."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((version.path / "saved_model.pb").read_bytes())
    found = get_model_metadata_pb2.SignatureDefMap()
    for name, signature in saved.meta_graphs[0].signature_def.items():
        found.signature_def[name].CopyFrom(signature)
    return found
