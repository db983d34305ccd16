"""Editing a schema's text without losing its comments or its layout."""
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from driftline.schema.text_edit import canonical, rewrite
from driftline.schema.check import load_schema
from pipeline.config import PROJECT_ROOT
from components.errors import SchemaError

CURATED = PROJECT_ROOT / "schemas" / "schema.pbtxt"


def _edited(schema, edit):
    copy = schema_pb2.Schema()
    copy.CopyFrom(schema)
    edit(copy)
    return copy


def _feature(schema, name):
    return next(f for f in schema.feature if f.name == name)


@pytest.fixture
def curated():
    return CURATED.read_text(), load_schema(CURATED)


def test_no_change_gives_the_same_bytes(curated):
    text, schema = curated
    assert rewrite(text, schema, schema) == text


def test_edits_keep_every_comment_and_touch_only_their_lines(curated):
    text, schema = curated

    def edit(s):
        next(d for d in s.string_domain if d.name == "payment_type").value.append("Bitcoin")
        _feature(s, "fare").drift_comparator.infinity_norm.threshold = 0.45
        _feature(s, "fare").float_domain.max = 5000.0  # into a block written on one line
        _feature(s, "trip_miles").presence.min_count = 3

    new = _edited(schema, edit)
    out = rewrite(text, schema, new)
    assert canonical(text_format.Parse(out, schema_pb2.Schema())) == canonical(new)
    comments = [line for line in text.splitlines() if line.strip().startswith("#")]
    assert comments == [line for line in out.splitlines() if line.strip().startswith("#")]
    before, after = text.splitlines(), out.splitlines()
    assert len(after) == len(before) + 1  # only the new domain value takes a line of its own
    changed = [b for b, a in zip(before, after) if a != b]
    assert changed[:3] == [
        "  float_domain { min: 0.0 }",
        "  drift_comparator { infinity_norm { threshold: 0.1 } }",
        "  presence { min_fraction: 1.0 min_count: 1 }",
    ]
    assert "  float_domain { min: 0.0 max: 5000.0 }" in after
    assert "  drift_comparator { infinity_norm { threshold: 0.45 } }" in after
    assert '  value: "Bitcoin"' in after


def test_removed_feature_takes_its_comment_and_a_new_one_is_appended(curated):
    text, schema = curated

    def edit(s):
        del s.feature[[f.name for f in s.feature].index("company")]
        added = s.feature.add()
        added.name = "tolls"
        added.type = schema_pb2.FLOAT

    new = _edited(schema, edit)
    out = rewrite(text, schema, new)
    assert canonical(text_format.Parse(out, schema_pb2.Schema())) == canonical(new)
    assert 'name: "company"\n  type: BYTES' in text
    assert 'name: "company"\n  type: BYTES' not in out and 'name: "tolls"' in out
    lines = text.splitlines()
    company_comment = lines[lines.index('  name: "company"') - 2]
    assert company_comment.startswith("# Taxi company") and company_comment not in out
    assert len(out.splitlines()) < len(lines)


def test_nested_and_repeated_edits_in_a_small_file():
    text = ('# top\nfeature {\n  name: "a"  # keep me\n  type: INT\n}\n'
            'string_domain { name: "d" value: "x" }\n')
    old = text_format.Parse(text, schema_pb2.Schema())

    def edit(s):
        s.feature[0].presence.min_fraction = 0.5  # a message the block did not have
        s.string_domain[0].value[:] = ["y"]  # remove one value, add another
    new = _edited(old, edit)
    out = rewrite(text, old, new)
    assert out == ('# top\nfeature {\n  name: "a"  # keep me\n  type: INT\n  presence {\n'
                   '    min_fraction: 0.5\n  }\n}\nstring_domain { name: "d" value: "y" }\n')


def test_text_that_cannot_be_edited_in_place_is_refused():
    # List syntax for a repeated field is valid text format the editor does not track:
    # it must refuse rather than write something that means another schema.
    text = 'string_domain { name: "d" value: ["x", "y"] }\n'
    old = text_format.Parse(text, schema_pb2.Schema())
    new = _edited(old, lambda s: s.string_domain[0].value.remove("x"))
    with pytest.raises(SchemaError, match="nothing was written"):
        rewrite(text, old, new)
