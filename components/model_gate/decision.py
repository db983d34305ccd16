"""Whether a candidate model may serve: floors it must reach, and what it may not lose
against the model serving now, beyond noise.

- Floors (`min_auc`, `min_f1`) are judged on the low end of the candidate's interval:
  the evaluation set must show the candidate above the floor beyond noise (a model at
  AUC 0.52 on a few hundred examples is not shown to be better than guessing).
- Against the serving model, a metric's change is judged on its paired interval: the
  candidate is rejected only when the whole interval lies below `-max_<metric>_drop`,
  i.e. when it is worse by more than the allowed margin even at the most favourable end
  of what the evaluation examples can tell apart. A drop whose interval still reaches
  the margin is noise as far as this evaluation set can say, and is blessed as such.
- The same comparison is made on the newest span alone, its own gate: a model can be
  as good as before on the window and worse on the newest data.
- The slice gate, when `max_slice_f1_drop` is set: the same paired comparison of F1 on
  each slice with at least `min_slice_examples` rows (components/analysis/slices.py). An
  overall F1 can hold while one payment type or hour gets much worse.
- An evaluation set smaller than `min_eval_examples` is warned about: its intervals are
  wide, so few drops can be told from noise.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from components.model_gate.metrics import Interval

NAMES = {"auc": "AUC", "f1_score": "F1", "precision": "precision", "recall": "recall",
         "binary_accuracy": "accuracy"}


@dataclass(frozen=True)
class Rules:
    min_auc: float
    min_f1: float
    max_auc_drop: float
    max_f1_drop: Optional[float]
    confidence: float
    min_eval_examples: int
    max_slice_f1_drop: Optional[float] = None
    min_slice_examples: int = 50

    @property
    def drops(self) -> Dict[str, float]:
        """The metrics compared with the serving model, and the drop each may take. F1 is
        compared only when asked for: at a fixed threshold it moves with calibration,
        which retraining on the same data with another seed already changes."""
        found = {"auc": self.max_auc_drop}
        if self.max_f1_drop is not None:
            found["f1_score"] = self.max_f1_drop
        return found

    @property
    def floors(self) -> Dict[str, float]:
        return {"auc": self.min_auc, "f1_score": self.min_f1}


@dataclass
class Check:
    name: str
    passed: bool
    text: str

    def to_json(self) -> dict:
        return {"name": self.name, "passed": self.passed, "text": self.text}


@dataclass
class Decision:
    blessed: bool
    checks: List[Check] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def failures(self) -> List[Check]:
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict:
        return {"blessed": self.blessed, "checks": [c.to_json() for c in self.checks],
                "warnings": list(self.warnings)}


def _percent(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def floor_check(metric: str, value: Interval, floor: float) -> Check:
    name = NAMES[metric]
    if value.value != value.value:  # NaN: one class missing from the evaluation set
        return Check(f"min {metric}", False, f"{name} cannot be computed: the evaluation set "
                                               "holds only one class")
    low = value.value if value.low != value.low else value.low
    if low >= floor:
        return Check(f"min {metric}", True, f"{name} {value.text()} is above the floor {floor:g} "
                                            "beyond noise")
    if value.value >= floor:
        return Check(f"min {metric}", False, f"{name} {value.text()}: the interval reaches below the "
                                             f"floor {floor:g}, so the evaluation set does not show "
                                             "the model above it")
    return Check(f"min {metric}", False, f"{name} {value.text()} is below the floor {floor:g}")


def change_check(metric: str, diff: Interval, margin: float, confidence: float, where: str) -> Check:
    """`where`: "" for the whole evaluation set, or e.g. " on span 4"."""
    name, level = NAMES[metric], _percent(confidence)
    span = f"{diff.low:+.3f} to {diff.high:+.3f}"
    label = f"{metric} vs serving model{where}"
    if diff.high != diff.high:  # NaN: the interval could not be computed
        return Check(label, True, f"{name} change{where} cannot be judged (one class only): "
                                  "not held against the candidate")
    if diff.high < -margin:
        return Check(label, False, f"{name}{where} worse than the serving model by {-diff.value:.3f} "
                                   f"({span} at {level}), beyond the allowed drop of {margin:g}")
    if diff.value < -margin:
        return Check(label, True, f"{name}{where} lower by {-diff.value:.3f}, but the {level} "
                                  f"interval ({span}) reaches the allowed drop of {margin:g}: "
                                  "within noise")
    return Check(label, True, f"{name}{where} change {diff.value:+.3f} ({span} at {level}): "
                              f"within the allowed drop of {margin:g}")


def decide(rules: Rules, candidate: Dict[str, Interval], examples: int,
           diffs: Optional[Dict[str, Interval]] = None,
           newest_span: Optional[int] = None, newest_examples: int = 0,
           newest_diffs: Optional[Dict[str, Interval]] = None,
           slice_diffs: Optional[List[tuple]] = None) -> Decision:
    """`slice_diffs`: (slice name, F1 change interval) for each slice the gate judges."""
    decision = Decision(blessed=True)
    for metric, floor in rules.floors.items():
        decision.checks.append(floor_check(metric, candidate[metric], floor))
    for where, found in (("", diffs), (f" on span {newest_span}", newest_diffs)):
        if found is None:
            continue
        for metric, margin in rules.drops.items():
            decision.checks.append(change_check(metric, found[metric], margin, rules.confidence, where))
    if rules.max_slice_f1_drop is not None:
        for name, diff in slice_diffs or []:
            decision.checks.append(change_check("f1_score", diff, rules.max_slice_f1_drop,
                                                rules.confidence, f" on {name}"))
    decision.blessed = all(c.passed for c in decision.checks)
    if examples < rules.min_eval_examples:
        decision.warnings.append(f"the evaluation set has {examples} examples, fewer than "
                                 f"min_eval_examples = {rules.min_eval_examples}: its intervals are "
                                 "wide and few changes can be told from noise")
    if newest_span is not None and newest_diffs is not None and newest_examples < rules.min_eval_examples:
        decision.warnings.append(f"span {newest_span} alone has {newest_examples} evaluation "
                                 f"examples, fewer than min_eval_examples = {rules.min_eval_examples}")
    return decision
