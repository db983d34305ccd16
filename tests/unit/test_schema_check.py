"""`driftline schema check`: each class of problem, at its own line and column (the
column of the field that is wrong, e.g. `threshold`, `name` or `domain`)."""
import pytest

from driftline.schema.check import check_schema, data_header
from driftline.schema.text_edit import locate
from pipeline.config import PROJECT_ROOT

HEADER = ["fare", "tips", "payment_type"]

GOOD = """\
default_environment: "TRAINING"
default_environment: "SERVING"
feature {
  name: "fare"
  type: FLOAT
  drift_comparator { infinity_norm { threshold: 0.1 } }
}
feature {
  name: "payment_type"
  type: BYTES
  domain: "payment_type"
}
feature {
  name: "tips"
  type: FLOAT
  not_in_environment: "SERVING"
}
string_domain { name: "payment_type" value: "Cash" }
"""


def _check(tmp_path, text, header=HEADER):
    path = tmp_path / "schema.pbtxt"
    path.write_text(text)
    return path, [str(p) for p in check_schema(path, header)]


def test_curated_schema_is_clean_against_the_real_header(embedded_spans):
    assert check_schema(PROJECT_ROOT / "schemas" / "schema.pbtxt", data_header(embedded_spans)) == []


def test_a_good_file_has_no_problems(tmp_path):
    assert _check(tmp_path, GOOD)[1] == []


def test_parse_error(tmp_path):
    path, problems = _check(tmp_path, GOOD.replace("type: BYTES", "type: BYTE"))
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:10:") and "has no value named BYTE" in problems[0]


def test_duplicate_feature(tmp_path):
    path, problems = _check(tmp_path, GOOD + 'feature {\n  name: "fare"\n  type: FLOAT\n}\n')
    assert problems == [f"{path}:20:3: duplicate feature 'fare' (first defined on line 4)"]


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_threshold_outside_unit_interval(tmp_path, value):
    path, problems = _check(tmp_path, GOOD.replace("threshold: 0.1", f"threshold: {value}"))
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:6:38: drift_comparator threshold {float(value):g} of 'fare'")


def test_domain_referenced_but_not_defined(tmp_path):
    path, problems = _check(tmp_path, GOOD.replace('domain: "payment_type"', 'domain: "payments"'))
    assert problems == [
        f"{path}:11:3: feature 'payment_type' uses domain 'payments', which no string_domain defines"]


def test_feature_unknown_to_the_data_header(tmp_path):
    path, problems = _check(tmp_path, GOOD, header=["fare", "tips"])
    assert problems == [
        f"{path}:9:3: feature 'payment_type' is not a column of the data (fare, tips)"]


def test_data_columns_the_schema_lacks(tmp_path):
    path = tmp_path / "schema.pbtxt"
    path.write_text(GOOD)
    problems = [str(p) for p in check_schema(path, HEADER + ["trip_miles", "id", "note"])]
    assert problems == [
        f"{path}:1:1: data columns trip_miles, id, note have no feature in the schema: "
        "ExampleValidator would report each as a new column and the gate would stop the run; add a "
        "feature block for each (to keep a column out of the model, list it in task.ignore), or drop "
        "the column from the data"]
    one = [str(p) for p in check_schema(path, HEADER + ["id"])]
    assert one == [f"{path}:1:1: data column id has no feature in the schema: ExampleValidator would "
                   "report it as a new column and the gate would stop the run; add a feature block "
                   "for it (to keep a column out of the model, list it in task.ignore), or drop the "
                   "column from the data"]


def test_a_wide_file_names_a_dozen_columns_the_schema_lacks(tmp_path):
    path = tmp_path / "schema.pbtxt"
    path.write_text(GOOD)
    problems = check_schema(path, HEADER + [f"c{i}" for i in range(10_000)])
    assert len(problems) == 1
    assert "c0, c1," in problems[0].message and "c11, ... 9,988 more have no feature" in problems[0].message


def test_environment_that_excludes_everything(tmp_path):
    text = GOOD.replace('  type: FLOAT\n  drift', '  type: FLOAT\n  not_in_environment: "SERVING"\n  drift')
    text = text.replace('  domain: "payment_type"\n', '  domain: "payment_type"\n  not_in_environment: "SERVING"\n')
    path, problems = _check(tmp_path, text)
    assert problems == [f"{path}:2:1: environment 'SERVING' excludes every feature"]


def test_unknown_environment_name(tmp_path):
    path, problems = _check(tmp_path, GOOD.replace('not_in_environment: "SERVING"', 'not_in_environment: "SERVNG"'))
    assert problems == [f"{path}:16:3: feature 'tips' names environment 'SERVNG', which is not a "
                        "default_environment (TRAINING, SERVING)"]


def test_locate_skips_comments_and_strings_with_braces():
    tree = locate('# feature { name: "x" }\nfeature {\n  name: "a {b}"  # }\n}\n')
    (feature,) = tree.all("feature")
    assert feature.line == 2 and feature.first("name").value == "a {b}"


def test_cli_check_reports_and_fails(tmp_path, driftline):
    path = tmp_path / "schema.pbtxt"
    path.write_text(GOOD.replace("threshold: 0.1", "threshold: 2"))
    (tmp_path / "data" / "span-1").mkdir(parents=True)
    (tmp_path / "data" / "span-1" / "data.csv").write_text(",".join(HEADER) + "\n1.0,0.5,Cash\n")
    proc = driftline("schema", "check", path, "--data-root", tmp_path / "data")
    assert proc.returncode == 2
    assert proc.stdout == f"{path}:6:38: drift_comparator threshold 2 of 'fare' is outside [0, 1]: " \
                          "an L-infinity distance cannot exceed 1\n"


def test_run_refuses_a_schema_with_problems(tmp_path, small_spans, driftline):
    path = tmp_path / "schema.pbtxt"
    path.write_text(GOOD + 'feature {\n  name: "fare"\n  type: FLOAT\n}\n')
    proc = driftline("run", "--data-root", small_spans, "--output-dir", tmp_path / "out",
                     "--config", _config(tmp_path, path))
    assert proc.returncode == 2
    assert f"{path}:20:3: duplicate feature 'fare'" in proc.stderr
    assert "nothing was run" in proc.stderr and not (tmp_path / "out").exists()


def _config(tmp_path, schema):
    config = tmp_path / "c.toml"
    config.write_text(f'schema_file = "{schema}"\n')
    return config
