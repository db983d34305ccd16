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
- The trivial baselines, on the same rows (`beat_constant`): the constant predictor
  (the training base rate for every row) and always answering "yes". A candidate must
  rank better than the constant (AUC above 0.5) and predict better probabilities than
  it (log loss below the constant's) beyond noise, and its F1 may not be worse than
  always answering "yes" beyond noise; whatever the floors say. A floor that one of
  them would pass is warned about: it holds nothing.
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
    # False only in a quick mode (`--fast`): the baselines are then reported, not required.
    beat_constant: bool = True

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
        """The floors that are set: 0 is none (nothing scores below it)."""
        return {m: f for m, f in (("auc", self.min_auc), ("f1_score", self.min_f1)) if f > 0}


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


@dataclass
class Trivial:
    """The trivial baselines on the judged rows: the constant predictor's metrics, the
    candidate minus the constant (paired), and the candidate's F1 minus always "yes"'s."""
    base_rate: float
    constant: Dict[str, float]
    lift: Dict[str, Interval]
    yes_f1: float
    f1_lift: Interval

    @property
    def ranks_better(self) -> bool:
        return self.lift["auc"].low > 0

    @property
    def predicts_better(self) -> bool:
        return self.lift["log_loss"].high < 0

    @property
    def decides_no_worse(self) -> bool:
        return not self.f1_lift.high < 0

    @property
    def beaten(self) -> bool:
        """The one rule: the candidate beats every trivial baseline as the checks require."""
        return self.ranks_better and self.predicts_better and self.decides_no_worse

    def to_json(self) -> dict:
        return {"base_rate": self.base_rate, "constant": dict(self.constant),
                "lift": {k: v.to_json() for k, v in self.lift.items()},
                "yes_f1": self.yes_f1, "f1_lift": self.f1_lift.to_json(), "beaten": self.beaten}


NO_BETTER = 'no better than always answering "yes"'


def _span(diff: Interval, confidence: float) -> str:
    return f"{diff.value:+.3f}, {diff.low:+.3f} to {diff.high:+.3f} at {_percent(confidence)}"


def constant_checks(trivial: Trivial, candidate: Dict[str, Interval], confidence: float,
                    required: bool = True) -> List[Check]:
    """The candidate against the trivial baselines. Not required (a quick mode), a failed
    check still shows, marked as such, and does not stop the blessing."""
    lift, checks = trivial.lift, []
    auc_ok = trivial.ranks_better
    checks.append(Check("auc vs constant", auc_ok, (
        f"AUC {candidate['auc'].value:.3f} ranks better than a constant's 0.500 beyond noise "
        f"({_span(lift['auc'], confidence)})" if auc_ok else
        f"AUC {candidate['auc'].value:.3f} is not shown better than a constant's 0.500 "
        f"({_span(lift['auc'], confidence)}): the model ranks examples no better than chance")))
    loss_ok = trivial.predicts_better
    checks.append(Check("log_loss vs constant", loss_ok, (
        f"log loss {candidate['log_loss'].value:.3f} is below the constant's "
        f"{trivial.constant['log_loss']:.3f} (the base rate {trivial.base_rate:.3f} for every row) "
        f"beyond noise ({_span(lift['log_loss'], confidence)})" if loss_ok else
        f"log loss {candidate['log_loss'].value:.3f} is not shown below the constant's "
        f"{trivial.constant['log_loss']:.3f} (the base rate {trivial.base_rate:.3f} for every row; "
        f"{_span(lift['log_loss'], confidence)}): its probabilities say less than the base rate")))
    f1_ok = trivial.decides_no_worse
    checks.append(Check("f1 vs always yes", f1_ok, (
        f"F1 {candidate['f1_score'].value:.3f} vs {trivial.yes_f1:.3f} for always answering \"yes\" "
        f"({_span(trivial.f1_lift, confidence)})" + ("" if f1_ok else
                                                      ": worse than answering \"yes\" for everyone"))))
    if not required:
        checks = [c if c.passed else Check(c.name, True, f"{c.text} (quick mode: reported, not required)")
                  for c in checks]
    return checks


def trivial_warnings(rules: Rules, trivial: Trivial) -> List[str]:
    """Floors a trivial baseline would pass: they hold nothing on this data."""
    found = []
    if 0 < rules.min_auc <= 0.5:
        found.append(f"min_auc = {rules.min_auc:g} is passed by a constant (AUC 0.5): the constant "
                     "baseline, not the floor, is what holds the model")
    if 0 < rules.min_f1 <= trivial.yes_f1:
        found.append(f"min_f1 = {rules.min_f1:g} is passed by always answering \"yes\" (F1 "
                     f"{trivial.yes_f1:.3f} on these rows): the floor holds nothing here")
    return found


def no_better_line(trivial: Optional[dict], candidate: dict) -> str:
    """One line for a candidate that did not beat the trivial baselines (Trivial.beaten,
    as recorded), else ""."""
    if not trivial or trivial.get("beaten", True):
        return ""
    return (f"{NO_BETTER}: F1 {candidate['f1_score']['value']:.3f} vs {trivial['yes_f1']:.3f}, "
            f"AUC {candidate['auc']['value']:.3f} vs 0.500, log loss {candidate['log_loss']['value']:.3f} "
            f"vs {trivial['constant']['log_loss']:.3f}")


def decide(rules: Rules, candidate: Dict[str, Interval], examples: int,
           diffs: Optional[Dict[str, Interval]] = None,
           newest_span: Optional[int] = None, newest_examples: int = 0,
           newest_diffs: Optional[Dict[str, Interval]] = None,
           slice_diffs: Optional[List[tuple]] = None, trivial: Optional[Trivial] = None) -> Decision:
    """`slice_diffs`: (slice name, F1 change interval) for each slice the gate judges;
    `trivial`: the constant and always-"yes" baselines on the judged rows."""
    decision = Decision(blessed=True)
    if trivial is not None:
        decision.checks.extend(constant_checks(trivial, candidate, rules.confidence, rules.beat_constant))
        decision.warnings.extend(trivial_warnings(rules, trivial))
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
