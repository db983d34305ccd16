"""The embedded data: time-ordered spans cut from the Chicago Taxi sample that ships inside
the tfx wheel (`driftline data`, `make data`).

Rows are split as raw bytes, never parsed and re-written, so every value keeps its exact
text: a float-typed rewrite would turn `8` into `8.0` and change the type that
CsvExampleGen infers for the column.
"""
import csv
import datetime as dt
import importlib.metadata
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

from components.errors import DataError
from driftline.data.span_file import SPAN_FILE, span_file
from pipeline.inputs import sha256_of
from pipeline.spans import find_spans

SOURCE_IN_TFX = "examples/chicago_taxi_pipeline/data/simple/data.csv"
TIMESTAMP_COLUMN = "trip_start_timestamp"
PROVENANCE_FILE = "PROVENANCE.json"


@dataclass(frozen=True)
class SpanInfo:
    span: int
    year: int
    rows: int
    path: Path


def embedded_source() -> Path:
    """The taxi CSV inside the installed tfx package; nothing is downloaded."""
    path = Path(str(importlib.resources.files("tfx") / SOURCE_IN_TFX))
    if not path.is_file():
        raise DataError(f"the taxi sample is missing from the installed tfx package: {path}")
    return path


def _rows_by_year(source: Path):
    """Yields (header_bytes, {year: [raw line bytes]}, {year: (min_ts, max_ts)})."""
    with open(source, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    if not lines:
        raise DataError(f"{source}: the file is empty")
    header = lines[0]
    columns = next(csv.reader([header.decode("utf-8")]))
    if TIMESTAMP_COLUMN not in columns:
        raise DataError(
            f"{source}:1: no '{TIMESTAMP_COLUMN}' column in the header; spans are cut by it"
        )
    ts_index = columns.index(TIMESTAMP_COLUMN)
    by_year, ranges = {}, {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line.decode("utf-8")]))
        if len(fields) != len(columns):
            raise DataError(
                f"{source}:{number}: {len(fields)} fields where the header has {len(columns)}"
            )
        try:
            ts = int(fields[ts_index])
        except ValueError:
            raise DataError(
                f"{source}:{number}: {TIMESTAMP_COLUMN} is {fields[ts_index]!r}, "
                "not a Unix time in seconds"
            ) from None
        year = dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).year
        by_year.setdefault(year, []).append(line if line.endswith(b"\n") else line + b"\n")
        lo, hi = ranges.get(year, (ts, ts))
        ranges[year] = (min(lo, ts), max(hi, ts))
    if not by_year:
        raise DataError(f"{source}: the header is there but no data rows follow")
    return header, by_year, ranges


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat()


def _source_label(source: Path) -> str:
    try:
        if source.resolve() == embedded_source().resolve():
            return f"tfx=={importlib.metadata.version('tfx')}:tfx/{SOURCE_IN_TFX}"
    except DataError:
        pass
    return str(source)


def prepare_spans(data_root: Path, source: Path | None = None) -> list[SpanInfo]:
    """Writes data_root/span-N/data.csv, one span per calendar year in time order.

    Re-running with the same source is a no-op, so a span's files (and the fingerprint
    CsvExampleGen takes of them) stay stable and cached components stay cached.
    """
    source = Path(source) if source else embedded_source()
    if not source.is_file():
        raise DataError(f"{source}: no such source CSV file")
    data_root = Path(data_root)
    source_sha = sha256_of(source)
    existing = _existing_spans_from(data_root, source_sha)
    if existing:
        return existing

    header, by_year, ranges = _rows_by_year(source)
    header = header if header.endswith(b"\n") else header + b"\n"
    infos = []
    for span, year in enumerate(sorted(by_year), start=1):
        with span_file(data_root, span, binary=True) as (f, target):
            f.write(header)
            f.writelines(by_year[year])
        span_dir = target.parent
        lo, hi = ranges[year]
        provenance = {
            "span": span,
            "year": year,
            "source": _source_label(source),
            "source_sha256": source_sha,
            "rows": len(by_year[year]),
            "first_trip_start": _iso(lo),
            "last_trip_start": _iso(hi),
            "file": SPAN_FILE,
            "file_sha256": sha256_of(target),
        }
        (span_dir / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
        infos.append(SpanInfo(span, year, len(by_year[year]), span_dir))
    return infos


def _existing_spans_from(data_root: Path, source_sha: str) -> list[SpanInfo]:
    infos = []
    for span in find_spans(data_root):
        span_dir = data_root / f"span-{span}"
        try:
            prov = json.loads((span_dir / PROVENANCE_FILE).read_text())
        except (OSError, ValueError):
            return []
        if prov.get("source_sha256") != source_sha or not (span_dir / SPAN_FILE).is_file():
            return []
        infos.append(SpanInfo(span, prov["year"], prov["rows"], span_dir))
    return infos
