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


def _trivial(auc_lift=(0.2, 0.15, 0.25), loss_lift=(-0.05, -0.08, -0.02), f1_lift=(0.004, -0.01, 0.017),
             yes_f1=0.792):
    from components.model_gate.decision import Trivial

    return Trivial(0.683, {"log_loss": 0.645, "auc": 0.5}, {
        "auc": Interval(*auc_lift), "log_loss": Interval(*loss_lift), "brier": Interval(-0.01, -0.02, 0.0)},
        yes_f1, Interval(*f1_lift))


def _with_loss(found, loss=0.59):
    return {**found, "log_loss": Interval(loss, loss - 0.02, loss + 0.02)}


def test_a_model_that_beats_the_constant_beyond_noise_is_blessed_and_says_by_how_much():
    judged = decide(RULES, _with_loss(_metrics()), 1000, trivial=_trivial())
    assert judged.blessed
    names = [c.name for c in judged.checks]
    assert names[:3] == ["auc vs constant", "log_loss vs constant", "f1 vs always yes"]
    assert "ranks better than a constant's 0.500 beyond noise (+0.200, +0.150 to +0.250 at 95%)" in judged.checks[0].text
    assert judged.checks[2].text.startswith('F1 0.700 vs 0.792 for always answering "yes"')


@pytest.mark.parametrize("trivial, failed", [
    (dict(auc_lift=(0.03, -0.01, 0.07)), "auc vs constant"),
    (dict(loss_lift=(-0.01, -0.03, 0.01)), "log_loss vs constant"),
    (dict(f1_lift=(-0.05, -0.08, -0.02)), "f1 vs always yes"),
])
def test_a_model_no_better_than_a_trivial_baseline_is_never_blessed_whatever_the_floors(trivial, failed):
    lenient = Rules(min_auc=0.0, min_f1=0.0, max_auc_drop=1.0, max_f1_drop=None, confidence=0.95,
                    min_eval_examples=200)
    judged = decide(lenient, _with_loss(_metrics()), 1000, trivial=_trivial(**trivial))
    assert not judged.blessed
    assert [c.name for c in judged.failures] == [failed]


def test_a_quick_mode_reports_the_baselines_without_requiring_them():
    quick = Rules(min_auc=0.0, min_f1=0.0, max_auc_drop=1.0, max_f1_drop=None, confidence=0.95,
                  min_eval_examples=200, beat_constant=False)
    judged = decide(quick, _with_loss(_metrics()), 1000, trivial=_trivial(auc_lift=(0.0, -0.04, 0.04)))
    assert judged.blessed
    assert judged.checks[0].text.endswith("(quick mode: reported, not required)")


def test_floors_a_trivial_baseline_passes_are_warned_about():
    rules = Rules(min_auc=0.5, min_f1=0.5, max_auc_drop=0.01, max_f1_drop=None, confidence=0.95,
                  min_eval_examples=200)
    judged = decide(rules, _with_loss(_metrics()), 1000, trivial=_trivial())
    assert any(w.startswith("min_auc = 0.5 is passed by a constant") for w in judged.warnings)
    assert any(w.startswith('min_f1 = 0.5 is passed by always answering "yes" (F1 0.792') for w in judged.warnings)


def test_the_one_line_names_the_constant():
    from components.model_gate.decision import no_better_line

    metrics = {k: v.to_json() for k, v in _with_loss(_metrics(auc=0.52, f1=0.792)).items()}
    line = no_better_line(_trivial(auc_lift=(0.02, -0.02, 0.06)).to_json(), metrics)
    assert line == 'no better than always answering "yes": F1 0.792 vs 0.792, AUC 0.520 vs 0.500, log loss 0.590 vs 0.645'
    assert no_better_line(_trivial().to_json(), metrics) == ""


def test_the_reference_learner_finds_a_non_monotonic_effect_and_reads_text_as_the_gate_has_it():
    import numpy as np

    from components.model_gate import metrics, reference

    rng = np.random.default_rng(0)

    def rows(n):
        fare = rng.uniform(3, 60, n)
        kind = rng.choice(["A", "B", "C"], n)
        # Big tips at short and long fares, few in between: one weight on the fare cannot say it.
        p = np.where((fare < 10) | (fare > 40), 0.85, 0.3) + np.where(kind == "C", 0.1, 0.0)
        labels = (rng.random(n) < np.clip(p, 0, 1)).astype(int)
        text = {"fare": [f"{f:.2f}" for f in fare], "kind": list(kind)}
        text["fare"][0] = ""  # a missing value
        return text, labels

    train, train_labels = rows(3000)
    judged, labels = rows(1000)
    judged["kind"][1] = "never seen"
    scores = reference.probabilities(train, train_labels, judged, seed=1)
    assert scores.shape == (1000,) and np.all((scores >= 0) & (scores <= 1))
    assert metrics.auc(labels, scores) > 0.75
