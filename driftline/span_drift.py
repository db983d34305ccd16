"""Drift between two spans straight from their CSV files, without running the pipeline.

Uses the same statistics generator (TFDV, with the curated schema so categorical
integers get value counts) and the same comparison code as the DriftGate component.
"""
from pathlib import Path

from components.drift_gate.comparison import DRIFT, SKEW, Comparison, compare
from components.errors import DataError
from driftline.schema.check import load_schema


def csv_statistics(span_dir: Path, schema=None):
    import tensorflow_data_validation as tfdv
    from apache_beam.options.pipeline_options import PipelineOptions

    files = sorted(Path(span_dir).glob("*.csv"))
    if not files:
        raise DataError(f"{span_dir}: no CSV files")
    return tfdv.generate_statistics_from_csv(
        str(Path(span_dir) / "*.csv"),
        # Without a schema TFDV sees categorical integers as plain numbers.
        stats_options=tfdv.StatsOptions(schema=schema) if schema is not None else tfdv.StatsOptions(),
        pipeline_options=PipelineOptions(["--direct_running_mode=in_memory"]),
    )


def compare_spans(data_root: Path, baseline_span: int, span: int, schema_file: Path,
                  comparator: str = DRIFT) -> Comparison:
    schema = load_schema(schema_file)
    dirs = {}
    for s in (baseline_span, span):
        dirs[s] = Path(data_root) / f"span-{s}"
        if not dirs[s].is_dir():
            raise DataError(f"{dirs[s]}: no such span directory")
    return compare(
        [csv_statistics(dirs[span], schema)],
        [csv_statistics(dirs[baseline_span], schema)],
        schema,
        comparator,
        current_label=f"span {span}",
        baseline_label=f"span {baseline_span}",
    )


def compare_skew(data_root: Path, span: int, serving_dir: Path, schema_file: Path) -> Comparison:
    """Training-serving skew: serving logs (CSV, no label) against a training span, by the
    schema's skew_comparator thresholds."""
    schema = load_schema(schema_file)
    training = Path(data_root) / f"span-{span}"
    if not training.is_dir():
        raise DataError(f"{training}: no such span directory")
    if not Path(serving_dir).is_dir():
        raise DataError(f"{serving_dir}: no such directory of serving CSV files")
    return compare(
        [csv_statistics(serving_dir, schema)],
        [csv_statistics(training, schema)],
        schema,
        SKEW,
        current_label=f"serving data {serving_dir}",
        baseline_label=f"training span {span}",
    )
