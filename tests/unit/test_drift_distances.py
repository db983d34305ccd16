import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.drift_gate import distances

counts = st.dictionaries(st.sampled_from(list("abcdefgh")), st.integers(1, 1000), min_size=1)


def test_identical_distributions_are_zero():
    assert distances.categorical_distance({"a": 3, "b": 1}, {"a": 30, "b": 10}) == 0.0
    h = [(0.0, 1.0, 10), (1.0, 2.0, 10)]
    assert distances.numeric_distance(h, list(h)) == 0.0


def test_hand_made_categorical_is_the_largest_share_change():
    # p = (0.75, 0.25, 0), q = (0.5, 0.25, 0.25): changes 0.25, 0, 0.25
    assert distances.categorical_distance({"a": 3, "b": 1}, {"a": 2, "b": 1, "c": 1}) == pytest.approx(0.25)
    assert distances.categorical_distance({"a": 1}, {"b": 1}) == pytest.approx(1.0)


def test_rebin_spreads_a_bucket_uniformly_and_keeps_point_masses():
    assert distances.rebin([(0.0, 10.0, 10)], [0.0, 5.0, 10.0]) == pytest.approx([5, 5])
    assert distances.rebin([(3.0, 3.0, 7)], [0.0, 5.0, 10.0]) == pytest.approx([7, 0])
    assert distances.rebin([(0.0, 4.0, 8)], [-math.inf, 1.0, math.inf]) == pytest.approx([2, 6])


def _deciles(lo, hi, n=100):
    step = (hi - lo) / 10
    return [(lo + i * step, lo + (i + 1) * step, n / 10) for i in range(10)]


def test_shifted_fare_scores_far_above_a_small_move():
    fares = _deciles(5.0, 40.0)
    # A $20 shift, and fares doubling, both clear the curated fare threshold (0.1) ...
    assert distances.numeric_distance(_deciles(25.0, 60.0), fares) > 0.15
    assert distances.numeric_distance(_deciles(10.0, 80.0), fares) > 0.12
    # ... by a wide margin over a few cents' move.
    assert distances.numeric_distance(_deciles(5.2, 40.3), fares) < 0.02


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_categorical_is_symmetric_bounded_and_the_max_difference(p, q):
    d = distances.categorical_distance(p, q)
    assert d == pytest.approx(distances.categorical_distance(q, p))
    assert 0.0 <= d <= 1.0 + 1e-12
    sp, sq = sum(p.values()), sum(q.values())
    expected = max(abs(p.get(k, 0) / sp - q.get(k, 0) / sq) for k in set(p) | set(q))
    assert d == pytest.approx(expected)


histograms = st.lists(
    st.tuples(st.floats(-100, 100), st.floats(0, 50), st.integers(1, 100)), min_size=1, max_size=10
).map(lambda buckets: [(low, low + width, n) for low, width, n in buckets])


@settings(max_examples=200, deadline=None)
@given(histograms, histograms)
def test_numeric_is_symmetric_and_bounded(p, q):
    d = distances.numeric_distance(p, q)
    assert 0.0 <= d <= 1.0 + 1e-9
    assert d == pytest.approx(distances.numeric_distance(q, p), abs=1e-9)
    assert distances.numeric_distance(p, p) == pytest.approx(0.0, abs=1e-12)
