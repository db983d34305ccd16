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
from driftline.pipeline_run import check_inputs
from pipeline.config import PROJECT_ROOT, load_config

EXAMPLES = int(os.environ.get("DRIFTLINE_FUZZ_EXAMPLES", "150"))
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


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.one_of(st.just(HEADER), st.lists(st.sampled_from(HEADER + ["", "x", "fare"]), max_size=8)),
       body=rows, crlf=st.booleans(), encoding=encodings)
def test_any_csv_text_is_accepted_or_refused_in_one_message(tmp_path_factory, header, body, crlf, encoding):
    text = _csv(header, body, crlf)
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        content = text.encode("utf-8", errors="surrogatepass")
    _check(tmp_path_factory.mktemp("fuzz"), content)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=512), prefix=st.sampled_from([b"", b"\xef\xbb\xbf", ",".join(HEADER).encode() + b"\n"]))
def test_any_bytes_are_accepted_or_refused_in_one_message(tmp_path_factory, junk, prefix):
    _check(tmp_path_factory.mktemp("fuzz"), prefix + junk)
