import pytest

from driftline.schema.check import load_schema
from pipeline.config import PROJECT_ROOT
from components.errors import SchemaError


def test_curated_schema_parses_and_names_the_contract():
    schema = load_schema(PROJECT_ROOT / "schemas" / "schema.pbtxt")
    names = {f.name for f in schema.feature}
    assert {"fare", "payment_type", "company", "tips", "trip_start_hour"} <= names
    tips = next(f for f in schema.feature if f.name == "tips")
    assert list(tips.not_in_environment) == ["SERVING"]
    payment = next(f for f in schema.feature if f.name == "payment_type")
    assert payment.drift_comparator.infinity_norm.threshold == pytest.approx(0.1)


def test_parse_error_points_at_file_line_and_column(tmp_path):
    path = tmp_path / "schema.pbtxt"
    path.write_text('feature {\n  name: "fare"\n  typo: FLOAT\n}\n')
    with pytest.raises(SchemaError) as err:
        load_schema(path)
    assert str(err.value).startswith(f"{path}:3:3: ")
    assert 'no field named "typo"' in str(err.value)


def test_missing_schema_file(tmp_path):
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(tmp_path / "absent.pbtxt")
