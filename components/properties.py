"""Reading MLMD property values as plain Python values: the one reader behind the gates'
verdict readers and the application's MLMD views."""


def value_of(value, default=None):
    """An MLMD `Value` proto as the value it holds: int, float, str, a dict for a struct,
    the text of a proto; `default` when nothing is set."""
    kind = value.WhichOneof("value")
    if kind is None:
        return default
    if kind == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToDict(value.struct_value)
    if kind == "proto_value":
        return str(value.proto_value)
    return getattr(value, kind)


def custom_property(item, key, default=None):
    """`item.custom_properties[key]` (an Artifact or Execution proto) as its set value."""
    if key not in item.custom_properties:
        return default
    return value_of(item.custom_properties[key], default)
