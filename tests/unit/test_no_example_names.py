"""No column of the embedded example is named in code: the task (label, where it is
known, inputs, slices) comes from the config and the schema, so driftline runs on any
data set without an edit. The example's own files are the exception."""
import re

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline.config import EXAMPLE, PROJECT_ROOT

# The embedded sample's own reader: it cuts the taxi CSV from the tfx package into spans.
EXAMPLE_FILES = {"driftline/data/sample.py"}
PACKAGES = ("components", "pipeline", "driftline")


def _example_names():
    schema = text_format.Parse((PROJECT_ROOT / "schemas" / "schema.pbtxt").read_text(), schema_pb2.Schema())
    return {f.name for f in schema.feature} | {EXAMPLE["task"]["label_name"]}


def _hits(text: str, names) -> list:
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b")
    return [(number, match.group(1)) for number, line in enumerate(text.splitlines(), start=1)
            for match in pattern.finditer(line)]


def test_no_column_of_the_example_is_named_in_code():
    names = _example_names()
    assert {"tips", "fare", "payment_type", "company", "big_tipper"} <= names
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            if relative not in EXAMPLE_FILES:
                found += [f"{relative}:{line}: {name}" for line, name in _hits(path.read_text(), names)]
    assert found == [], "column names of the embedded example in code:\n" + "\n".join(found)


def test_the_check_finds_a_name_where_there_is_one():
    assert _hits("x = row['payment_type']\ny = fares\n", {"payment_type", "fare"}) == [(1, "payment_type")]
