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


def read_log(directory: Path):
    """Every row of the log directory, oldest first (file names carry their start time)."""
    files = sorted(csv_reader.list_files(str(directory)))
    if not files:
        raise DataError(f"{directory}: no request log files (requests-*.csv); is `driftline serve` "
                        "writing there, and has it answered any request?")
    table = csv_reader.read_span(files)
    missing = [c for c in EXTRA if c not in table.column_names]
    if missing:
        raise DataError(f"{directory}: not a request log: columns {', '.join(missing)} are missing "
                        f"(a request log has the serving features and {', '.join(EXTRA)})")
    return table, files


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


def select(directory: Path, rows: int, since: Optional[str] = None) -> Window:
    table, files = read_log(directory)
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
