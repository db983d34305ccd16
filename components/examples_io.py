"""Reading an Examples artifact: the span it holds and its serialized records."""
import os
from typing import List


def span_of(examples) -> int:
    """ExampleGen records the span as a custom property in TFX 1.16 (the `span` property
    of the Examples type stays unset), so look there first; -1 for no artifact."""
    if examples is None:
        return -1
    if examples.has_custom_property("span"):
        return examples.get_int_custom_property("span")
    return int(examples.span)


_READ_BATCH = 4096


def records(examples: List, split: str):
    """(span, serialized tf.Example) of every record of one split, span by span."""
    import tensorflow as tf
    from tfx.types import artifact_utils

    from components import storage

    for item in sorted(examples, key=span_of):
        directory = artifact_utils.get_split_uri([item], split)
        files = storage.glob(os.path.join(directory, "*"))
        # Read in batches: tf.data's per-element overhead in eager mode is most of the
        # cost of reading small records one by one.
        dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(_READ_BATCH)
        for batch in dataset:
            for record in batch.numpy():
                yield span_of(item), record


def raw_value(example, name: str) -> str:
    """A raw feature's first value in a tf.Example, as text ("" when the cell was empty)."""
    feature = example.features.feature.get(name)
    if feature is None:
        return ""
    kind = feature.WhichOneof("kind")
    values = getattr(feature, kind).value if kind else []
    if not values:
        return ""
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
