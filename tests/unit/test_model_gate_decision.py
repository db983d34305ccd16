"""How the ModelGate decides: floors on the candidate, drops against the serving model
judged beyond noise, the newest span's own gate, and warnings for small sets."""
import pytest

from components.model_gate.decision import Rules, decide
from components.model_gate.metrics import Interval

RULES = Rules(min_auc=0.7, min_f1=0.5, max_auc_drop=0.01, max_f1_drop=None, confidence=0.95,
              min_eval_examples=200)


def _metrics(auc=0.9, f1=0.7, spread=0.03):
    return {m: Interval(v, v - spread, v + spread) for m, v in
            {"auc": auc, "f1_score": f1, "precision": 0.6, "recall": 0.8, "binary_accuracy": 0.8}.items()}


def _diffs(auc, auc_low, auc_high, f1=(0.0, -0.02, 0.02)):
    return {"auc": Interval(auc, auc_low, auc_high), "f1_score": Interval(*f1)}


def test_a_first_model_is_held_to_the_floors_only():
    judged = decide(RULES, _metrics(), 1000)
    assert judged.blessed and [c.name for c in judged.checks] == ["min auc", "min f1_score"]
    assert judged.checks[0].text == "AUC 0.900 (0.870–0.930) is above the floor 0.7 beyond noise"


def test_below_a_floor_is_not_blessed():
    judged = decide(RULES, _metrics(auc=0.65), 1000)
    assert not judged.blessed
    assert judged.failures[0].text == "AUC 0.650 (0.620–0.680) is below the floor 0.7"


def test_a_floor_must_be_cleared_beyond_noise():
    judged = decide(RULES, _metrics(auc=0.71, spread=0.05), 1000)
    assert not judged.blessed
    assert judged.failures[0].text == ("AUC 0.710 (0.660–0.760): the interval reaches below the "
                                       "floor 0.7, so the evaluation set does not show the model above it")


def test_a_drop_within_noise_is_blessed_and_says_so():
    judged = decide(RULES, _metrics(), 1000, diffs=_diffs(-0.02, -0.045, 0.004))
    assert judged.blessed
    auc = next(c for c in judged.checks if c.name == "auc vs serving model")
    assert auc.text == ("AUC lower by 0.020, but the 95% interval (-0.045 to +0.004) reaches "
                        "the allowed drop of 0.01: within noise")


def test_a_drop_beyond_noise_is_rejected_with_its_interval():
    judged = decide(RULES, _metrics(), 1000, diffs=_diffs(-0.03, -0.05, -0.015))
    assert not judged.blessed
    assert judged.failures[0].text == ("AUC worse than the serving model by 0.030 (-0.050 to "
                                       "-0.015 at 95%), beyond the allowed drop of 0.01")


def test_the_newest_span_has_its_own_gate_and_its_own_warning():
    judged = decide(RULES, _metrics(), 1000, diffs=_diffs(0.0, -0.01, 0.01),
                    newest_span=4, newest_examples=150,
                    newest_diffs=_diffs(-0.1, -0.15, -0.05))
    assert not judged.blessed
    assert [c.name for c in judged.failures] == ["auc vs serving model on span 4"]
    assert judged.failures[0].text.startswith("AUC on span 4 worse than the serving model by 0.100")
    assert judged.warnings == ["span 4 alone has 150 evaluation examples, fewer than "
                               "min_eval_examples = 200"]


def test_a_small_evaluation_set_is_warned_about():
    judged = decide(RULES, _metrics(), 120)
    assert judged.blessed and "the evaluation set has 120 examples" in judged.warnings[0]


def test_one_class_only_cannot_be_blessed():
    nan = float("nan")
    judged = decide(RULES, _metrics(auc=nan), 10)
    assert not judged.blessed and "cannot be computed" in judged.failures[0].text


def test_f1_is_compared_only_when_asked_for():
    diffs = _diffs(0.0, -0.01, 0.01, f1=(-0.2, -0.3, -0.1))
    assert decide(RULES, _metrics(), 1000, diffs=diffs).blessed
    strict = Rules(**{**RULES.__dict__, "max_f1_drop": 0.02})
    judged = decide(strict, _metrics(), 1000, diffs=diffs)
    assert not judged.blessed and judged.failures[0].name == "f1_score vs serving model"
