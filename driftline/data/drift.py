"""`driftline drift`: two spans, or serving logs against a training span, compared without
running the pipeline.

The CSV files are read by the pipeline's own reader (components/example_gen/csv_reader),
so a file the pipeline accepts is accepted here and a file it refuses is refused with
the same message; the statistics a comparison reads are computed as TFDV's in-memory
generators compute them, without loading TFDV (driftline/span_statistics), with the
curated schema so categorical integers get value counts, and the comparison is the
DriftGate's own.
"""
from pathlib import Path

from components.drift_gate.comparison import DRIFT, SKEW, Comparison, compare
from components.errors import DataError
from components.example_gen import csv_reader
from pipeline.errors import ConfigError
from pipeline.spans import find_spans, span_dir


def read_span_table(data_root: Path, span: int):
    """A span's rows as the pipeline reads them (DataError when there are none)."""
    if span not in find_spans(data_root):
        available = ", ".join(map(str, find_spans(data_root))) or "none"
        raise DataError(f"{data_root}: span {span} not found (available: {available})")
    return read_directory(span_dir(data_root, span), f"span {span}")


def read_directory(directory: Path, what: str):
    files = csv_reader.list_files(str(directory))
    if not files:
        raise DataError(f"{directory}: no CSV files ({what})")
    table = csv_reader.read_span(files)
    if table.num_rows == 0:
        raise DataError(f"{directory}: the CSV files hold a header and no rows ({what})")
    return table


def statistics(table, schema=None):
    """The statistics a comparison reads, of a table read by csv_reader."""
    from driftline.data import statistics as span_statistics

    return span_statistics.statistics(csv_reader.typed_batch(table), schema)


def csv_statistics(directory: Path, schema=None):
    """TFDV's full statistics of every CSV file in a directory (what schema inference
    reads), computed in this process."""
    import tensorflow_data_validation as tfdv
    from tensorflow_data_validation.statistics import stats_impl

    table = read_directory(directory, "CSV data")
    options = tfdv.StatsOptions(schema=schema) if schema is not None else tfdv.StatsOptions()
    return stats_impl.generate_statistics_in_memory(csv_reader.typed_batch(table), options)


def span_inputs(data_root: Path, baseline_span: int, span: int):
    """(baseline table, current table) for `drift`, read and checked before anything is computed."""
    if baseline_span == span:
        raise ConfigError(f"--baseline-span {span} and --span {span} name the same span: "
                          "compare two different spans")
    return read_span_table(data_root, baseline_span), read_span_table(data_root, span)


def skew_inputs(data_root: Path, span: int, serving_dir: Path):
    """(training table, serving table) for `drift --serving-data`."""
    if not Path(serving_dir).is_dir():
        raise DataError(f"{serving_dir}: no such directory of serving CSV files")
    return read_span_table(data_root, span), read_directory(serving_dir, "serving data")


def compare_spans(baseline, current, schema, baseline_span: int, span: int) -> Comparison:
    return compare([statistics(current, schema)], [statistics(baseline, schema)], schema, DRIFT,
                   current_label=f"span {span}", baseline_label=f"span {baseline_span}",
                   environment="TRAINING")


def compare_skew(training, serving, schema, span: int, serving_dir: Path) -> Comparison:
    """Training-serving skew: serving logs (CSV, no label) against a training span, by the
    schema's skew_comparator thresholds, in the schema's SERVING environment."""
    return compare([statistics(serving, schema)], [statistics(training, schema)], schema, SKEW,
                   current_label=f"serving data {serving_dir}",
                   baseline_label=f"training span {span}", environment="SERVING")
