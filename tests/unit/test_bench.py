"""The benchmark's own logic: how data is scaled and how nodes map to stages."""
import importlib.util
from collections import Counter

from pipeline.config import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("bench_run", PROJECT_ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_scaling_resamples_each_span_from_its_own_rows(tmp_path):
    one = bench.scaled_data(1, tmp_path)
    ten = bench.scaled_data(10, tmp_path)
    for span_dir in sorted(one.glob("span-*")):
        original = (span_dir / "data.csv").read_bytes().splitlines()
        scaled = (ten / span_dir.name / "data.csv").read_bytes().splitlines()
        assert scaled[0] == original[0]  # the header, once
        assert len(scaled) - 1 == 10 * (len(original) - 1)
        assert set(scaled[1:]) <= set(original[1:])  # only real rows of that span
        # Resampled, not repeated: counts vary around 10 per row.
        counts = Counter(scaled[1:])
        assert len(set(counts.values())) > 3
    assert bench.row_count(ten) == 10 * bench.row_count(one)
    # Seeded: a second build gives the same bytes.
    again = bench.scaled_data(10, tmp_path / "again")
    assert (again / "span-4" / "data.csv").read_bytes() == (ten / "span-4" / "data.csv").read_bytes()


def test_nodes_map_to_the_official_stages():
    seconds = {"CsvExampleGen_span1": 2.0, "CsvExampleGen_span2": 3.0, "StatisticsGen": 4.0,
               "StatisticsGen_previous": 1.0, "DriftGate": 0.5, "Transform": 9.0, "Pusher": 0.1}
    assert bench.by_stage(seconds) == {"CsvExampleGen": 5.0, "StatisticsGen": 5.0,
                                       "Transform": 9.0, "Pusher": 0.1}
