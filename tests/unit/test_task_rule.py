"""The task's rule language (components/model/rule.py) and the task it resolves to
(components/model/task.py): every form of a rule, and every refusal naming its place."""
import numpy as np
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.errors import TaskError
from components.model import rule
from components.model.rule import NumpyBackend
from components.model.task import Input, Task, resolve
from pipeline.config import TaskConfig

COLUMNS = {
    "delay": np.array([20.0, 15.0, np.nan, -3.0]),
    "fare": np.array([10.0, 10.0, 5.0, 1.0]),
    "tip": np.array([2.5, 1.0, np.nan, 0.2]),
    "status": np.array(["Late", "On time", "", "Cancelled"], dtype=object),
    "flag": np.array([1.0, 0.0, 1.0, 0.0]),
}


def _eval(text):
    return rule.parse(text).evaluate(NumpyBackend(COLUMNS)).tolist()


@pytest.mark.parametrize("text, expected", [
    ("delay > 15", [True, False, False, False]),
    ("delay >= 15", [True, True, False, False]),
    ("tip > 0.2 * fare", [True, False, False, False]),
    ("tip >= fare * 0.1", [True, True, False, True]),
    ("status == 'Late'", [True, False, False, False]),
    ('status != "Late"', [False, True, True, True]),
    ("status in ('Late', 'Cancelled')", [True, False, False, True]),
    ("delay in (20, -3)", [True, False, False, True]),
    ("delay is missing", [False, False, True, False]),
    ("status is not missing", [True, True, False, True]),
    ("(tip + 1) / fare > 0.3", [True, False, False, True]),
    ("flag", [1.0, 0.0, 1.0, 0.0]),
])
def test_each_form_of_a_rule(text, expected):
    assert _eval(text) == expected


def test_a_missing_number_reads_as_zero_as_in_the_transform():
    assert _eval("delay < 1") == [False, False, True, True]


def test_outcomes_are_the_left_side_and_references_the_right():
    parsed = rule.parse("tip > 0.2 * fare")
    assert parsed.columns == ["tip", "fare"]
    assert parsed.outcomes == ["tip"]
    assert rule.parse("status in ('A')").outcomes == ["status"]
    assert rule.parse("`arrival delay` > 15").outcomes == ["arrival delay"]


@pytest.mark.parametrize("text, position, why", [
    ("delay > ", 8, "expected a column, a number or a quoted text, found the end of the rule"),
    ("delay >> 15", 7, "expected a column, a number or a quoted text, found '>'"),
    ("delay > 15 15", 11, "expected the end of the rule, found '15'"),
    ("status in 'A'", 10, "expected '(', found the text 'A'"),
    ("status in (fare)", 11, "expected a number or a quoted text, found 'fare'"),
    ("delay = 15", 6, "unexpected '='"),
    ("__import__('os') > 1", 10, "expected the end of the rule, found '('"),
    ("fare * 2 is missing", 9, "'is missing' applies to a column"),
    ("", 0, "the rule is empty"),
])
def test_a_bad_rule_names_the_character(text, position, why):
    with pytest.raises(rule.RuleError) as caught:
        rule.parse(text)
    assert (caught.value.position, caught.value.why) == (position, why)
    assert f"at character {position + 1}" in str(caught.value)


SCHEMA = """
feature { name: "when" type: INT }
feature { name: "distance" type: FLOAT }
feature { name: "hour" type: INT int_domain { min: 0 max: 23 is_categorical: true } }
feature { name: "carrier" type: BYTES }
feature { name: "delay" type: FLOAT }
feature { name: "status" type: BYTES }
"""


def _schema():
    return text_format.Parse(SCHEMA, schema_pb2.Schema())


def _settings(**values):
    settings = TaskConfig(label="delay > 15", label_name="late", known_when="status != 'Cancelled'",
                          ignore=["when"], treat={})
    for key, value in values.items():
        setattr(settings, key, value)
    return settings


def test_inputs_follow_the_schema_minus_outcomes_and_ignored():
    task = resolve(_settings(), _schema())
    assert task.inputs == [Input("distance", "scale", 0), Input("hour", "category", 24),
                           Input("carrier", "vocabulary", 100), Input("status", "vocabulary", 100)]
    assert task.outcomes == ["delay"] and task.references == []
    assert Task.from_json(task.to_json()) == task


def test_overrides_change_a_treatment():
    task = resolve(_settings(treat={"distance": "scale+buckets:8", "carrier": "vocabulary:5"}), _schema())
    assert task.inputs[0] == Input("distance", "scale+buckets", 8)
    assert task.inputs[2] == Input("carrier", "vocabulary", 5)
    assert list(task.category_sizes(lambda k: k, lambda k: f"{k}_b")) == ["distance_b", "hour", "carrier", "status"]


@pytest.mark.parametrize("change, message", [
    (dict(label="delay > 0.2 * nope"),
     "'task.label' = 'delay > 0.2 * nope' reads the column 'nope' (character 15), which the schema does not have"),
    (dict(label="carrier > 3"),
     "'task.label' = 'carrier > 3' uses 'carrier' (character 1) as a number, but the schema says it is text"),
    (dict(label="delay * 2"), "gives a number, not yes or no"),
    (dict(label="status"), "the column 'status' holds text"),
    (dict(known_when="status"), "'task.known_when' = 'status' gives a value, not yes or no"),
    (dict(known_when="status = 'x'"), "'task.known_when' cannot be read: unexpected '=' at character 8"),
    (dict(treat={"delay": "scale"}), "'task.treat.delay': 'delay' is an outcome of the label"),
    (dict(treat={"carrier": "buckets"}), "'carrier' holds text; it can only be a vocabulary"),
    (dict(treat={"distance": "log"}), "'task.treat.distance' = 'log': the treatment must be one of"),
    (dict(treat={"distance": "category"}), "'distance': a category input needs an INT feature"),
    (dict(ignore=["nope"]), "'task.ignore' names 'nope', which the schema does not have"),
    (dict(label_name="delay"), "'task.label_name' = 'delay' is already a column of the schema"),
    (dict(ignore=["when", "distance", "hour", "carrier", "status"]), "the model has no inputs"),
])
def test_every_refusal_names_the_setting(change, message):
    with pytest.raises(TaskError) as caught:
        resolve(_settings(**change), _schema())
    assert message in str(caught.value)


def test_a_regression_label_is_a_number():
    task = resolve(_settings(kind="regression", label="delay", known_when="delay is not missing"), _schema())
    assert task.output == "predictions" and resolve(_settings(), _schema()).output == "probabilities"
    assert resolve(_settings(kind="regression", label="delay - distance"), _schema()).outcomes == ["delay", "distance"]
    with pytest.raises(TaskError, match="says yes or no, not a number"):
        resolve(_settings(kind="regression", label="delay > 15"), _schema())
    with pytest.raises(TaskError, match="holds text"):
        resolve(_settings(kind="regression", label="status"), _schema())
