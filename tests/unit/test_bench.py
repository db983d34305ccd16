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


def test_a_stage_peak_is_the_highest_sample_while_its_executions_ran(monkeypatch, tmp_path):
    # Two span nodes of one stage, a stage between, a node of no stage; times in seconds.
    intervals = {"CsvExampleGen_span1": (10.0, 12.0), "CsvExampleGen_span2": (12.5, 13.0),
                 "Transform": (14.0, 20.0), "DriftGate": (13.0, 14.0)}
    monkeypatch.setattr(bench, "mlmd_intervals", lambda db, name: intervals)
    mb = 2 ** 20
    samples = [(9.0, 9000 * mb), (11.0, 300 * mb), (12.8, 350 * mb), (13.5, 999 * mb),
               (15.0, 800 * mb), (19.9, 1200 * mb), (21.0, 5000 * mb)]
    result = {"samples": samples}
    peaks = bench.stage_peaks(result, tmp_path / "metadata.sqlite", "driftline")
    # A node of no official stage is its own row; before the first and after the last
    # execution (and between two) is outside the nodes.
    assert peaks == {"CsvExampleGen": 350.0, "Transform": 1200.0, "DriftGate": 999.0, bench.OUTSIDE: 9000.0}
    assert "samples" not in result


def test_the_report_has_a_stage_peak_row_per_stage_measured():
    run = {"stage_peak_mb": {"Transform": 1234.4, "Trainer": 2048.0, "DriftGate": 700.0, bench.OUTSIDE: 400.0}}
    result = {"driftline": {"100": {"cold": {"runs": [run]}}},
              "official": {"in_memory": {"runs": [{"stage_peak_mb": {"Trainer": 999.0}}]}}}
    lines = bench.stage_peak_table(result)
    assert "| stage | driftline 100x | official in_memory 1x |" in lines
    assert "| Transform | 1,234 | — |" in lines and "| Trainer | 2,048 | 999 |" in lines
    assert not any(line.startswith("| Pusher") for line in lines)
    # Nodes of no official stage after the stages, and what ran outside the nodes last.
    assert lines[-2:] == ["| DriftGate | 700 | — |", f"| {bench.OUTSIDE} | 400 | — |"]
    assert bench.stage_peak_table({"driftline": {}}) == []
