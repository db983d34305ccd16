"""Reading a span's CSV files: the one path every reader of CSV data takes.

The ExampleGen executor, the pre-run checks, the `drift` and `schema infer` commands and
the header checks all read CSV through here, so one file gets one verdict everywhere,
and a file that cannot be read is refused with a message naming the file (and the row,
where there is one).

Files are read through TFX's file-system layer (tf.io.gfile), so a data root may be any
scheme TFX supports (gs://, s3:// with the right plugin, ram:// in tests), then parsed
by Arrow's C++ reader with every column as text. Types are inferred over the whole span
the way CsvExampleGen infers them: INT if every non-empty cell of the column is an
integer, else FLOAT if every one is a number, else STRING. An empty cell is missing.
"""
import csv
import io
import os
import re
from typing import Dict, Iterable, List, Optional, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from components import storage
from components.errors import DataError

# Arrow parses in blocks; a row longer than a block is read again with a block that
# holds the whole file (up to Arrow's 2 GiB limit on one block).
BLOCK_SIZE = 1 << 20
MAX_BLOCK_SIZE = (1 << 31) - 1
_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")


def read_bytes(path: str) -> bytes:
    path = str(path)
    try:
        return storage.read_bytes(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except Exception as exc:  # the file-system layer raises its own errors for remote paths
        raise DataError(f"{path}: cannot read the file ({type(exc).__name__}: {exc})") from None


def list_files(directory: str, suffix: str = ".csv") -> List[str]:
    """The files directly in `directory` whose names end with `suffix`, sorted."""
    directory = str(directory)
    if not storage.isdir(directory):
        return []
    return [os.path.join(directory, n) for n in storage.listdir(directory)
            if n.endswith(suffix) and not n.startswith(".")]


def span_files(input_base: str, pattern: str, span: int) -> List[str]:
    """The span's files that `pattern` (ExampleGen's input pattern, with {SPAN}) matches:
    a directory part and a `*.suffix` file part, as driftline's spans are laid out."""
    relative = pattern.replace("{SPAN}", str(span))
    directory, name = os.path.split(relative)
    if not name.startswith("*") or "*" in name[1:] or "*" in directory:
        raise DataError(f"input pattern {pattern!r}: driftline reads DIR/*.EXT patterns only")
    files = list_files(os.path.join(input_base, directory), name[1:])
    if not files:
        raise DataError(f"{os.path.join(input_base, relative)}: no CSV files match")
    return files


def _text_of(path: str, data: bytes) -> str:
    """The file's text, or a DataError at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
                        "UTF-8; save the file as UTF-8 (from Latin-1, e.g. `iconv -f latin1 -t "
                        "utf-8`)") from None


def _no_nul(path: str, data: bytes):
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise DataError(f"{path}:{line}: a NUL byte at offset {nul}: the file is binary or corrupt, "
                        "not CSV text")


def header_of(path: str, data: bytes) -> List[str]:
    """The column names of a CSV file's first row, checked: present, unique, named."""
    if not data.strip():
        raise DataError(f"{path}: the file is empty (no header row)")
    # Arrow ends a row at \n, \r\n or a lone \r; the header is read the same way.
    first = re.split(rb"\r\n|\r|\n", data, maxsplit=1)[0]
    _no_nul(path, first)
    try:
        names = next(csv.reader([_text_of(path, first).lstrip("\ufeff")]), [])
    except csv.Error as exc:
        raise DataError(f"{path}:1: the header row is not CSV ({exc})") from None
    if not names or all(not n.strip() for n in names):
        raise DataError(f"{path}:1: the header row names no columns")
    seen = set()
    for index, name in enumerate(names, start=1):
        if not name.strip():
            raise DataError(f"{path}:1: column {index} of the header has no name")
        if name in seen:
            raise DataError(f"{path}:1: column '{name}' appears twice in the header")
        seen.add(name)
    return names


def csv_header(path) -> Optional[List[str]]:
    """Column names in a CSV file's first row; None for an empty file."""
    data = read_bytes(str(path))
    if not data.strip():
        return None
    return header_of(str(path), data)


def _ragged_row(path: str, text: str, width: int) -> str:
    """Where a row's field count differs from the header's: the first such row, found
    with Python's csv module (Arrow does not say which row it was)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        next(reader, None)
        for row in reader:
            if row and len(row) != width:
                return (f"{path}:{reader.line_num}: {len(row)} fields where the header has {width} "
                        f"(row starts {','.join(row)[:60]!r})")
    except csv.Error as exc:
        return f"{path}:{reader.line_num}: the row is not CSV ({exc})"
    return f"{path}: a row's field count differs from the header's {width}"


def read_csv_file(path: str, data: Optional[bytes] = None, skipped: Optional[list] = None) -> pa.Table:
    """One CSV file as a table of string columns (empty cell -> null). With `skipped` (a
    list), a row whose field count differs from the header's (a line torn by a crash
    mid-write) is left out and its (line, text) appended there, instead of refused."""
    path = str(path)
    data = read_bytes(path) if data is None else data
    _no_nul(path, data)
    names = header_of(path, data)
    block = BLOCK_SIZE

    def skip(row):
        skipped.append((row.number, row.text))
        return "skip"

    while True:
        try:
            return pacsv.read_csv(
                pa.BufferReader(data),
                # Arrow's CSV thread pool can abort the interpreter at exit (pyarrow 10:
                # "terminate called without an active exception"); one thread reads fast
                # enough for a span, and the process always exits cleanly.
                read_options=pacsv.ReadOptions(block_size=block, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                                 invalid_row_handler=skip if skipped is not None else None),
                convert_options=pacsv.ConvertOptions(
                    # Every column as text: types are inferred over the whole span, not
                    # per file and not by Arrow's own rules (dates, booleans).
                    column_types={name: pa.string() for name in names},
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "straddling object" in message and block < min(len(data) + 1, MAX_BLOCK_SIZE):
                block = min(max(block * 8, len(data) + 1), MAX_BLOCK_SIZE)
                continue
            if "invalid UTF8" in message:
                _text_of(path, data)  # raises at the first byte that is not UTF-8
            ragged = _RAGGED.search(message)
            if ragged:
                raise DataError(_ragged_row(path, _text_of(path, data), len(names))) from None
            raise DataError(f"{path}: not readable as CSV: {message.splitlines()[0]}") from None


def read_span(files: List[str]) -> pa.Table:
    """All files of a span as one table of string columns (empty cell -> null). Files
    must share one header."""
    return joined((path, read_csv_file(path)) for path in files)


def joined(tables: Iterable[Tuple[str, pa.Table]]) -> pa.Table:
    """(path, table) pairs, read one after the other, as one table; a file whose columns
    differ from the first file's is refused, naming both."""
    found, first, header = [], None, None
    for path, table in tables:
        if header is None:
            first, header = path, table.column_names
        elif table.column_names != header:
            raise DataError(
                f"{path}: columns {table.column_names} differ from {first}'s {header}"
            )
        found.append(table)
    if not found:
        raise DataError("no CSV files to read")
    return pa.concat_tables(found)


def typed_column(column: pa.ChunkedArray) -> pa.Array:
    """The column as a list array of int64, float32 or bytes values, CsvExampleGen's way."""
    column = column.combine_chunks()
    present = column.drop_null()
    values = None
    if len(present):
        for target in (pa.int64(), pa.float64()):
            try:
                values = pc.cast(present, target)
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        if values is None:
            values = pc.cast(present, pa.binary())
        elif values.type == pa.float64():
            values = pc.cast(values, pa.float32(), safe=False)
    valid = pc.cast(column.is_valid(), pa.int32())
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(valid)])
    if values is None:
        # No value anywhere: encoded as empty int lists, then rewritten to CsvExampleGen's
        # kind-less Feature (see canonical_bytes), which every schema type reads as missing.
        values = pa.array([], pa.int64())
    return pa.ListArray.from_arrays(offsets, values)


def typed_batch(table: pa.Table) -> pa.RecordBatch:
    """Every column typed the CsvExampleGen way, as list arrays in name order: what the
    tf.Example encoder and TFDV's statistics generators take."""
    names = sorted(table.column_names)
    return pa.RecordBatch.from_arrays([typed_column(table.column(n)) for n in names], names)


def column_types(batch: pa.RecordBatch) -> Dict[str, str]:
    """name -> "INT", "FLOAT", "BYTES" or "" (no value anywhere), as inferred."""
    kinds = {pa.int64(): "INT", pa.float32(): "FLOAT", pa.binary(): "BYTES"}
    found = {}
    for name, column in zip(batch.schema.names, batch.columns):
        found[name] = kinds.get(column.type.value_type, "") if len(column.flatten()) else ""
    return found
