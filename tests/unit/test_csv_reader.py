"""The one CSV reading path, on files a user really has: byte-order marks, CRLF line
ends, quoted commas and line breaks, and a field longer than Arrow's parsing block."""
import pytest

from components.errors import DataError
from components.example_gen import csv_reader


def _write(tmp_path, data: bytes, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_bom_crlf_and_quotes_are_read_as_a_person_means_them(tmp_path):
    path = _write(tmp_path, b'\xef\xbb\xbffare,company\r\n1.5,"A, Inc."\r\n2,"two\r\nlines"\r\n')
    table = csv_reader.read_csv_file(path)
    assert table.column_names == ["fare", "company"]
    assert table.column("company").to_pylist() == ["A, Inc.", "two\r\nlines"]
    assert csv_reader.csv_header(path) == ["fare", "company"]


def test_a_field_longer_than_a_parsing_block(tmp_path):
    long = b"x" * (5 * csv_reader.BLOCK_SIZE)
    table = csv_reader.read_csv_file(_write(tmp_path, b"fare,note\n1," + long + b"\n2,short\n"))
    assert table.num_rows == 2 and len(table.column("note")[0].as_py()) == len(long)


def test_types_are_inferred_over_the_whole_span(tmp_path):
    a = _write(tmp_path, b"n,x,s\n1,1,a\n,2,b\n", "a.csv")
    b = _write(tmp_path, b"n,x,s\n3,2.5,7\n", "b.csv")
    batch = csv_reader.typed_batch(csv_reader.read_span([a, b]))
    assert csv_reader.column_types(batch) == {"n": "INT", "s": "BYTES", "x": "FLOAT"}
    assert batch.column(batch.schema.names.index("n")).to_pylist() == [[1], [], [3]]


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"a,b\n1,2\n3\n", ":3: 1 fields where the header has 2"),
    (b"a,b\n1,\xe9\n", ":2: byte 0xe9 at offset 6 is not UTF-8"),
    (b"a,a\n1,2\n", ":1: column 'a' appears twice"),
    (b"a,,c\n1,2,3\n", ":1: column 2 of the header has no name"),
    (b"a,b\n1,\x002\n", ":2: a NUL byte at offset 6"),
])
def test_a_file_that_cannot_be_read_is_named_with_its_row(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(DataError) as err:
        csv_reader.read_csv_file(path)
    assert str(err.value).startswith(path) and message in str(err.value)


def test_spans_list_only_their_csv_files(tmp_path):
    for name in ("b.csv", "a.csv", ".hidden.csv", "notes.txt"):
        _write(tmp_path, b"a\n1\n", name)
    assert [p.rsplit("/", 1)[1] for p in csv_reader.list_files(str(tmp_path))] == ["a.csv", "b.csv"]
    with pytest.raises(DataError, match="no CSV files match"):
        csv_reader.span_files(str(tmp_path), "span-{SPAN}/*.csv", 3)
