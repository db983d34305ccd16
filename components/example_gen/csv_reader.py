"""Reading a span's CSV files: the one path every reader of CSV data takes.

The ExampleGen executor, the `drift` and `schema infer` commands and the header checks
all read CSV through here, so one file gets one verdict everywhere. Arrow's C++ reader
takes every column as text; types are then inferred over the whole span the way
CsvExampleGen infers them: INT if every non-empty cell of the column is an integer, else
FLOAT if every one is a number, else STRING. An empty cell is a missing value.
"""
import csv
import glob
import os
from typing import Dict, List, Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from components.errors import DataError


def span_files(input_base: str, pattern: str, span: int) -> List[str]:
    """The span's files that `pattern` (ExampleGen's input pattern, with {SPAN}) matches."""
    pattern = pattern.replace("{SPAN}", str(span))
    files = sorted(glob.glob(os.path.join(input_base, pattern)))
    if not files:
        raise DataError(f"{os.path.join(input_base, pattern)}: no CSV files match")
    return files


def read_span(files: List[str]) -> pa.Table:
    """All files of a span as one table of string columns (empty cell -> null)."""
    tables, header = [], None
    for path in files:
        try:
            table = pacsv.read_csv(
                path,
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    # Every column as text: types are inferred below over the whole span,
                    # not per file and not by Arrow's own rules (dates, booleans).
                    column_types=_all_strings(path),
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid as e:
            raise DataError(f"{path}: {e}") from None
        if header is None:
            header = table.column_names
        elif table.column_names != header:
            raise DataError(
                f"{path}: columns {table.column_names} differ from {files[0]}'s {header}"
            )
        tables.append(table)
    return pa.concat_tables(tables)


def csv_header(path) -> Optional[List[str]]:
    """Column names in a CSV file's first row; None for an empty file."""
    with open(path, newline="") as f:
        return next(csv.reader(f), None)


def _all_strings(path: str) -> Dict[str, pa.DataType]:
    names = csv_header(path)
    if not names:
        raise DataError(f"{path}: the file is empty (no header row)")
    return {name: pa.string() for name in names}


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
