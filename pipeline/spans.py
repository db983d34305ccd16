"""Time-ordered spans from the Chicago Taxi sample that ships inside the tfx wheel.

Rows are split as raw bytes, never parsed and re-written, so every value keeps its exact
text: a float-typed rewrite would turn `8` into `8.0` and change the type that
CsvExampleGen infers for the column.
"""
import csv
import datetime as dt
import hashlib
import importlib.resources
import importlib.metadata
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DataError

SOURCE_IN_TFX = "examples/chicago_taxi_pipeline/data/simple/data.csv"
TIMESTAMP_COLUMN = "trip_start_timestamp"
SPAN_FILE = "data.csv"
PROVENANCE_FILE = "PROVENANCE.json"
_SPAN_DIR = re.compile(r"^span-(\d+)$")


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        span_dir = data_root / f"span-{span}"
        span_dir.mkdir(parents=True, exist_ok=True)
        target = span_dir / SPAN_FILE
        tmp = target.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(header)
            f.writelines(by_year[year])
        os.replace(tmp, target)
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


def find_spans(data_root: Path) -> list[int]:
    """Span numbers present under data_root (directories named span-N), ascending."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        return []
    spans = []
    for child in data_root.iterdir():
        match = _SPAN_DIR.match(child.name)
        if match and child.is_dir():
            spans.append(int(match.group(1)))
    return sorted(spans)


def read_provenance(data_root: Path, span: int) -> dict:
    path = Path(data_root) / f"span-{span}" / PROVENANCE_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def resolve_span(config) -> int:
    """The span a run is for: the configured one, or the latest under data_root."""
    if config.on_cluster:  # a bucket is not listed from here: the span is named
        if config.span is None:
            raise DataError("compiling for a cluster needs the span to run for (--span N)")
        return config.span
    available = find_spans(config.data_root)
    if not available:
        raise DataError(
            f"{config.data_root}: no span-N directories with CSV files; run `make data` "
            "or pass --data-root"
        )
    if config.span is None:
        return available[-1]
    if config.span not in available:
        raise DataError(
            f"{config.data_root}: span {config.span} not found (available: "
            f"{', '.join(map(str, available))})"
        )
    return config.span


def training_window(config, span: int) -> list:
    """Spans the model trains on: the last `window` available spans up to `span`."""
    if config.on_cluster:  # spans on a cluster are numbered 1..span without gaps
        start = 1 if config.window is None else max(1, span - config.window + 1)
        return list(range(start, span + 1))
    upto = [s for s in find_spans(config.data_root) if s <= span]
    return upto if config.window is None else upto[-config.window:]


def previous_span(config, span: int):
    """The latest span before `span` under data_root, or None."""
    if config.on_cluster:
        return span - 1 if span > 1 else None
    earlier = [s for s in find_spans(config.data_root) if s < span]
    return earlier[-1] if earlier else None


def source_files(config, span: int) -> dict:
    """{file name: sha256} of a span's CSV files, or {} when the data is not on this
    machine (a bucket, when compiling for a cluster)."""
    if config.on_cluster:
        return {}
    span_dir = Path(config.data_root) / f"span-{span}"
    if not span_dir.is_dir():
        return {}
    return {p.name: sha256_of(p) for p in sorted(span_dir.glob("*.csv"))}
