"""`driftline init`: a time-stamped CSV of any data set made into a working pipeline.

The file is cut into spans in time order (one per year or month of its time column), a
schema is inferred from all of its rows with drift thresholds measured between the
spans, and a config declaring the task is written beside them. Everything a person
could get wrong (the time column, a rule, an ignored column, a label of the wrong type)
is checked against the file's header and values before any file is written and before
TensorFlow is imported.
"""
import csv
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

from components.errors import DataError
from driftline.data.span_file import SPAN_FILE, span_file
from pipeline.errors import ConfigError

EVERY = ("year", "month")
PROVENANCE_FILE = "PROVENANCE.json"


@dataclass
class Request:
    source: Path
    time_column: str
    every: str
    label: str
    into: Path
    kind: str = "binary"
    known_when: str = ""
    ignore: List[str] = field(default_factory=list)
    # Cell texts that mean "missing" (R writes NA): written as empty cells in the spans.
    missing: List[str] = field(default_factory=list)
    # The zone whose calendar cuts the periods (a time without a zone is read in it too).
    time_zone: str = "UTC"
    # A strptime format for times in another form (e.g. %m/%d/%Y); empty: the forms above.
    time_format: str = ""


@dataclass
class Span:
    number: int
    period: str
    rows: int
    first: str
    last: str


# --- time -----------------------------------------------------------------------------

def instant(text: str, zone: dt.tzinfo = dt.timezone.utc, time_format: str = "") -> dt.datetime:
    """A time cell as a datetime in `zone`: Unix seconds, an ISO date or datetime (read in
    `zone` when it names none), a year, or what `time_format` (strptime's) describes."""
    text = text.strip()
    if time_format:
        parsed = dt.datetime.strptime(text, time_format)
        return parsed.astimezone(zone) if parsed.tzinfo else parsed.replace(tzinfo=zone)
    if re.fullmatch(r"\d{4}", text):
        return dt.datetime(int(text), 1, 1, tzinfo=zone)
    # A month (2013-01) or a compact date (20130115): forms common in exports, and never
    # Unix seconds of a real event (those would fall in 1970-1973).
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return dt.datetime(int(text[:4]), int(text[5:]), 1, tzinfo=zone)
    if re.fullmatch(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", text):
        return dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=zone)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return dt.datetime.fromtimestamp(float(text), tz=dt.timezone.utc).astimezone(zone)
    parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return parsed.astimezone(zone) if parsed.tzinfo else parsed.replace(tzinfo=zone)


def time_zone(name: str) -> dt.tzinfo:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--time-zone {name!r}: not a time zone this machine knows "
                          "(an IANA name such as UTC or America/New_York)") from None


def period_of(moment: dt.datetime, every: str) -> str:
    return f"{moment.year:04d}" if every == "year" else f"{moment.year:04d}-{moment.month:02d}"


def _periods(request: Request, header: List[str], rows: List[list]) -> Tuple[Dict[str, list], Dict[str, list]]:
    """period -> rows, and period -> [first, last] instant, every row's time read or refused."""
    index = header.index(request.time_column)
    zone = time_zone(request.time_zone)
    by_period: Dict[str, list] = {}
    bounds: Dict[str, list] = {}
    years_only = True
    for number, row in enumerate(rows, start=2):
        text = row[index]
        try:
            moment = instant(text, zone, request.time_format)
        except (ValueError, OverflowError, OSError):
            expected = (f"in the form --time-format {request.time_format!r}" if request.time_format else
                        "(Unix seconds, an ISO date or datetime, or a year; for another form give "
                        "--time-format, e.g. %m/%d/%Y)")
            raise DataError(f"{request.source}:{number}: {request.time_column} = {text!r} is not a time "
                            f"{expected}") from None
        years_only = years_only and not request.time_format and bool(re.fullmatch(r"\s*\d{4}\s*", text))
        key = period_of(moment, request.every)
        by_period.setdefault(key, []).append(row)
        low, high = bounds.setdefault(key, [moment, moment])
        bounds[key] = [min(low, moment), max(high, moment)]
    if years_only and request.every == "month":
        raise DataError(f"{request.source}: {request.time_column} holds years only; it cannot be cut "
                        "by month (use --every year)")
    return by_period, bounds


# --- checks before anything is written -------------------------------------------------

def _column_kinds(table) -> Dict[str, str]:
    """name -> "number" or "text", as the pipeline's reader types each column."""
    from components.example_gen import csv_reader

    types = csv_reader.column_types(csv_reader.typed_batch(table))
    return {name: ("text" if kind == "BYTES" else "number") for name, kind in types.items()}


def numbers_with_a_token(table) -> Dict[str, str]:
    """Text columns whose values are numbers but for one short token (NA, ?, null):
    column -> the token. Such a column is read as text unless the token is --missing."""
    found = {}
    for name, kind in _column_kinds(table).items():
        if kind != "text":
            continue
        others = set()
        for value in table.column(name).drop_null().unique().to_pylist():
            try:
                float(value)
            except ValueError:
                others.add(value)
                if len(others) > 1:
                    break
        if len(others) == 1 and len(next(iter(others))) <= 4:
            found[name] = others.pop()
    return found


def _first_text(table, name: str) -> str:
    """The first cell of a column that is not a number, for a message."""
    for value in table.column(name).to_pylist():
        try:
            float(value)
        except (TypeError, ValueError):
            if value is not None:
                return value
    return ""


def _check_rule(option: str, text: str, kinds: Dict[str, str], table):
    from components.model import rule

    try:
        parsed = rule.parse(text)
    except rule.RuleError as exc:
        raise ConfigError(f"{option} {text!r} cannot be read: {exc.why} at character {exc.position + 1}\n"
                          f"  {exc.pointed().replace(chr(10), chr(10) + '  ')}") from None
    for name, position, wanted in parsed.column_uses():
        if name not in kinds:
            raise ConfigError(f"{option} {text!r} reads the column '{name}' (character {position + 1}), "
                              f"which the file does not have (it has: {', '.join(kinds)})")
        if wanted in ("number", "text") and kinds[name] != wanted:
            hint = ""
            if wanted == "number":
                sample = _first_text(table, name)
                hint = f" such as {sample!r}" + (f" (if it means missing: --missing {sample})"
                                                 if sample.isalpha() and len(sample) <= 4 else "")
            raise ConfigError(f"{option} {text!r} uses '{name}' (character {position + 1}) as "
                              f"{'a number' if wanted == 'number' else 'text'}, but the file holds "
                              f"{'text' if kinds[name] == 'text' else 'numbers'} there{hint}")
    return parsed


def check(request: Request, header: List[str], kinds: Dict[str, str], table):
    """Every option against the file's header and column types: ConfigError naming it."""
    if request.every not in EVERY:
        raise ConfigError(f"--every {request.every!r}: it must be one of {', '.join(EVERY)}")
    if request.kind not in ("binary", "regression"):
        raise ConfigError(f"--kind {request.kind!r}: it must be binary or regression")
    time_zone(request.time_zone)
    if request.time_column not in header:
        raise ConfigError(f"--time {request.time_column!r}: the file has no such column "
                          f"(it has: {', '.join(header)})")
    for name in request.ignore:
        if name not in header:
            raise ConfigError(f"--ignore {name!r}: the file has no such column (it has: {', '.join(header)})")
    label = _check_rule("--label", request.label, kinds, table)
    if request.kind == "regression" and label.is_test:
        raise ConfigError(f"--label {request.label!r} says yes or no; a regression label is a number: "
                          "a numeric column or arithmetic over columns (or use --kind binary)")
    if request.known_when:
        _check_rule("--known-when", request.known_when, kinds, table)
    clash = [c for c in label.outcomes if c == request.time_column]
    if clash:
        raise ConfigError(f"--label {request.label!r} reads the time column '{clash[0]}' as its outcome")


# --- writing ----------------------------------------------------------------------------

def _write_spans(request: Request, header: List[str], by_period: Dict[str, list], bounds,
                 data_root: Path) -> List[Span]:
    from pipeline.inputs import sha256_of

    source_sha = sha256_of(request.source)
    spans = []
    for number, period in enumerate(sorted(by_period), start=1):
        with span_file(data_root, number) as (f, target):
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(by_period[period])
        first, last = (b.isoformat() for b in bounds[period])
        span = Span(number, period, len(by_period[period]), first, last)
        (target.parent / PROVENANCE_FILE).write_text(json.dumps({
            "span": number, "period": period, "source": str(request.source), "source_sha256": source_sha,
            "time_column": request.time_column, "rows": span.rows, "first": first, "last": last,
            "file": SPAN_FILE, "file_sha256": sha256_of(target)}, indent=2) + "\n")
        spans.append(span)
    return spans


def _read(source: Path, missing: List[str]):
    """(header, rows as lists of text, the table as the pipeline's reader reads it), each
    cell whose text is in `missing` made empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from components.example_gen import csv_reader

    if not source.is_file():
        raise DataError(f"{source}: no such CSV file")
    table = csv_reader.read_csv_file(str(source))
    if missing:
        marked = pa.array(missing, pa.string())
        table = pa.table({name: pc.if_else(pc.is_in(table.column(name), value_set=marked), None, table.column(name))
                          for name in table.column_names})
    if table.num_rows == 0:
        raise DataError(f"{source}: a header and no rows; there is nothing to cut into spans")
    columns = [[("" if v is None else v) for v in table.column(name).to_pylist()] for name in table.column_names]
    return table.column_names, [list(row) for row in zip(*columns)], table


@dataclass
class Prepared:
    """The file read, every option checked and every row's period known."""
    header: List[str]
    table: object
    by_period: Dict[str, list]
    bounds: Dict[str, list]

    @property
    def rows(self) -> int:
        return self.table.num_rows

    @property
    def empty(self) -> List[str]:
        """Columns without a value in any row: nothing to learn from or to watch."""
        return [name for name in self.header if self.table.column(name).null_count == self.table.num_rows]

    def not_inputs(self, request: "Request") -> List[str]:
        """The time column, what --ignore named, and the empty columns."""
        return list(dict.fromkeys([request.time_column] + request.ignore + self.empty))


def prepare(request: Request) -> Prepared:
    """Everything that can be refused, refused; nothing written yet."""
    header, rows, table = _read(request.source, request.missing)
    check(request, header, _column_kinds(table), table)
    return Prepared(header, table, *_periods(request, header, rows))


def cut(request: Request, prepared: Prepared, data_root: Path) -> List[Span]:
    """The rows written under data_root as span-N/, one per period, in time order."""
    return _write_spans(request, prepared.header, prepared.by_period, prepared.bounds, data_root)


# --- the config -------------------------------------------------------------------------

def model_name(directory_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", directory_name).strip("_.-") or "model"


def label_name(header: List[str]) -> str:
    name = "label"
    while name in header:
        name = f"{name}_"
    return name


def eval_steps(rows: int, defaults) -> int:
    """Batches the Trainer reads for its held-out rows: the whole train split of every
    span once (never fewer than the default), so that the threshold is chosen on rows
    of every span rather than of the first files read."""
    train_rows = rows * (100 - defaults.eval_percent) / 100
    return max(defaults.training.eval_steps, math.ceil(train_rows / defaults.training.batch_size))


def config_text(request: Request, prepared: Prepared, spans: List[Span], name: str) -> str:
    """driftline.toml for the new directory: paths relative to it, and the task."""
    def text(value) -> str:
        return json.dumps(value)

    lines = [
        f"# Written by `driftline init` from {request.source} on {dt.date.today()}: {len(spans)} spans "
        f"by {request.every} of {request.time_column}.",
        f"model_name = {text(model_name(name))}",
        'data_root = "data"',
        'schema_file = "schema.pbtxt"',
        'output_dir = "output"',
        "",
        "[task]",
        f"kind = {text(request.kind)}",
        "# The label rule; the columns on its left are outcomes, never model inputs.",
        f"label = {text(request.label)}",
        f"label_name = {text(label_name(prepared.header))}",
    ]
    if request.known_when:
        lines += ["# Rows where the label can be known; the others weigh 0 and are never judged.",
                  f"known_when = {text(request.known_when)}"]
    lines += ["# Not model inputs: the time the spans are cut by, what --ignore named, and the "
              "columns with no value in any row.",
              "ignore = [" + ", ".join(text(c) for c in prepared.not_inputs(request)) + "]", ""]
    from pipeline.config import Config

    rows = sum(s.rows for s in spans)
    lines += ["[training]",
              f"# The held-out rows (one in ten of the train split) come from one pass over all "
              f"{rows:,} rows' train split.",
              f"eval_steps = {eval_steps(rows, Config())}", ""]
    return "\n".join(lines)
