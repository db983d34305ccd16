"""The task the model learns, declared once in the config and read by every stage.

`resolve` turns the config's `[task]` settings and the curated schema into a `Task`: the
label rule, where the label can be known, and the model's inputs with how each is
treated. The graph hands the Task to the Transform, the Trainer and the gates as JSON;
the application reads the same Task for serving and monitoring. No column name of any
data set is written in code: they all come from the config and the schema.

An input's treatment follows from its schema type unless the config overrides it:
- a FLOAT, or an INT without a categorical domain: `scale` (a z-score);
- an INT whose domain is categorical (`int_domain { min: 0 max: 23 is_categorical: true }`):
  `category`, one slot per id from 0 to the domain's max;
- BYTES: `vocabulary`, the most frequent values plus a few hashed slots for others.
Overrides: `scale+buckets` (a z-score and quantile buckets beside it), `buckets`
(quantile buckets only: coordinates carry place, not magnitude), each with an optional
`:N` (buckets, or vocabulary entries kept).
"""
import json
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from components.errors import TaskError
from components.model import rule as rules

# Transform's 0/1 output saying whether a row's label can be known at all: a training
# weight and the evaluation's filter, never a model input.
LABEL_KNOWN = "label_known"

# binary: a yes-or-no label, a probability served; regression: a number, predicted.
KINDS = ("binary", "regression")
OUTPUTS = {"binary": "probabilities", "regression": "predictions"}
TREATMENTS = ("scale", "scale+buckets", "buckets", "category", "vocabulary")
DEFAULT_SIZE = {"scale+buckets": 20, "buckets": 10, "vocabulary": 100}
# Hashed slots for vocabulary values outside the kept entries.
OOV_SIZE = 10
# A categorical input with at most this many values is a default slice: few enough that
# each slice holds rows enough to judge.
FEW_VALUES = 24


@dataclass(frozen=True)
class Input:
    name: str
    treatment: str
    # Quantile buckets, category ids, or vocabulary entries kept; 0 for `scale`.
    size: int = 0


@dataclass
class Task:
    kind: str
    label: str
    label_name: str
    known_when: str = ""
    inputs: List[Input] = field(default_factory=list)
    # The categorical inputs with few values: slices for error analysis and the slice
    # gate when the config names none.
    slices: List[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def output(self) -> str:
        """The serving signature's output: a probability, or the predicted number."""
        return OUTPUTS[self.kind]

    @classmethod
    def from_json(cls, text: str) -> "Task":
        values = json.loads(text)
        values["inputs"] = [Input(**item) for item in values["inputs"]]
        return cls(**values)

    @property
    def label_rule(self) -> rules.Rule:
        return rules.parse(self.label)

    @property
    def known_rule(self) -> Optional[rules.Rule]:
        return rules.parse(self.known_when) if self.known_when else None

    @property
    def outcomes(self) -> List[str]:
        """The columns known only after the fact: never model inputs, never sent at serving."""
        return self.label_rule.outcomes

    @property
    def references(self) -> List[str]:
        """Columns the label reads beside its outcomes: logged at serving, so that a late
        outcome can be turned into a label by the same rule."""
        return [c for c in self.label_rule.columns if c not in self.outcomes]

    def model_inputs(self) -> List[str]:
        """The inputs in the model's layout: scaled, bucketized, categories, vocabularies."""
        groups = [self.scaled()] + [self.treated(t) for t in ("buckets", "category", "vocabulary")]
        return [i.name for group in groups for i in group]

    def treated(self, *treatments) -> List[Input]:
        """The inputs with one of these treatments, in the task's order."""
        return [i for i in self.inputs if i.treatment in treatments]

    def scaled(self) -> List[Input]:
        return self.treated("scale", "scale+buckets")

    def category_sizes(self, transformed_name, bucketized_name) -> dict:
        """Transformed feature -> number of ids, for every input the model one-hot encodes,
        in the order the model lays them out."""
        sizes = {bucketized_name(i.name): i.size for i in self.treated("scale+buckets")}
        sizes.update({transformed_name(i.name): i.size for i in self.treated("buckets")})
        sizes.update({transformed_name(i.name): i.size for i in self.treated("category")})
        sizes.update({transformed_name(i.name): i.size + OOV_SIZE for i in self.treated("vocabulary")})
        return sizes


# --- from the config and the schema -------------------------------------------------------

def _rule(setting: str, text: str) -> rules.Rule:
    try:
        return rules.parse(text)
    except rules.RuleError as exc:
        raise TaskError(f"'{setting}' cannot be read: {exc.why} at character {exc.position + 1}:\n"
                        f"  {exc.pointed().replace(chr(10), chr(10) + '  ')}") from None


def _kind_of(feature) -> str:
    from tensorflow_metadata.proto.v0 import schema_pb2

    return "text" if feature.type == schema_pb2.BYTES else "number"


def _check_columns(setting: str, rule: rules.Rule, by_name: dict):
    for name, position, wanted in rule.column_uses():
        feature = by_name.get(name)
        if feature is None:
            known = ", ".join(sorted(by_name))
            raise TaskError(f"'{setting}' = {rule.text!r} reads the column '{name}' (character "
                            f"{position + 1}), which the schema does not have (it has: {known})")
        kind = _kind_of(feature)
        if wanted in ("number", "text") and kind != wanted:
            raise TaskError(f"'{setting}' = {rule.text!r} uses '{name}' (character {position + 1}) as "
                            f"{'a number' if wanted == 'number' else 'text'}, but the schema says "
                            f"it is {'text' if kind == 'text' else 'a number'}")


def _check_label(kind: str, label: rules.Rule, by_name: dict):
    if kind == "regression" and label.is_test:
        raise TaskError(f"'task.label' = {label.text!r} says yes or no, not a number: a regression "
                        "label is a numeric column or arithmetic over columns (COL, COL - OTHER)")
    if kind == "binary" and not label.is_test and not isinstance(label.tree, rules.Column):
        raise TaskError(f"'task.label' = {label.text!r} gives a number, not yes or no: a binary "
                        "label is a comparison (COL > 15), a membership (COL in ('A', 'B')) or a "
                        "column holding 0 and 1")
    if isinstance(label.tree, rules.Column) and _kind_of(by_name[label.tree.name]) != "number":
        raise TaskError(f"'task.label' = {label.text!r}: the column '{label.tree.name}' holds text; "
                        "compare it with a value to make a label (COL == 'Text')")
    if isinstance(label.tree, rules.Missing):
        raise TaskError(f"'task.label' = {label.text!r}: 'is missing' says where a label is known "
                        "(task.known_when), not what it is")


def _treatment(name: str, feature, override: str) -> Input:
    if override:
        treatment, _, size = override.partition(":")
        if treatment not in TREATMENTS:
            raise TaskError(f"'task.treat.{name}' = {override!r}: the treatment must be one of "
                            f"{', '.join(TREATMENTS)} (with ':N' for buckets or vocabulary entries)")
        if size and not (size.isdigit() and int(size) >= 2):
            raise TaskError(f"'task.treat.{name}' = {override!r}: ':{size}' must be a whole number >= 2")
    else:
        treatment, size = _default_treatment(feature), ""
    if treatment == "category":
        return Input(name, treatment, _category_count(name, feature))
    if treatment in ("scale", "scale+buckets", "buckets") and _kind_of(feature) == "text":
        raise TaskError(f"'task.treat.{name}' = {override!r}: '{name}' holds text; it can only be "
                        "a vocabulary")
    return Input(name, treatment, int(size) if size else DEFAULT_SIZE.get(treatment, 0))


def _default_treatment(feature) -> str:
    from tensorflow_metadata.proto.v0 import schema_pb2

    if feature.type == schema_pb2.BYTES:
        return "vocabulary"
    if feature.type == schema_pb2.INT and feature.int_domain.is_categorical:
        return "category"
    return "scale"


def _category_count(name: str, feature) -> int:
    from tensorflow_metadata.proto.v0 import schema_pb2

    domain = feature.int_domain
    if feature.type != schema_pb2.INT or not domain.HasField("max") or domain.min < 0:
        raise TaskError(f"'{name}': a category input needs an INT feature whose schema domain has "
                        "min >= 0 and a max (int_domain { min: 0 max: N is_categorical: true })")
    return int(domain.max) + 1


def resolve(settings, schema) -> Task:
    """The Task from the config's task section (`settings`: kind, label, label_name,
    known_when, ignore, treat) and the curated schema proto. Raises TaskError naming the
    setting, the column and the character of a rule it cannot use."""
    by_name = {f.name: f for f in schema.feature}
    label = _rule("task.label", settings.label)
    _check_columns("task.label", label, by_name)
    _check_label(settings.kind, label, by_name)
    known = _rule("task.known_when", settings.known_when) if settings.known_when else None
    if known is not None:
        _check_columns("task.known_when", known, by_name)
        if not known.is_test:
            raise TaskError(f"'task.known_when' = {known.text!r} gives a value, not yes or no: write "
                            "a test (COL == 'Text', COL is not missing)")
    if settings.label_name in by_name:
        raise TaskError(f"'task.label_name' = {settings.label_name!r} is already a column of the schema; "
                        "the label the pipeline derives needs a name of its own")
    outcomes = label.outcomes
    for name in list(settings.ignore) + list(settings.treat):
        setting = "task.ignore" if name in settings.ignore else f"task.treat.{name}"
        if name not in by_name:
            raise TaskError(f"'{setting}' names '{name}', which the schema does not have")
        if name in outcomes and setting != "task.ignore":
            raise TaskError(f"'{setting}': '{name}' is an outcome of the label ({settings.label!r}); "
                            "an outcome is known only after the fact and is never a model input")
    inputs = [_treatment(f.name, f, settings.treat.get(f.name, "")) for f in schema.feature
              if f.name not in outcomes and f.name not in settings.ignore]
    if not inputs:
        raise TaskError("the model has no inputs: every schema feature is an outcome of the label "
                        "or in 'task.ignore'")
    return Task(settings.kind, settings.label, settings.label_name, settings.known_when, inputs,
                _few_valued(inputs, schema))


def _few_valued(inputs: List[Input], schema) -> List[str]:
    """Category inputs with at most FEW_VALUES ids, and text inputs whose schema domain
    lists at most FEW_VALUES values."""
    domains = {d.name: len(d.value) for d in schema.string_domain}
    features = {f.name: f for f in schema.feature}
    found = []
    for item in inputs:
        if item.treatment == "category":
            count = item.size
        elif item.treatment == "vocabulary":
            feature = features[item.name]
            count = domains.get(feature.domain) or len(feature.string_domain.value) or FEW_VALUES + 1
        else:
            continue
        if count <= FEW_VALUES:
            found.append(item.name)
    return found


def transformed_name(key: str) -> str:
    return f"{key}_xf"


def bucketized_name(key: str) -> str:
    return f"{key}_bucket_xf"
