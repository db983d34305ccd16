"""`driftline drift` computes its statistics without TFDV, so it never loads TensorFlow
(whose import alone is most of the command's time otherwise). Equivalence with TFDV's
statistics is tests/integration/test_span_statistics.py."""
import json
import subprocess
import sys

import numpy as np
import pyarrow as pa

from driftline.data import statistics as span_statistics
from pipeline.config import PROJECT_ROOT

_RUN_AND_LIST_MODULES = """
import json, sys
from driftline.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules
                  if m.split(".")[0] in ("tensorflow", "tensorflow_data_validation", "tfx"))}))
"""


def test_drift_runs_without_loading_tensorflow(small_spans, tmp_path):
    # Skew (--serving-data) computes its statistics through the same function.
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_MODULES, "drift", "--data-root", str(small_spans),
         "--output-dir", str(tmp_path / "out"), "--json", "--baseline-span", "1", "--span", "3"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["code"] in (0, 3), proc.stderr
    assert last["loaded"] == [], last["loaded"][:5]
    report = json.loads(proc.stdout[:proc.stdout.rindex("\n{")])
    assert len(report["features"]) >= 15 and all(f["verdict"] for f in report["features"])


def test_buckets_sharing_a_bound_share_their_weight():
    # Quantile bounds 1, 1, 1, 2, 5 with cumulative weights 3, 3, 6, 8, 10: the three
    # buckets ending at 1 share the 3 between them, and the weight at the lowest bound
    # (3, the minimum's own count) goes to the leading buckets identical to the first.
    lows, highs, weights = span_statistics.bucket_weights(np.array([1.0, 1, 1, 2, 5]),
                                                          np.array([3.0, 3, 6, 8, 10]))
    assert list(lows) == [1, 1, 1, 2] and list(highs) == [1, 1, 2, 5]
    assert list(weights) == [1.5 + 1.5, 1.5 + 1.5, 2.0, 2.0]
    assert sum(weights) == 10.0


def test_a_categorical_integer_gets_value_counts_and_a_number_gets_quantiles():
    from tensorflow_metadata.proto.v0 import schema_pb2

    hours = pa.array([[h % 24] for h in range(2400)] + [[]], pa.list_(pa.int64()))
    fares = pa.array([[float(v)] for v in range(2400)] + [None], pa.list_(pa.float32()))
    batch = pa.RecordBatch.from_arrays([hours, fares], ["hour", "fare"])
    schema = schema_pb2.Schema()
    schema.feature.add(name="hour", type=schema_pb2.INT).int_domain.is_categorical = True
    by_name = {f.path.step[0]: f for f in span_statistics.statistics(batch, schema).datasets[0].features}
    hour, fare = by_name["hour"], by_name["fare"]
    assert {b.label: b.sample_count for b in hour.string_stats.rank_histogram.buckets} == {
        str(h): 100 for h in range(24)}
    assert hour.string_stats.common_stats.num_non_missing == 2401  # an empty list is present
    assert hour.string_stats.common_stats.tot_num_values == 2400
    assert fare.num_stats.common_stats.num_missing == 1
    quantiles = [h for h in fare.num_stats.histograms if h.type == h.QUANTILES][0]
    assert len(quantiles.buckets) == span_statistics.QUANTILE_BUCKETS
    assert sum(b.sample_count for b in quantiles.buckets) == 2400
    assert quantiles.buckets[0].low_value == 0 and quantiles.buckets[-1].high_value == 2399
