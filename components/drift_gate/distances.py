"""Chebyshev (L-infinity) distances between two feature distributions: max_i |p_i - q_i|.

Both inputs are TFDV statistics (FeatureNameStatistics protos). Every distance lies in
[0, 1], is 0 for identical distributions and is symmetric in its arguments.

- Categorical features (strings, and integers the schema marks categorical): p and q are
  the value frequencies of the statistics' rank histograms, each normalised by its own
  total, as TFDV's `infinity_norm` drift comparator computes them.
- Numeric features: TFDV reports 0 for these, so driftline re-bins both features onto
  common bucket edges and compares the bucket shares. Each side is read from its
  QUANTILES histogram (equal-count buckets), spreading a bucket's count uniformly over
  its width; a zero-width bucket is a point mass. The common edges are
  NUMERIC_BUCKETS - 2 equal-width buckets spanning [lowest 10th percentile, highest
  90th percentile] of the two sides, plus one open bucket below and one above.
  Why not the union of the raw edges: equal-width histograms are stretched by outliers
  (a single 1,710-mile trip), and a finer grid shrinks every share, so the same shift
  would read as a smaller distance. With fixed, data-derived edges identical data scores
  0 and a uniform price range moved by $20 scores 0.17 (tests/unit/test_drift_distances.py).
"""
import math
from typing import Dict, Mapping, Sequence, Tuple

from tensorflow_metadata.proto.v0 import statistics_pb2

Histogram = Sequence[Tuple[float, float, float]]  # (low, high, count)


def linf(p: Mapping, q: Mapping) -> float:
    """max over the union of keys of |p(k) - q(k)|, missing keys counting as 0."""
    keys = set(p) | set(q)
    if not keys:
        return 0.0
    return max(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys)


def normalise(counts: Mapping) -> Dict:
    total = float(sum(counts.values()))
    if total <= 0:
        return {}
    return {k: v / total for k, v in counts.items()}


def categorical_distance(current: Mapping, baseline: Mapping) -> float:
    """L-infinity between two value -> count maps, each normalised to frequencies."""
    return linf(normalise(current), normalise(baseline))


def rebin(histogram: Histogram, edges: Sequence[float]) -> list:
    """Mass of `histogram` falling in each interval [edges[i], edges[i+1]]."""
    mass = [0.0] * (len(edges) - 1)
    for low, high, count in histogram:
        if count <= 0:
            continue
        if high <= low:
            # A point mass: it belongs to the interval that holds it (the last one that
            # starts at or before it, so a value on an edge goes to the right).
            index = max(i for i in range(len(edges) - 1) if edges[i] <= low or i == 0)
            mass[index] += count
            continue
        for i in range(len(edges) - 1):
            overlap = min(high, edges[i + 1]) - max(low, edges[i])
            if math.isnan(overlap):
                continue
            if overlap > 0:
                mass[i] += count * overlap / (high - low)
    return mass


NUMERIC_BUCKETS = 10


def _decile_range(histogram: Histogram) -> Tuple[float, float]:
    """(10th, 90th) percentile of an equal-count quantiles histogram."""
    buckets = sorted(histogram)
    return buckets[0][1], buckets[-1][0]


def common_edges(current: Histogram, baseline: Histogram, buckets: int = NUMERIC_BUCKETS) -> list:
    ranges = [_decile_range(h) for h in (current, baseline) if h]
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    if hi <= lo:
        return [-math.inf, lo, math.inf]
    inner = buckets - 2
    return [-math.inf] + [lo + (hi - lo) * i / inner for i in range(inner + 1)] + [math.inf]


def numeric_distance(current: Histogram, baseline: Histogram) -> float:
    """L-infinity between two quantile histograms re-binned onto common bucket edges."""
    if not current or not baseline:
        return 0.0 if not current and not baseline else 1.0
    edges = common_edges(current, baseline)
    p = rebin(current, edges)
    q = rebin(baseline, edges)
    sp, sq = sum(p), sum(q)
    if sp <= 0 or sq <= 0:
        return 0.0 if sp == sq else 1.0
    return max(abs(a / sp - b / sq) for a, b in zip(p, q))


# --- reading TFDV statistics protos ----------------------------------------------------

def value_counts(feature: statistics_pb2.FeatureNameStatistics) -> Dict[str, float]:
    """value -> count from a categorical feature's rank histogram (or top values)."""
    stats = feature.string_stats
    if stats.rank_histogram.buckets:
        return {b.label: b.sample_count for b in stats.rank_histogram.buckets}
    return {v.value: v.frequency for v in stats.top_values}


def quantiles_histogram(feature: statistics_pb2.FeatureNameStatistics) -> list:
    for histogram in feature.num_stats.histograms:
        if histogram.type == statistics_pb2.Histogram.QUANTILES:
            return [(b.low_value, b.high_value, b.sample_count) for b in histogram.buckets]
    return []


def common_stats(feature: statistics_pb2.FeatureNameStatistics):
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind else None


def is_categorical(feature: statistics_pb2.FeatureNameStatistics) -> bool:
    return feature.WhichOneof("stats") == "string_stats"


def merged_value_counts(features) -> Dict[str, float]:
    """value -> count summed over the splits' statistics of one feature."""
    total: Dict[str, float] = {}
    for feature in features:
        for value, count in value_counts(feature).items():
            total[value] = total.get(value, 0.0) + count
    return total


def merged_histogram(features) -> list:
    return [bucket for feature in features for bucket in quantiles_histogram(feature)]


def feature_distance(current: Sequence, baseline: Sequence) -> Tuple[str, float]:
    """(kind, distance) between two features, each given as its per-split statistics."""
    if any(is_categorical(f) for f in list(current) + list(baseline)):
        return "categorical", categorical_distance(
            merged_value_counts(current), merged_value_counts(baseline)
        )
    return "numeric", numeric_distance(merged_histogram(current), merged_histogram(baseline))
