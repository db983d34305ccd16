"""Property-based: whatever bytes a span's CSV file holds (column counts, quoting,
embedded line breaks, NUL bytes, other encodings, a byte-order mark, CRLF, binary junk),
the checks a run makes before anything is written either accept the span or refuse it
with driftline's own error naming the file or the schema: never another exception,
which would reach the user as a traceback. DRIFTLINE_FUZZ_EXAMPLES sets how many
(`make reliability` tries more)."""
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from components.errors import DriftlineError
from driftline.run.run import check_inputs
from pipeline.config import PROJECT_ROOT, load_config

EXAMPLES = int(os.environ.get("DRIFTLINE_FUZZ_EXAMPLES", "150"))
fuzzed = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEADER = (PROJECT_ROOT / "data" / "taxi" / "span-1" / "data.csv").read_text().splitlines()[0].split(",") \
    if (PROJECT_ROOT / "data" / "taxi" / "span-1" / "data.csv").exists() else ["fare", "tips", "payment_type"]

cells = st.one_of(
    st.sampled_from(["", "0", "1.5", "-3", "Cash", "Credit Card", "1e309", "nan", " ", "NULL"]),
    st.text(min_size=0, max_size=12),  # any Unicode, NUL and line breaks included
    st.text(alphabet='",\n\r\x00;', max_size=6),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=len(HEADER) + 2), min_size=0, max_size=6)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"])


def _csv(header, body, crlf):
    def quote(cell):
        return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell

    end = "\r\n" if crlf else "\n"
    return end.join([",".join(map(quote, header))] + [",".join(map(quote, r)) for r in body]) + end


def _check(tmp: Path, content: bytes):
    span = tmp / "taxi" / "span-1"
    span.mkdir(parents=True, exist_ok=True)
    (span / "data.csv").write_bytes(content)
    config = load_config(overrides={"data_root": str(tmp / "taxi"), "output_dir": str(tmp / "out"), "span": 1})
    try:
        check_inputs(config)
    except DriftlineError as exc:
        message = str(exc)
        assert message.strip(), "an empty message"
        assert str(span) in message or "schema" in message, message
    assert not (tmp / "out").exists()  # nothing is written before the checks pass


@fuzzed
@given(header=st.one_of(st.just(HEADER), st.lists(st.sampled_from(HEADER + ["", "x", "fare"]), max_size=8)),
       body=rows, crlf=st.booleans(), encoding=encodings)
def test_any_csv_text_is_accepted_or_refused_in_one_message(tmp_path_factory, header, body, crlf, encoding):
    text = _csv(header, body, crlf)
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        content = text.encode("utf-8", errors="surrogatepass")
    _check(tmp_path_factory.mktemp("fuzz"), content)


@fuzzed
@given(junk=st.binary(max_size=512), prefix=st.sampled_from([b"", b"\xef\xbb\xbf", ",".join(HEADER).encode() + b"\n"]))
def test_any_bytes_are_accepted_or_refused_in_one_message(tmp_path_factory, junk, prefix):
    _check(tmp_path_factory.mktemp("fuzz"), prefix + junk)


# --- named cases: each accepted and read right, or refused naming the file (and row) ---

def _good_rows(n=40) -> str:
    source = PROJECT_ROOT / "data" / "taxi" / "span-1" / "data.csv"
    return "\n".join(source.read_text().splitlines()[: n + 1]) + "\n"


def _refused(tmp: Path, content: bytes, *says, extra=None):
    span = tmp / "taxi" / "span-1"
    span.mkdir(parents=True)
    (span / "data.csv").write_bytes(content)
    if extra is not None:
        (span / "more.csv").write_bytes(extra)
    config = load_config(overrides={"data_root": str(tmp / "taxi"), "output_dir": str(tmp / "out"), "span": 1})
    try:
        check_inputs(config)
    except DriftlineError as exc:
        for text in says:
            assert text in str(exc), str(exc)
        assert not (tmp / "out").exists()
        return str(exc)
    raise AssertionError("accepted")


def test_a_byte_order_mark_and_crlf_line_ends_are_read_as_plain_utf8(tmp_path):
    from components.example_gen import csv_reader

    plain = tmp_path / "plain.csv"
    plain.write_text(_good_rows())
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + _good_rows().replace("\n", "\r\n").encode())
    assert csv_reader.read_csv_file(str(marked)).equals(csv_reader.read_csv_file(str(plain)))
    _check(tmp_path / "run", marked.read_bytes())  # and a run accepts it


def test_a_truncated_last_line_is_refused_at_its_row(tmp_path):
    text = _good_rows()
    cut = text[: text.rstrip("\n").rfind(",")]  # the last row loses its last fields
    rows = cut.count("\n") + 1
    _refused(tmp_path, cut.encode(), "span-1/data.csv:", f"{rows}:", "fields where the header has")


def test_ten_thousand_columns_are_read_whole_and_without_the_schemas_columns_refused(tmp_path):
    from components.example_gen import csv_reader

    # Extra columns are the data moving ahead of the schema: accepted here, reported by the
    # ExampleValidator and `schema update` in a run. Every one of them is read.
    header = ",".join(HEADER + [f"extra_{i}" for i in range(10_000 - len(HEADER))])
    wide = _good_rows(3).splitlines()
    rows = "\n".join(line + "," + ",".join(["1"] * (10_000 - len(HEADER))) for line in wide[1:])
    _check(tmp_path / "kept", f"{header}\n{rows}\n".encode())
    table = csv_reader.read_csv_file(str(tmp_path / "kept" / "taxi" / "span-1" / "data.csv"))
    assert (table.num_columns, table.num_rows) == (10_000, 3)
    only_new = ",".join(f"c{i}" for i in range(10_000))
    message = _refused(tmp_path / "new", f"{only_new}\n{','.join(['1'] * 10_000)}\n".encode(),
                       "schema.pbtxt", "is not a column of the data (c0, c1,", "9,988 more)")
    assert len(message) < 200 * len(HEADER), message[:500]  # a line per feature, each short


def test_one_very_long_line_is_refused_naming_the_file(tmp_path):
    # `make reliability` makes it 200 MB; here a few MB say the same.
    size = int(os.environ.get("DRIFTLINE_LONG_LINE_MB", "4")) * 1024 * 1024
    content = _good_rows(5).encode() + b"x" * size + b"\n"
    _refused(tmp_path, content, "span-1/data.csv")


def test_a_span_with_one_good_and_one_bad_file_is_refused_naming_the_bad_one(tmp_path):
    bad = _good_rows(5).encode().replace(b"Cash", b"Cash\xe9", 1)
    message = _refused(tmp_path, _good_rows().encode(), "span-1/more.csv", "not UTF-8", extra=bad)
    assert "data.csv" not in message


# --- schema and config files: random edits are accepted or refused, never a traceback ---

CURATED = (PROJECT_ROOT / "schemas" / "schema.pbtxt").read_text()
TOKENS = ["{", "}", ":", '"', "feature", "name", "type: INT", "type: BYTES", "threshold: -1",
          "infinity_norm {", "0.1", "1e999", "nan", "domain: \"nowhere\"", "\x00", "\xe9", "\n", ""]


def _edited(text: str, edits) -> str:
    lines = text.splitlines(keepends=True)
    for kind, at, token in edits:
        if not lines:
            break
        i = at % len(lines)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "replace":
            words = lines[i].split(" ")
            words[at % len(words)] = token
            lines[i] = " ".join(words)
        elif kind == "truncate":
            lines = lines[:i] + [lines[i][: at % (len(lines[i]) + 1)]]
        else:  # insert
            lines.insert(i, token + "\n")
    return "".join(lines)


def _write_edited(tmp_path_factory, name: str, text: str, changes) -> Path:
    path = tmp_path_factory.mktemp("edited") / name
    path.write_bytes(_edited(text, changes).encode("utf-8", errors="surrogatepass"))
    return path


edits = st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "replace", "truncate", "insert"]),
                           st.integers(min_value=0, max_value=10_000),
                           st.one_of(st.sampled_from(TOKENS), st.text(max_size=8))),
                 min_size=1, max_size=4)


@fuzzed
@given(changes=edits)
def test_random_edits_of_the_curated_schema_are_checked_without_a_traceback(tmp_path_factory, changes):
    from driftline.schema.check import check_schema

    path = _write_edited(tmp_path_factory, "schema.pbtxt", CURATED, changes)
    try:
        problems = check_schema(path, HEADER)
    except DriftlineError as exc:
        assert str(path) in str(exc), str(exc)
        return
    for problem in problems:
        assert str(problem).startswith(f"{path}:"), str(problem)


CONFIG = (PROJECT_ROOT / "configs" / "replay.toml").read_text()


@fuzzed
@given(changes=edits)
def test_random_edits_of_a_config_file_are_loaded_or_refused_in_one_message(tmp_path_factory, changes):
    path = _write_edited(tmp_path_factory, "driftline.toml", CONFIG, changes)
    try:
        load_config(path)
    except DriftlineError as exc:
        assert str(path) in str(exc) or "problems in the configuration" in str(exc) or "'" in str(exc), str(exc)
