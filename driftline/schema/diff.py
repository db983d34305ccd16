"""A feature-by-feature difference between two schemas, in the terms a reviewer uses.

A generic proto diff would say `feature[7].float_domain.min` changed; a reviewer wants
"price: range min 0 -> none". Each fact a schema holds about a feature is read through one
accessor below; whatever none of them covers is still reported, as the raw field.
"""
from dataclasses import asdict, dataclass
from typing import List

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2


@dataclass(frozen=True)
class Change:
    feature: str  # "(schema)" for dataset-level facts
    what: str     # e.g. "type", "domain values", "drift threshold"
    before: str
    after: str
    values: tuple = ()  # the domain values added or removed


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _domain_values(schema, feature):
    if feature.HasField("string_domain"):
        return set(feature.string_domain.value)
    if feature.HasField("domain"):
        for domain in schema.string_domain:
            if domain.name == feature.domain:
                return set(domain.value)
    return None


def _range(feature):
    for kind in ("int_domain", "float_domain"):
        if feature.HasField(kind):
            domain = getattr(feature, kind)
            low = _num(domain.min) if domain.HasField("min") else "none"
            high = _num(domain.max) if domain.HasField("max") else "none"
            return f"[{low}, {high}]"
    return "none"


def _threshold(feature, comparator):
    if feature.HasField(comparator) and getattr(feature, comparator).HasField("infinity_norm"):
        return _num(getattr(feature, comparator).infinity_norm.threshold)
    return "none"


def _presence(feature):
    if not feature.HasField("presence"):
        return "none"
    p = feature.presence
    parts = []
    if p.HasField("min_fraction"):
        parts.append(f"min_fraction {_num(p.min_fraction)}")
    if p.HasField("min_count"):
        parts.append(f"min_count {p.min_count}")
    return ", ".join(parts) or "none"


def _value_count(feature):
    if not feature.HasField("value_count"):
        return "none"
    v = feature.value_count
    return f"[{v.min if v.HasField('min') else 'none'}, {v.max if v.HasField('max') else 'none'}]"


_FACTS = {
    "type": lambda s, f: schema_pb2.FeatureType.Name(f.type),
    "range": lambda s, f: _range(f),
    "presence": lambda s, f: _presence(f),
    "value count": lambda s, f: _value_count(f),
    "in environments": lambda s, f: ", ".join(sorted(f.in_environment)) or "none",
    "not in environments": lambda s, f: ", ".join(sorted(f.not_in_environment)) or "none",
    "drift threshold": lambda s, f: _threshold(f, "drift_comparator"),
    "skew threshold": lambda s, f: _threshold(f, "skew_comparator"),
    "categorical": lambda s, f: str(f.int_domain.is_categorical).lower(),
}
# Fields the facts above already describe (or that only name a domain).
_COVERED = {"name", "type", "int_domain", "float_domain", "presence", "value_count",
            "in_environment", "not_in_environment", "drift_comparator", "skew_comparator",
            "domain", "string_domain"}


def _rest(feature) -> str:
    copy = schema_pb2.Feature()
    copy.CopyFrom(feature)
    for name in _COVERED:
        copy.ClearField(name)
    return text_format.MessageToString(copy, as_one_line=True) or "none"


def diff(a: schema_pb2.Schema, b: schema_pb2.Schema) -> List[Change]:
    """What changes from schema `a` to schema `b`, feature by feature, in `a`'s order."""
    changes = []
    features_a = {f.name: f for f in a.feature}
    features_b = {f.name: f for f in b.feature}
    for name in features_a:
        if name not in features_b:
            changes.append(Change(name, "feature", schema_pb2.FeatureType.Name(features_a[name].type), "absent"))
    for name, fb in features_b.items():
        if name not in features_a:
            changes.append(Change(name, "feature", "absent", schema_pb2.FeatureType.Name(fb.type)))
            continue
        fa = features_a[name]
        for what, fact in _FACTS.items():
            before, after = fact(a, fa), fact(b, fb)
            if before != after:
                changes.append(Change(name, what, before, after))
        values_a, values_b = _domain_values(a, fa), _domain_values(b, fb)
        if values_a != values_b:
            if values_a is None or values_b is None:
                changes.append(Change(name, "domain",
                                      "none" if values_a is None else f"{len(values_a)} values",
                                      "none" if values_b is None else f"{len(values_b)} values"))
            else:
                for what, values in (("domain values added", values_b - values_a),
                                     ("domain values removed", values_a - values_b)):
                    if values:
                        changes.append(Change(name, what, f"{len(values_a)} values",
                                              f"{len(values_b)} values", tuple(sorted(values))))
        rest_a, rest_b = _rest(fa), _rest(fb)
        if rest_a != rest_b:
            changes.append(Change(name, "other fields", rest_a, rest_b))

    envs_a, envs_b = set(a.default_environment), set(b.default_environment)
    if envs_a != envs_b:
        changes.append(Change("(schema)", "environments", ", ".join(sorted(envs_a)) or "none",
                              ", ".join(sorted(envs_b)) or "none"))
    bounds = [_examples_bounds(s) for s in (a, b)]
    if bounds[0] != bounds[1]:
        changes.append(Change("(schema)", "example count ratio bounds", *bounds))
    return changes


def _examples_bounds(schema) -> str:
    if not schema.dataset_constraints.HasField("num_examples_drift_comparator"):
        return "none"
    c = schema.dataset_constraints.num_examples_drift_comparator
    low = _num(c.min_fraction_threshold) if c.HasField("min_fraction_threshold") else "none"
    high = _num(c.max_fraction_threshold) if c.HasField("max_fraction_threshold") else "none"
    return f"[{low}, {high}]"


SHOWN_VALUES = 8


def render(changes: List[Change], label_a: str, label_b: str) -> str:
    if not changes:
        return f"{label_a} and {label_b}: no differences\n"
    lines = [f"--- {label_a}", f"+++ {label_b}"]
    current = None
    for change in changes:
        if change.what == "feature":
            sign = "+" if change.before == "absent" else "-"
            kind = change.after if sign == "+" else change.before
            lines.append(f"{sign} {change.feature} ({kind}) {'added' if sign == '+' else 'removed'}")
            current = None
            continue
        if change.feature != current:
            lines.append(f"  {change.feature}")
            current = change.feature
        if change.values:
            sign = "+" if change.what.endswith("added") else "-"
            shown = ", ".join(repr(v) for v in change.values[:SHOWN_VALUES])
            more = len(change.values) - SHOWN_VALUES
            lines.append(f"    {sign} domain values: {shown}" + (f" and {more} more" if more > 0 else ""))
        else:
            lines.append(f"    {change.what}: {change.before} -> {change.after}")
    lines.append(f"{len(changes)} difference{'s' if len(changes) != 1 else ''}")
    return "\n".join(lines) + "\n"


def to_json(changes: List[Change]) -> list:
    return [{**asdict(c), "values": list(c.values)} for c in changes]
