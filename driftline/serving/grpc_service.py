"""TF Serving's gRPC PredictionService (Predict, Classify, GetModelMetadata) and
ModelService (GetModelStatus), from the tensorflow-serving-api protos, so an unmodified
TF Serving client talks to `driftline serve`. The request key is the call's
`x-request-key` metadata."""
import asyncio
import logging
import time
from concurrent import futures

import grpc
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from driftline.serving.errors import ServingError, bad_request
from driftline.serving.models import INPUT, SIGNATURE, decided_first, refuse_verb
from driftline.serving.requests import check_example, parse_examples
from driftline.serving.server import Server

log = logging.getLogger("driftline.serving")


def _spec(request):
    spec = request.model_spec
    version = str(spec.version.value) if spec.HasField("version") else None
    label = spec.version_label or None
    if spec.signature_name and spec.signature_name != SIGNATURE:
        raise bad_request(f"Serving signature name: \"{spec.signature_name}\" not found in signature def")
    return spec.name, version, label


def _key(context):
    return dict(context.invocation_metadata()).get("x-request-key")


def _set_spec(spec, name: str, number: int):
    """The ModelSpec a response names: model, version answered, signature."""
    spec.name = name
    spec.version.value = number
    spec.signature_name = SIGNATURE


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, server: Server):
        self.server = server

    def _outputs(self, version, serialized):
        if self.server.batcher is not None and self.server.loop is not None:
            return asyncio.run_coroutine_threadsafe(
                self.server.batcher.predict(version, serialized), self.server.loop).result()
        return version.predict(serialized)

    def _answer(self, context, name, version_text, label, serialized, examples, verb: str = "predict"):
        started = time.monotonic()
        version, slot = None, ""
        try:
            self.server.check_rows(len(serialized))
            version, slot = self.server.choose(name, version_text, label, _key(context))
            refuse_verb(verb, version)
            with version.serving():
                outputs = self._outputs(version, serialized)
            request_id = self.server.record(version, slot, _key(context), examples, outputs, started)
            self.server.offer_shadow(version, _key(context), request_id, serialized)
            return version, outputs
        except ServingError as error:
            self.server.error(error, version, slot)
            context.abort(error.grpc_code, error.message)
        except Exception as exc:  # noqa: BLE001 - INTERNAL with one line, and a count
            error = self.server.failure(exc, version, slot)
            context.abort(error.grpc_code, error.message)

    def Predict(self, request, context):
        import tensorflow as tf

        try:
            name, version_text, label = _spec(request)
            if set(request.inputs) != {INPUT}:
                raise bad_request(f"the request must have one input '{INPUT}' (serialized tf.Examples), "
                                  f"has {sorted(request.inputs)}")
            tensor = request.inputs[INPUT]
            if tensor.dtype != types_pb2.DT_STRING:
                raise bad_request(f"the input '{INPUT}' must be DT_STRING (serialized tf.Examples), is "
                                  f"{types_pb2.DataType.Name(tensor.dtype)}")
            serialized = [bytes(v) for v in tf.make_ndarray(tensor).reshape(-1)]
            examples = parse_examples(self.server.contract, serialized)
        except ServingError as error:
            self.server.error(error)
            context.abort(error.grpc_code, error.message)
        version, outputs = self._answer(context, name, version_text, label, serialized, examples)
        response = predict_pb2.PredictResponse()
        _set_spec(response.model_spec, name, version.number)
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def Classify(self, request, context):
        try:
            name, version_text, label = _spec(request)
            kind = request.input.WhichOneof("kind")
            if kind == "example_list":
                examples = list(request.input.example_list.examples)
            elif kind == "example_list_with_context":
                context_example = request.input.example_list_with_context.context
                examples = []
                for example in request.input.example_list_with_context.examples:
                    merged = type(example)()
                    merged.CopyFrom(context_example)
                    merged.MergeFrom(example)
                    examples.append(merged)
            else:
                raise bad_request("the request's input holds no examples")
            rows = [check_example(self.server.contract, example, row) for row, example in enumerate(examples)]
            serialized = [e.SerializeToString() for e in examples]
        except ServingError as error:
            self.server.error(error)
            context.abort(error.grpc_code, error.message)
        version, outputs = self._answer(context, name, version_text, label, serialized, rows, "classify")
        response = classification_pb2.ClassificationResponse()
        _set_spec(response.model_spec, name, version.number)
        for p in outputs["probabilities"].reshape(-1):
            classes = response.result.classifications.add()
            for label, score in decided_first(float(p), version.threshold):
                classes.classes.add(label=label, score=score)
        return response

    def GetModelMetadata(self, request, context):
        from driftline.serving.rest import signature_defs

        try:
            name, version_text, label = _spec(request)
            if list(request.metadata_field) != ["signature_def"]:
                raise bad_request("metadata_field must be [\"signature_def\"]")
            version, _ = self.server.choose(name, version_text, label)
        except ServingError as error:
            context.abort(error.grpc_code, error.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = name
        response.model_spec.version.value = version.number
        response.metadata["signature_def"].Pack(signature_defs(version))
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, server: Server):
        self.server = server

    def GetModelStatus(self, request, context):
        from tensorflow_serving.apis import status_pb2

        states = {"LOADING": 20, "AVAILABLE": 30, "FAILED": 50, "END": 50}
        try:
            name, version_text, label = _spec(request)
            self.server._check_model(name)
            numbers = ([self.server.choose(name, version_text, label)[0].number]
                       if version_text or label else sorted(self.server.versions.versions))
        except ServingError as error:
            context.abort(error.grpc_code, error.message)
        response = get_model_status_pb2.GetModelStatusResponse()
        for number in numbers:
            version = self.server.versions.get(number)
            status = response.model_version_status.add(version=number, state=states[version.state])
            status.status.CopyFrom(status_pb2.StatusProto(error_message=version.error))
        return response


def start(server: Server, host: str, port: int, workers: int = 16) -> grpc.Server:
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(server), grpc_server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(server), grpc_server)
    bound = grpc_server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the gRPC port {host}:{port}")
    grpc_server.start()
    return grpc_server
