"""A schema inferred from a span's data, to hold the curated one up against."""
import datetime
from pathlib import Path

from google.protobuf import text_format

from components.errors import DataError
from driftline.data.drift import csv_statistics
from pipeline.errors import ConfigError


def infer(span_dir: Path):
    """(schema, statistics) of the CSV files in one span directory. Statistics are
    computed without a schema, as TFDV's inference expects: with the curated one,
    categorical integers would get string statistics and an inferred string domain."""
    import tensorflow_data_validation as tfdv

    span_dir = Path(span_dir)
    if not span_dir.is_dir():
        raise DataError(f"{span_dir}: no such span directory")
    statistics = csv_statistics(span_dir)
    # A CSV cell can be empty, so no fixed shape is inferred: presence and value_count say it.
    return tfdv.infer_schema(statistics, infer_feature_shape=False), statistics


def write(schema, statistics, target: Path, curated: Path, source: str) -> Path:
    target = Path(target)
    if target.resolve() == Path(curated).resolve():
        raise ConfigError(f"{target}: refusing to write an inferred schema over the curated one")
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = statistics.datasets[0].num_examples
    header = (
        f"# Inferred by TFDV from {source} ({rows} rows) on {datetime.date.today()}.\n"
        "# The pipeline does not read this file: compare it with the curated schema through\n"
        f"#   driftline schema diff {curated} {target}\n"
    )
    target.write_text(header + text_format.MessageToString(schema))
    return target
