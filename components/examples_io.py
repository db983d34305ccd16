"""Reading an Examples artifact: the span it holds and its serialized records, and
the raw values in those records."""
import os
from typing import Dict, Iterable, List, Sequence


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


def decode(serialized: Sequence[bytes]):
    """Serialized tf.Examples as one Arrow RecordBatch of list columns (tfx_bsl's C++
    decoder; types from each feature's kind, a feature without values is null)."""
    from tfx_bsl.coders import example_coder

    return example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(list(serialized))


def _first_values(batch, name: str):
    """(first value of each row as a NumPy array, has-a-value mask), or None when no
    row has the feature."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    index = batch.schema.get_field_index(name)
    if index < 0 or pa.types.is_null(batch.column(index).type.value_type):
        return None
    column = batch.column(index)
    present = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False) > 0
    starts = column.offsets.to_numpy()[:-1][present]
    values = column.values.take(pa.array(starts, pa.int64()))
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        first = np.asarray(values.to_pylist(), dtype=object)
    else:
        first = values.to_numpy(zero_copy_only=False)
    return first, present


def raw_columns(batch, names: Sequence[str]) -> Dict[str, list]:
    """{name: each row's first value as text}, as raw_value gives it for each record. Rows
    with equal values share one string: a column holds a pointer per row and each
    distinct value once."""
    import numpy as np
    import pandas as pd

    columns = {}
    for name in names:
        found = _first_values(batch, name)
        texts = np.full(batch.num_rows, "", dtype=object)
        if found is not None:
            first, present = found
            if first.dtype.kind == "f":
                # By bit pattern: factorize takes -0.0 for 0.0, and the text tells them apart.
                codes, bits = pd.factorize(first.view(f"u{first.itemsize}"))
                shown = [str(value) for value in bits.view(first.dtype).tolist()]
            elif first.dtype == object:
                codes, distinct = pd.factorize(first)
                shown = [value.decode("utf-8", "replace") for value in distinct]
            else:
                codes, distinct = pd.factorize(first)
                shown = [str(value) for value in distinct.tolist()]
            texts[present] = np.asarray(shown, dtype=object)[codes]
        columns[name] = texts.tolist()
    return columns


_MISSING = 0x9E3779B97F4A7C15


def input_hashes(batch, names: Sequence[str]):
    """One 64-bit hash per row of the named features' first values: rows with equal
    values (a row without a value counting as one more value) get equal hashes, and
    different rows collide with a chance of about n^2 / 2^65."""
    import numpy as np
    import pandas as pd

    combined = np.zeros(batch.num_rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in names:
            column = np.full(batch.num_rows, _MISSING, dtype=np.uint64)
            found = _first_values(batch, name)
            if found is not None:
                first, present = found
                column[present] = pd.util.hash_array(first, categorize=False)
            combined = combined * np.uint64(1000003) ^ column
    return combined


# Records decoded at once: a whole split as one Arrow batch costs several times the
# records' own size, so large splits are read this many at a time.
DECODE_CHUNK = 65536


def read_columns(serialized: Iterable[bytes], names: Sequence[str], hashed: Sequence[str] = ()):
    """({name: each record's first value as text}, the input hash of `hashed` per
    record), decoded DECODE_CHUNK records at a time."""
    import itertools

    import numpy as np

    columns, keys, pending = {name: [] for name in names}, [], iter(serialized)
    while True:
        chunk = list(itertools.islice(pending, DECODE_CHUNK))
        if not chunk:
            break
        decoded = decode(chunk)
        for name, values in raw_columns(decoded, names).items():
            columns[name].extend(values)
        keys.append(input_hashes(decoded, hashed))
    return columns, (np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64))
