"""Errors a request can meet, each with the HTTP status and gRPC code TF Serving gives it,
and the errors of changing who serves."""
from driftline.errors import PolicyError, RolloutRefused  # noqa: F401 - serving's own errors, declared with the rest


class ServingError(Exception):
    """A request the server refuses: `status` is the HTTP status, `code` the gRPC one."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def grpc_code(self):
        import grpc

        return {400: grpc.StatusCode.INVALID_ARGUMENT, 404: grpc.StatusCode.NOT_FOUND,
                413: grpc.StatusCode.RESOURCE_EXHAUSTED, 503: grpc.StatusCode.UNAVAILABLE
                }.get(self.status, grpc.StatusCode.INTERNAL)


def bad_request(message: str) -> ServingError:
    return ServingError(400, message)


def not_found(message: str) -> ServingError:
    return ServingError(404, message)
