"""Reading the curated schema file, with errors a person can act on.

Parsing needs only protobuf, not TensorFlow, so a broken file is reported in well under
a second, before the pipeline starts any component.
"""
from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline.errors import SchemaError


def load_schema(path: Path) -> schema_pb2.Schema:
    """Parses a text-format schema; raises SchemaError as `file:line:col: message`."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SchemaError(f"{path}: schema file not found") from None
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read the schema file ({exc.strerror})") from None
    try:
        return text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as exc:
        message = str(exc)
        # protobuf prefixes "line:col : "; keep only the explanation after it.
        if exc.GetLine() is not None and " : " in message:
            message = message.split(" : ", 1)[1]
        line, col = exc.GetLine() or 1, exc.GetColumn() or 1
        raise SchemaError(f"{path}:{line}:{col}: {message}") from None
