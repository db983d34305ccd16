"""A curated schema's first draft, for `driftline init`: TFDV's inference over every row
of the user's file, the environments that keep a label's outcomes out of serving, and a
drift threshold on each model input measured from how far it moved between spans.
"""
import datetime
from pathlib import Path
from typing import Dict, List

from google.protobuf import text_format

from driftline.schema.update import ceil_to

# A threshold is the widest move between consecutive spans plus this share (so the data
# as it was passes and a larger move stops a run), and never below MIN_THRESHOLD (spans
# that barely moved say little about how far a normal span moves).
MARGIN = 0.25
MIN_THRESHOLD = 0.05
# With one span nothing was measured: the threshold the embedded example uses most.
DEFAULT_THRESHOLD = 0.15


# An integer column with at most this many distinct values, all in [0, CATEGORY_MAX], is
# taken for category ids (hour, month, an area number) rather than a quantity.
CATEGORY_VALUES = 100
CATEGORY_MAX = 999


def infer(table):
    """TFDV's schema of every row, with TRAINING and SERVING environments, optional
    columns allowed to be empty (even for a whole span), and small non-negative integer
    columns marked as categories."""
    import pyarrow.compute as pc
    import tensorflow_data_validation as tfdv
    from tensorflow_data_validation.statistics import stats_impl

    from components.example_gen import csv_reader

    statistics = stats_impl.generate_statistics_in_memory(csv_reader.typed_batch(table), tfdv.StatsOptions())
    # A CSV cell can be empty, so no fixed shape is inferred: presence and value_count say it.
    schema = tfdv.infer_schema(statistics, infer_feature_shape=False)
    schema.default_environment.extend(["TRAINING", "SERVING"])
    for feature in schema.feature:
        column = table.column(feature.name)
        if column.null_count:
            # CsvExampleGen writes an empty cell as the feature with no values.
            feature.ClearField("presence")
            feature.presence.min_count = 0
            feature.value_count.min, feature.value_count.max = 0, 1
        if feature.type == schema_type("INT"):
            values = pc.cast(column.drop_null(), "int64")
            low, high = pc.min(values).as_py(), pc.max(values).as_py()
            if (low is not None and 0 <= low and high <= CATEGORY_MAX
                    and pc.count_distinct(values).as_py() <= CATEGORY_VALUES):
                feature.int_domain.min, feature.int_domain.max = low, high
                feature.int_domain.is_categorical = True
    return schema


def schema_type(name: str):
    from tensorflow_metadata.proto.v0 import schema_pb2

    return schema_pb2.FeatureType.Value(name)


def measured_thresholds(schema, data_root: Path, watched: List[str]) -> Dict[str, tuple]:
    """feature -> (threshold, how it was reached) for each watched feature, from the
    distances between every pair of consecutive spans under data_root."""
    from driftline.data import drift as span_drift
    from pipeline.spans import find_spans

    for feature in schema.feature:
        if feature.name in watched:
            feature.drift_comparator.infinity_norm.threshold = 1.0  # so that each is measured
    spans = sorted(find_spans(data_root))
    tables = {s: span_drift.read_span_table(data_root, s) for s in spans}
    widest: Dict[str, tuple] = {}
    for before, after in zip(spans, spans[1:]):
        for f in span_drift.compare_spans(tables[before], tables[after], schema, before, after).features:
            if f.name in watched and f.distance is not None and f.distance >= widest.get(f.name, (-1.0,))[0]:
                widest[f.name] = (f.distance, f"spans {before}→{after}")
    found = {}
    for name in watched:
        if name not in widest:
            found[name] = (DEFAULT_THRESHOLD, "one span: nothing measured, the default")
            continue
        distance, where = widest[name]
        threshold = min(1.0, max(MIN_THRESHOLD, ceil_to(distance * (1 + MARGIN))))
        why = f"widest move between spans {distance:.3f} ({where}) + {MARGIN:.0%}"
        if threshold == MIN_THRESHOLD:
            why += f", raised to the minimum {MIN_THRESHOLD:g}"
        elif threshold == 1.0:
            why += (", capped at 1 (no distance exceeds it, so it never stops a run): a column that "
                    "moves this far between spans is likely the calendar itself; consider ignoring it")
        found[name] = (threshold, why)
    return found


def draft(table, data_root: Path, outcomes: List[str], not_watched: List[str]):
    """(schema, {feature: comment}): the inferred schema with outcomes kept out of SERVING
    and a measured drift threshold on every other feature but `not_watched`."""
    schema = infer(table)
    comments = {}
    for feature in schema.feature:
        if feature.name in outcomes:
            feature.not_in_environment.append("SERVING")
            comments[feature.name] = "an outcome of the label: known only after the fact, never sent at serving"
    watched = [f.name for f in schema.feature if f.name not in outcomes and f.name not in not_watched]
    thresholds = measured_thresholds(schema, data_root, watched)
    for feature in schema.feature:
        if feature.name in thresholds:
            threshold, why = thresholds[feature.name]
            feature.drift_comparator.infinity_norm.threshold = threshold
            comments[feature.name] = f"drift threshold {threshold:g}: {why}"
        elif feature.name in not_watched:
            comments[feature.name] = "not a model input (task.ignore): no drift threshold"
    return schema, comments


def render(schema, comments: Dict[str, str], source: str, rows: int) -> str:
    """The schema as text, a comment above each feature saying what it is and why."""
    header = (
        f"# The data contract of {source} ({rows:,} rows), drafted by `driftline init` on "
        f"{datetime.date.today()}.\n"
        "# ExampleValidator checks every span against it and the drift gate reads its thresholds\n"
        "# (Chebyshev distances, each in [0, 1]). Edit it, then `driftline schema check` says what\n"
        "# the model will read; [task] ignore in the config keeps a column out of the model.\n\n"
    )
    lines = []
    for line in text_format.MessageToString(schema).splitlines():
        lines.append(line)
        if line.startswith("  name: ") and len(lines) >= 2 and lines[-2] == "feature {":
            name = line[len("  name: "):].strip('"')
            if name in comments:
                lines.insert(len(lines) - 2, f"# {name}: {comments[name]}")
    return header + "\n".join(lines) + "\n"
