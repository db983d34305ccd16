"""Reading an MLMD custom property as a plain Python value: the one reader behind the
gates' verdict readers and the application's MLMD views."""


def custom_property(item, key, default=None):
    """`item.custom_properties[key]` (an Artifact or Execution proto) as its set value."""
    if key not in item.custom_properties:
        return default
    value = item.custom_properties[key]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else default
