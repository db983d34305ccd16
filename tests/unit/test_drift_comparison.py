"""compare(): per-feature verdicts against the schema, on hand-built statistics protos."""
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from components.drift_gate.comparison import ABSENT, OK, OVER, SKEW, UNMONITORED, compare


def _stats(n, payment, company_with_value, fares):
    """payment: {value: count}; fares: quantile buckets (low, high, count)."""
    buckets = "".join(f'buckets {{ label: "{v}" sample_count: {c} }}' for v, c in payment.items())
    fare_buckets = "".join(
        f"buckets {{ low_value: {lo} high_value: {hi} sample_count: {c} }}" for lo, hi, c in fares)
    return text_format.Parse(f"""
      datasets {{
        num_examples: {n}
        features {{ path {{ step: "payment_type" }} type: STRING
          string_stats {{ common_stats {{ num_non_missing: {n} tot_num_values: {n} }}
                         rank_histogram {{ {buckets} }} }} }}
        features {{ path {{ step: "company" }} type: STRING
          string_stats {{ common_stats {{ num_non_missing: {n} tot_num_values: {company_with_value} }}
                         rank_histogram {{ buckets {{ label: "A" sample_count: {company_with_value} }} }} }} }}
        features {{ path {{ step: "fare" }} type: FLOAT
          num_stats {{ common_stats {{ num_non_missing: {n} tot_num_values: {n} }}
                      histograms {{ type: QUANTILES {fare_buckets} }} }} }}
      }}""", statistics_pb2.DatasetFeatureStatisticsList())


SCHEMA = text_format.Parse("""
  feature { name: "payment_type" type: BYTES
            drift_comparator { infinity_norm { threshold: 0.1 } }
            skew_comparator { infinity_norm { threshold: 0.3 } } }
  feature { name: "company" type: BYTES }
  feature { name: "fare" type: FLOAT drift_comparator { infinity_norm { threshold: 0.1 } } }
  feature { name: "tips" type: FLOAT }
  dataset_constraints { num_examples_drift_comparator { min_fraction_threshold: 0.5 } }
""", schema_pb2.Schema())

FARES = [(0, 10, 50), (10, 20, 50)]


def _by_name(result):
    return {f.name: f for f in result.features}


def test_verdicts_thresholds_and_absent_features():
    base = _stats(100, {"Cash": 70, "Card": 30}, 60, FARES)
    cur = _stats(100, {"Cash": 50, "Card": 50}, 60, FARES)
    result = compare([cur], [base], SCHEMA)
    f = _by_name(result)
    assert f["payment_type"].distance == 0.2 and f["payment_type"].verdict == OVER
    assert f["fare"].distance == 0.0 and f["fare"].verdict == OK
    assert f["company"].verdict == UNMONITORED and f["company"].threshold is None
    assert f["tips"].verdict == ABSENT and f["tips"].distance is None
    assert [x.name for x in result.offending] == ["payment_type"] and not result.passed


def test_skew_reads_the_skew_thresholds():
    base = _stats(100, {"Cash": 70, "Card": 30}, 60, FARES)
    cur = _stats(100, {"Cash": 50, "Card": 50}, 60, FARES)
    result = compare([cur], [base], SCHEMA, comparator=SKEW)
    f = _by_name(result)
    assert f["payment_type"].threshold == 0.3 and f["payment_type"].verdict == OK
    assert f["fare"].verdict == UNMONITORED and result.passed


def test_empty_cells_count_as_missing():
    stats = _stats(100, {"Cash": 100}, 60, FARES)
    f = _by_name(compare([stats], [stats], SCHEMA))
    assert abs(f["company"].missing_current - 0.4) < 1e-9
    assert f["payment_type"].missing_current == 0.0


def test_example_count_ratio_is_gated_by_the_schema_bounds():
    base = _stats(100, {"Cash": 100}, 100, FARES)
    small = _stats(40, {"Cash": 40}, 40, [(0, 10, 20), (10, 20, 20)])
    result = compare([small], [base], SCHEMA)
    assert result.examples_ratio == 0.4 and result.examples_verdict == OVER and not result.passed
    assert compare([base], [base], SCHEMA).examples_verdict == OK


def test_splits_are_summed():
    half = _stats(50, {"Cash": 35, "Card": 15}, 30, [(0, 10, 25), (10, 20, 25)])
    whole = _stats(100, {"Cash": 70, "Card": 30}, 60, FARES)
    result = compare([half, half], [whole], SCHEMA)
    assert result.current_examples == 100
    assert _by_name(result)["payment_type"].distance == 0.0
    assert result.passed
