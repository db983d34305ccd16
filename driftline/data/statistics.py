"""Statistics of one table for `driftline drift`, computed without importing TFDV.

`import tensorflow_data_validation` loads TensorFlow and takes most of a `drift`
command's time, while the comparison reads only a few fields of the statistics:
the example count, each feature's count of examples with a value, the value counts of
categorical features and the quantiles histogram of numeric ones. This module computes
those fields (and the common moments beside them) the way TFDV 1.16's in-memory path
does, with the same tfx_bsl sketches and the same settings, so `drift` gives the
DriftGate's verdict for the same data:

- a column of strings, or of integers the schema marks categorical, gets `string_stats`:
  value counts from a Misra-Gries sketch of TFDV's size, ranked by (count, value)
  descending, the first RANK_BUCKETS as the rank histogram, the first TOP_VALUES as the
  top values, the distinct count from a KMV sketch;
- any other numeric column gets `num_stats`: moments over the values that are not NaN,
  and the quantiles histogram TFDV builds (QUANTILE_BUCKETS equal-count buckets read from
  a quantiles sketch at QUANTILES_FACTOR times that resolution, the weight of buckets
  sharing a bound spread evenly among them);
- a column with no value anywhere is an INT column with no value (CsvExampleGen's way).

The equi-width (STANDARD) histogram is left out: no comparison reads it.

tests/integration/test_span_statistics.py holds this to TFDV's own output on the
embedded spans and on hand-made columns (high-cardinality strings, NaN, infinities,
non-UTF-8 bytes, long strings, empty columns): the fields above equal, moments to 1e-9,
and every comparison `drift` prints the same.
"""
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

# TFDV 1.16's settings (StatsOptions' defaults, stats_impl's sketch sizes, the top-k
# sketch generator's string limits); the integration test checks them against TFDV.
EPSILON = 0.01
QUANTILE_BUCKETS = 10
QUANTILES_FACTOR = 100
MAX_ELEMENTS = 1 << 32
TOP_VALUES = 20
RANK_BUCKETS = 1000
MISRA_GRIES_BUCKETS = 1024
KMV_BUCKETS = 16384
LARGE_STRING = 1024
NON_UTF8_PLACEHOLDER = "__BYTES_VALUE__"
LARGE_BYTES_PLACEHOLDER = "__LARGE_BYTES__"

_STATS_TYPES = {
    "INT": statistics_pb2.FeatureNameStatistics.INT,
    "FLOAT": statistics_pb2.FeatureNameStatistics.FLOAT,
    "STRING": statistics_pb2.FeatureNameStatistics.STRING,
}


def statistics(batch: pa.RecordBatch,
               schema: Optional[schema_pb2.Schema] = None) -> statistics_pb2.DatasetFeatureStatisticsList:
    """One dataset's statistics: `batch` holds one list column per feature (csv_reader's
    typed_batch)."""
    features = {f.name: f for f in schema.feature} if schema is not None else {}
    dataset = statistics_pb2.DatasetFeatureStatistics(num_examples=batch.num_rows)
    for name, column in zip(batch.schema.names, batch.columns):
        dataset.features.append(feature_statistics(name, column, features.get(name), schema))
    return statistics_pb2.DatasetFeatureStatisticsList(datasets=[dataset])


def _kind(column: pa.ListArray) -> str:
    value_type = column.type.value_type
    if pa.types.is_integer(value_type) or pa.types.is_null(value_type):
        return "INT"
    if pa.types.is_floating(value_type):
        return "FLOAT"
    return "STRING"


def _categorical_numeric(kind: str, feature: Optional[schema_pb2.Feature]) -> bool:
    """Whether TFDV counts values of a numeric column (the schema must call it
    categorical, with the type the data has)."""
    if feature is None:
        return False
    if kind == "INT" and feature.type == schema_pb2.INT:
        return (feature.int_domain.is_categorical
                or feature.WhichOneof("domain_info") in ("bool_domain", "natural_language_domain"))
    if kind == "FLOAT" and feature.type == schema_pb2.FLOAT:
        return feature.float_domain.is_categorical
    return False


def _string_categorical(feature: Optional[schema_pb2.Feature], schema) -> int:
    """The schema's StringDomain.is_categorical for a string feature (UNSPECIFIED when
    it says nothing), following a named global domain as TFDV does."""
    if feature is None:
        return schema_pb2.StringDomain.CATEGORICAL_UNSPECIFIED
    if feature.WhichOneof("domain_info") == "string_domain":
        return feature.string_domain.is_categorical
    if feature.WhichOneof("domain_info") == "domain":
        for domain in schema.string_domain:
            if domain.name == feature.domain:
                return domain.is_categorical
    return schema_pb2.StringDomain.CATEGORICAL_UNSPECIFIED


def feature_statistics(name: str, column: pa.ListArray, feature: Optional[schema_pb2.Feature] = None,
                       schema: Optional[schema_pb2.Schema] = None) -> statistics_pb2.FeatureNameStatistics:
    kind = _kind(column)
    result = statistics_pb2.FeatureNameStatistics(type=_STATS_TYPES[kind])
    result.path.step.append(name)
    values = column.flatten()
    if kind == "STRING" and feature is not None and feature.WhichOneof("domain_info") == "image_domain":
        _common(result.bytes_stats.common_stats, column)
    elif kind == "STRING":
        _common(result.string_stats.common_stats, column)
        categorical = _string_categorical(feature, schema)
        if categorical != schema_pb2.StringDomain.CATEGORICAL_NO:
            _top_k(result.string_stats, values,
                   large_strings=categorical != schema_pb2.StringDomain.CATEGORICAL_YES)
        _average_length(result.string_stats, pc.binary_length(values))
    elif _categorical_numeric(kind, feature):
        _common(result.string_stats.common_stats, column)
        _top_k(result.string_stats, values, large_strings=True)
        # TFDV measures a number by its Python text (numpy's str of the value).
        _average_length(result.string_stats,
                        [len(str(v)) for v in values.to_numpy(zero_copy_only=False)])
    else:
        _common(result.num_stats.common_stats, column)
        _numeric(result.num_stats, values)
    return result


def _average_length(string_stats: statistics_pb2.StringStatistics, lengths) -> None:
    lengths = np.asarray(lengths, dtype=np.float64)
    if len(lengths):
        string_stats.avg_length = float(lengths.sum() / len(lengths))


def _common(common: statistics_pb2.CommonStatistics, column: pa.ListArray) -> None:
    present = column.drop_null()
    lengths = pc.list_value_length(present).to_numpy(zero_copy_only=False)
    common.num_non_missing = len(present)
    common.num_missing = column.null_count
    common.tot_num_values = int(lengths.sum())
    if len(present):
        common.min_num_values = int(lengths.min())
        common.max_num_values = int(lengths.max())
        common.avg_num_values = float(lengths.mean())


def _top_k(string_stats: statistics_pb2.StringStatistics, values: pa.Array,
           large_strings: bool) -> None:
    from tfx_bsl.sketches import KmvSketch, MisraGriesSketch

    if not len(values):
        return
    counts = MisraGriesSketch(
        num_buckets=max(MISRA_GRIES_BUCKETS, TOP_VALUES, RANK_BUCKETS),
        invalid_utf8_placeholder=NON_UTF8_PLACEHOLDER,
        large_string_threshold=LARGE_STRING if large_strings else None,
        large_string_placeholder=LARGE_BYTES_PLACEHOLDER if large_strings else None)
    counts.AddValues(values)
    distinct = KmvSketch(KMV_BUCKETS)
    distinct.AddValues(values)
    string_stats.unique = distinct.Estimate()
    ranked = sorted(((pair["counts"], pair["values"]) for pair in counts.Estimate().to_pylist()),
                    reverse=True)
    for rank, (count, value) in enumerate(ranked):
        if count < 1 or rank >= max(TOP_VALUES, RANK_BUCKETS):
            break
        label = _label(value)
        if rank < TOP_VALUES:
            string_stats.top_values.add(value=label, frequency=count)
        if rank < RANK_BUCKETS:
            string_stats.rank_histogram.buckets.add(
                low_rank=rank, high_rank=rank, label=label, sample_count=count)


def _label(value) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return NON_UTF8_PLACEHOLDER
    return str(value)


def _numeric(num_stats: statistics_pb2.NumericStatistics, values: pa.Array) -> None:
    from tfx_bsl.sketches import QuantilesSketch

    array = values.to_numpy(zero_copy_only=False)
    nan = np.isnan(array) if array.dtype.kind == "f" else np.zeros(len(array), bool)
    finite_or_inf = array[~nan]
    num_nan = int(nan.sum())
    if not len(finite_or_inf):
        if num_nan:
            for kind in (statistics_pb2.Histogram.STANDARD, statistics_pb2.Histogram.QUANTILES):
                num_stats.histograms.add(type=kind, num_nan=num_nan)
        return
    as_double = finite_or_inf.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        num_stats.mean = float(np.mean(as_double))
        num_stats.std_dev = float(np.sqrt(max(0.0, np.var(as_double))))
    num_stats.num_zeros = int(len(finite_or_inf) - np.count_nonzero(finite_or_inf))
    num_stats.min = float(finite_or_inf.min())
    num_stats.max = float(finite_or_inf.max())

    sketch = QuantilesSketch(eps=EPSILON, max_num_elements=MAX_ELEMENTS, num_streams=1)
    sketch.AddValues(pa.array(finite_or_inf))
    bounds, cumulative = sketch.GetQuantilesAndCumulativeWeights(QUANTILES_FACTOR * QUANTILE_BUCKETS)
    bounds = bounds.flatten().to_numpy(zero_copy_only=False)
    cumulative = cumulative.flatten().to_numpy(zero_copy_only=False)
    num_stats.median = float(_median(bounds))
    histogram = num_stats.histograms.add(type=statistics_pb2.Histogram.QUANTILES, num_nan=num_nan)
    coarse = np.concatenate([bounds[:1], bounds[QUANTILES_FACTOR::QUANTILES_FACTOR]])
    coarse_cumulative = np.concatenate([cumulative[:1], cumulative[QUANTILES_FACTOR::QUANTILES_FACTOR]])
    for low, high, count in zip(*bucket_weights(coarse, coarse_cumulative)):
        histogram.buckets.add(low_value=low, high_value=high, sample_count=count)


def _median(bounds: np.ndarray) -> float:
    middle = len(bounds) // 2
    if len(bounds) % 2:
        return bounds[middle]
    return (bounds[middle - 1] + bounds[middle]) / 2.0


def bucket_weights(bounds: np.ndarray, cumulative: np.ndarray):
    """(lows, highs, weights) of the buckets between consecutive quantile bounds.

    The sketch reports a cumulative weight per bound; a bucket's weight is the
    difference. Buckets that share an upper bound (a value repeated across quantiles)
    share their total weight evenly, and the weight at the lowest bound (the minimum's
    own count) is spread over the leading buckets identical to the first.
    """
    cumulative = cumulative.astype(np.float64)
    lows, highs = bounds[:-1], bounds[1:]
    weights = np.diff(cumulative)
    start = 0
    while start < len(lows):
        end = start + 1
        while end < len(lows) and highs[end] == highs[start]:
            end += 1
        if end - start > 1:
            weights[start:end] = weights[start:end].sum() / (end - start)
        start = end
    same_as_first = 0
    while (same_as_first < len(lows) and lows[same_as_first] == lows[0]
           and highs[same_as_first] == highs[0]):
        same_as_first += 1
    if same_as_first:
        weights[:same_as_first] += cumulative[0] / same_as_first
    return lows, highs, weights
