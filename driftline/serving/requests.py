"""What a request carries, read and checked against the data contract before any model
sees it.

A request's rows arrive as serialized tf.Examples (`{"b64": ...}` in REST, tensors of
strings in gRPC) or, for `:classify`, as JSON feature maps. Each row is checked against
the curated schema's SERVING environment: every feature must be known to the schema and
allowed at serving (the label's outcome columns are not), have the schema's type, and the
model's required inputs must be there, each feature holds at most as many values as the
schema's value_count allows (one, unless it says more), and a number must be finite. A
row that fails gets a 400 naming the row, the feature and the value, the way TF Serving
reports a bad request; nothing of it is logged as a prediction.

A value outside the schema's domain (a price below its minimum, a category it does not
list) is scored, as the data it came from would be, and counted per feature
(`out_of_domain`), so that monitoring sees it.
"""
import base64
import binascii
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Dict, FrozenSet, List, Optional, Tuple

from driftline.serving.errors import bad_request

INT, FLOAT, BYTES = "INT", "FLOAT", "BYTES"


@dataclass(frozen=True)
class Contract:
    """The serving features: name -> schema type, which the model requires, and what the
    schema allows of each (values per row, numeric range, string domain)."""
    types: Dict[str, str]
    required: List[str]
    max_values: Dict[str, int] = field(default_factory=dict)   # absent: 1
    ranges: Dict[str, Tuple[float, float]] = field(default_factory=dict)
    domains: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    # The label's outcome columns: known only after the fact, refused in a request
    # whatever the schema's SERVING environment says.
    outcomes: FrozenSet[str] = frozenset()

    @classmethod
    def from_schema(cls, schema, model_inputs: List[str], outcomes=()) -> "Contract":
        from components.drift_gate.comparison import excluded
        from tensorflow_metadata.proto.v0 import schema_pb2

        names = {schema_pb2.INT: INT, schema_pb2.FLOAT: FLOAT, schema_pb2.BYTES: BYTES}
        string_domains = {d.name: frozenset(d.value) for d in schema.string_domain}
        types, required, max_values, ranges, domains = {}, [], {}, {}, {}
        for feature in schema.feature:
            # A feature without a type has no value anywhere: nothing a request could carry.
            if excluded(feature, "SERVING") or feature.name in outcomes or feature.type not in names:
                continue
            types[feature.name] = names[feature.type]
            if feature.name in model_inputs and feature.presence.min_fraction >= 1.0:
                required.append(feature.name)
            if feature.HasField("value_count") and feature.value_count.max > 1:
                max_values[feature.name] = feature.value_count.max
            numeric = feature.float_domain if feature.HasField("float_domain") else \
                feature.int_domain if feature.HasField("int_domain") else None
            if numeric is not None and (numeric.HasField("min") or numeric.HasField("max")):
                ranges[feature.name] = (numeric.min if numeric.HasField("min") else -math.inf,
                                        numeric.max if numeric.HasField("max") else math.inf)
            if feature.HasField("domain") and feature.domain in string_domains:
                domains[feature.name] = string_domains[feature.domain]
            elif feature.HasField("string_domain"):
                domains[feature.name] = frozenset(feature.string_domain.value)
        return cls(types, sorted(required), max_values, ranges, domains, frozenset(outcomes))

    def out_of_domain(self, values: "Row") -> List[str]:
        """The features of a (checked) row whose value the schema's domain excludes."""
        found = []
        for name, (kind, items) in values.items():
            if not items:
                continue
            if name in self.ranges:
                low, high = self.ranges[name]
                if any(not low <= v <= high for v in items):
                    found.append(name)
            elif kind == BYTES and name in self.domains:
                domain = self.domains[name]
                if any(v.decode("utf-8", "replace") not in domain for v in items):
                    found.append(name)
        return found

    @cached_property
    def columns(self) -> List[str]:
        """The serving features in a stable order: the request log's columns."""
        return sorted(self.types)


# A row as the server reads it: feature name -> (INT, FLOAT or BYTES, or None for a
# feature with no values; its values). One walk over the tf.Example's protobuf serves the
# contract check, the domain counts and the request log.
Row = Dict[str, Tuple[Optional[str], list]]
_KINDS = {"int64_list": INT, "float_list": FLOAT, "bytes_list": BYTES}


def values_of(example) -> Row:
    # ListFields gives the set list and its kind in one call; on the request path it is
    # the cheapest walk over a tf.Example that protobuf's Python API offers.
    row = {}
    features = example.features.feature
    for name in features:
        fields = features[name].ListFields()
        if fields:
            descriptor, values = fields[0]
            row[name] = (_KINDS[descriptor.name], values.value[:])
        else:
            row[name] = (None, [])
    return row


def check_example(contract: Contract, example, row: int) -> Row:
    """The example's values; raises a 400 naming the row and feature when it breaks the
    contract."""
    values = values_of(example)
    for name, (kind, items) in values.items():
        expected = contract.types.get(name)
        if expected is None and name in contract.outcomes:
            raise bad_request(f"row {row}: feature '{name}' is an outcome of the label, known only after "
                              "the fact: a request never carries it")
        if expected is None:
            raise bad_request(f"row {row}: feature '{name}' is not a serving feature of the schema")
        # Exact, as the model's parser is: an int64_list where it reads floats fails inside it.
        if kind is not None and kind != expected:
            raise bad_request(f"row {row}: feature '{name}' holds {kind} values where the schema "
                              f"says {expected}")
        allowed = contract.max_values.get(name, 1)
        if len(items) > allowed:
            raise bad_request(f"row {row}: feature '{name}' holds {len(items)} values "
                              f"({_shown(items)}); the schema allows {allowed} per row")
        if kind == FLOAT and any(not math.isfinite(v) for v in items):
            raise bad_request(f"row {row}: feature '{name}' = {_shown(items)} is not a finite "
                              "number")
    for name in contract.required:
        if not values.get(name, (None, []))[1]:
            raise bad_request(f"row {row}: required feature '{name}' is missing")
    return values


def _shown(values) -> str:
    shown = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in list(values)[:5]]
    return ", ".join(repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)
                     for v in shown) + (", ..." if len(values) > 5 else "")


def example_from_json(contract: Contract, values: dict, row: int):
    """A tf.Example from a JSON feature map (TF Serving's :classify format), and its
    checked values."""
    import tensorflow as tf

    if not isinstance(values, dict):
        raise bad_request(f"row {row}: an example must be an object of feature: value, got {values!r}")
    feature = {}
    for name, value in values.items():
        expected = contract.types.get(name)
        if expected is None and name in contract.outcomes:
            raise bad_request(f"row {row}: feature '{name}' is an outcome of the label, known only after "
                              "the fact: a request never carries it")
        if expected is None:
            raise bad_request(f"row {row}: feature '{name}' is not a serving feature of the schema")
        items = value if isinstance(value, list) else [value]
        if isinstance(value, dict) and "b64" in value:
            items = [_b64(value["b64"], row)]
        try:
            if expected == INT:
                if any(isinstance(v, bool) or not isinstance(v, int) for v in items):
                    raise TypeError
                feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=items))
            elif expected == FLOAT:
                if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items):
                    raise TypeError
                feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=items))
            else:
                if any(not isinstance(v, (str, bytes)) for v in items):
                    raise TypeError
                feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[v.encode("utf-8") if isinstance(v, str) else v for v in items]))
        except (TypeError, ValueError):
            raise bad_request(f"row {row}: feature '{name}' = {value!r} is not {expected}, the type "
                              "the schema gives it") from None
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example, check_example(contract, example, row)


def _b64(text, row: int) -> bytes:
    if not isinstance(text, str):
        raise bad_request(f"row {row}: b64 must hold a base64 string, got {text!r}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"row {row}: b64 value is not valid base64") from None


def serialized_rows(body: dict, input_name: str = "examples") -> List[bytes]:
    """The serialized tf.Examples of a REST :predict body, in row ("instances") or
    columnar ("inputs") form, each given as {"b64": ...} or named by the input."""
    if "instances" in body and "inputs" in body:
        raise bad_request("a request can have \"instances\" or \"inputs\", not both")
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list):
            raise bad_request("\"instances\" must be a list")
        rows = [r[input_name] if isinstance(r, dict) and input_name in r else r for r in rows]
    elif "inputs" in body:
        rows = body["inputs"]
        if isinstance(rows, dict):
            if set(rows) != {input_name}:
                raise bad_request(f"\"inputs\" must name the one input '{input_name}', got {sorted(rows)}")
            rows = rows[input_name]
        if not isinstance(rows, list):
            rows = [rows]
    else:
        raise bad_request("missing \"instances\" or \"inputs\": the rows to predict")
    found = []
    for row, value in enumerate(rows):
        if not (isinstance(value, dict) and set(value) == {"b64"}):
            raise bad_request(f"row {row}: the input '{input_name}' takes serialized tf.Examples as "
                              "{\"b64\": \"...\"}")
        found.append(_b64(value["b64"], row))
    return found


def parse_examples(contract: Contract, serialized: List[bytes]) -> List[Row]:
    """The values of the serialized tf.Examples, each checked against the contract."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError

    rows = []
    for row, data in enumerate(serialized):
        try:
            example = tf.train.Example.FromString(data)
        except DecodeError:
            raise bad_request(f"row {row}: not a serialized tf.Example") from None
        rows.append(check_example(contract, example, row))
    return rows


def raw_values(values: Row, columns: List[str]) -> List[str]:
    """A row's feature values as CSV text, one per column ("" when absent)."""
    out = []
    for name in columns:
        kind, items = values.get(name, (None, ()))
        if not items:
            out.append("")
        elif kind == BYTES:
            out.append(items[0].decode("utf-8", "replace"))
        elif kind == FLOAT:
            # float32 in the example: seven significant digits say all it holds.
            value = items[0]
            out.append(f"{value:.7g}" if not value.is_integer() else f"{value:.1f}")
        else:
            out.append(str(items[0]))
    return out
