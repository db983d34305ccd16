"""`driftline schema diff`: what changed, feature by feature, and nothing else."""
import json

from driftline.schema import diff as schema_diff
from driftline.schema.text_edit import locate
from driftline.schema.check import load_schema
from driftline import cli
from pipeline.config import PROJECT_ROOT

CURATED = PROJECT_ROOT / "schemas" / "schema.pbtxt"


def _edit_text(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_a_schema_against_itself_is_empty(capsys):
    assert schema_diff.diff(load_schema(CURATED), load_schema(CURATED)) == []
    assert cli.main(["schema", "diff", str(CURATED), str(CURATED)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_an_edited_copy_lists_exactly_the_edits(tmp_path, capsys):
    text = CURATED.read_text()
    text = _edit_text(text, "threshold: 0.05 }", "threshold: 0.2 }")                 # trip_start_hour
    text = _edit_text(text, '  value: "Prcard"\n', '  value: "Prcard"\n  value: "Bitcoin"\n')
    text = _edit_text(text, '  int_domain { min: 0 max: 23 is_categorical: true }',
                      '  int_domain { min: 0 max: 24 is_categorical: true }')
    tract = next(f for f in locate(text).all("feature") if f.first("name").value == "pickup_census_tract")
    text = text[:tract.start] + text[tract.end:]
    text = _edit_text(text, 'name: "fare"\n  type: FLOAT', 'name: "fare"\n  type: INT')
    edited = tmp_path / "edited.pbtxt"
    edited.write_text(text)

    changes = schema_diff.diff(load_schema(CURATED), load_schema(edited))
    assert {(c.feature, c.what, c.before, c.after) for c in changes} == {
        ("pickup_census_tract", "feature", "INT", "absent"),
        ("fare", "type", "FLOAT", "INT"),
        ("trip_start_hour", "range", "[0, 23]", "[0, 24]"),
        ("trip_start_hour", "drift threshold", "0.05", "0.2"),
        ("payment_type", "domain values added", "7 values", "8 values"),
    }
    assert next(c for c in changes if c.what == "domain values added").values == ("Bitcoin",)

    assert cli.main(["schema", "diff", str(CURATED), str(edited)]) == 1
    out = capsys.readouterr().out
    assert "- pickup_census_tract (INT) removed" in out
    assert "drift threshold: 0.05 -> 0.2" in out and "+ domain values: 'Bitcoin'" in out
    assert out.rstrip().endswith("5 differences")
    assert cli.main(["schema", "diff", "--json", str(CURATED), str(edited)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert len(data["changes"]) == 5 and data["b"] == str(edited)


def test_long_domain_changes_are_shortened_on_screen_but_complete_in_json():
    a, b = load_schema(CURATED), load_schema(CURATED)
    next(d for d in b.string_domain if d.name == "company").ClearField("value")
    changes = schema_diff.diff(a, b)
    assert len(changes) == 1 and len(changes[0].values) > 40
    text = schema_diff.render(changes, "a", "b")
    assert f"and {len(changes[0].values) - schema_diff.SHOWN_VALUES} more" in text
    assert len(schema_diff.to_json(changes)[0]["values"]) == len(changes[0].values)


def test_diff_without_an_inferred_schema_says_what_to_run(tmp_path, capsys):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text(CURATED.read_text())
    config = tmp_path / "c.toml"
    config.write_text(f'schema_file = "{schema}"\n')
    assert cli.main(["schema", "diff", "--config", str(config)]) == 2
    assert "run `driftline schema infer` first" in capsys.readouterr().err


def test_broken_file_is_one_located_message(tmp_path, capsys):
    broken = tmp_path / "broken.pbtxt"
    broken.write_text('feature {\n  name: "x"\n  type: FLOT\n}\n')
    assert cli.main(["schema", "diff", str(CURATED), str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:3:" in err and "Traceback" not in err
