"""The request log as windows of rows: the newest `rows` (or those since a time) and the
same number before them, which drift is measured against."""
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from components.errors import DataError
from components.example_gen import csv_reader
from driftline.serving.request_log import EXTRA


@dataclass
class Window:
    current: object            # pyarrow Table, the rows judged
    previous: Optional[object]  # the rows before them (None when there are none)
    files: list
    total_rows: int


def read_log(directory: Path, features=(), notes: Optional[list] = None):
    """Every row of the log directory, oldest first (file names carry their start time).

    A log is written by a server that can crash mid-line, so a torn row, or a row whose
    timestamp is not a number, is left out and named in `notes` rather than refusing
    every pass. A file without a column the log must have (EXTRA, or one of the serving
    `features` the monitor compares) is refused, naming the file and the columns."""
    notes = [] if notes is None else notes
    files = sorted(csv_reader.list_files(str(directory)))
    if not files:
        raise DataError(f"{directory}: no request log files (requests-*.csv); is `driftline serve` "
                        "writing there, and has it answered any request?")
    return csv_reader.joined((path, _read_file(path, list(features), notes)) for path in files), files


def _read_file(path: str, features: list, notes: list):
    import pyarrow as pa

    torn = []
    table = csv_reader.read_csv_file(path, skipped=torn)
    for line, text in torn[:3]:
        notes.append(f"{path}:{line or '?'}: a torn row was left out ({(text or '')[:60]!r})")
    if len(torn) > 3:
        notes.append(f"{path}: {len(torn) - 3} more torn rows were left out")
    missing = [c for c in EXTRA + features if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: not a request log for this schema: column{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} missing (a request log "
                        f"has the schema's serving features and {', '.join(EXTRA)}); nothing was judged")
    stamps = [_number(v) for v in table.column("timestamp").to_pylist()]
    bad = [i for i, v in enumerate(stamps) if v is None]
    if bad:
        lines = _lines_of_rows(table.num_rows, {line for line, _ in torn})
        shown = ", ".join(f"line {lines[i]}: {table.column('timestamp')[i].as_py()!r}" for i in bad[:3])
        notes.append(f"{path}: {len(bad)} row{'s' if len(bad) > 1 else ''} left out, the timestamp not a "
                     f"number of seconds ({shown}{', ...' if len(bad) > 3 else ''})")
        keep = [v is not None for v in stamps]
        table = table.filter(pa.array(keep))
    return table


def _lines_of_rows(rows: int, skipped: set) -> list:
    """The file line of each row read, the header being line 1 and the skipped (torn)
    lines not rows (a value holding a line break would shift this: the server writes none)."""
    lines, line = [], 2
    for _ in range(rows):
        while line in skipped:
            line += 1
        lines.append(line)
        line += 1
    return lines


def _number(text) -> Optional[float]:
    import math

    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def parse_time(text: str) -> float:
    """Seconds since the epoch, from an ISO 8601 time (UTC unless it says otherwise) or
    a number of seconds."""
    import datetime as dt

    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        from pipeline.errors import ConfigError

        raise ConfigError(f"--since {text!r}: not a time (use ISO 8601, e.g. 2026-11-29T10:00, "
                          "or seconds since the epoch)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def select(directory: Path, rows: int, since: Optional[str] = None, features=(),
           notes: Optional[list] = None) -> Window:
    table, files = read_log(directory, features, notes)
    n = table.num_rows
    if since is not None:
        import pyarrow.compute as pc

        first = n - int(pc.sum(pc.greater_equal(_stamps(table), parse_time(since))).as_py() or 0)
        current = table.slice(first)
        previous = table.slice(max(0, first - current.num_rows), min(first, current.num_rows))
    else:
        current = table.slice(max(0, n - rows))
        start = max(0, n - rows)
        previous = table.slice(max(0, start - rows), min(start, rows))
    if current.num_rows == 0:
        raise DataError(f"{directory}: no logged request in the window"
                        + (f" (since {since})" if since else ""))
    return Window(current, previous if previous.num_rows else None, files, n)


def _stamps(table):
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(table.column("timestamp"), pa.float64())


def consecutive(table, files: list, after: float, rows: int) -> Iterator[Window]:
    """The complete windows of `rows` rows logged after the time `after`, oldest first,
    each with the `rows` rows before it: what a watcher has not judged yet."""
    import pyarrow.compute as pc

    first = table.num_rows - int(pc.sum(pc.greater(_stamps(table), after)).as_py() or 0)
    while first + rows <= table.num_rows:
        previous = table.slice(max(0, first - rows), min(first, rows))
        yield Window(table.slice(first, rows), previous if previous.num_rows else None, files, table.num_rows)
        first += rows


def since(table, moment: float):
    """The rows logged at or after `moment` (seconds since the epoch)."""
    import pyarrow.compute as pc

    return table.filter(pc.greater_equal(_stamps(table), moment))


def rows_of(table, version: str):
    import pyarrow.compute as pc

    return table.filter(pc.equal(table.column("model_version"), version))


def floats(table, column: str) -> np.ndarray:
    return np.asarray([float(v) for v in table.column(column).to_pylist() if v not in (None, "")])
