"""The operating threshold: chosen by rule on held-out rows, read back from a model."""
import numpy as np
import pytest

from components.model import operating_point
from components.model_gate import metrics


def _rows(seed=3, n=400):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.6
    scores = np.clip(0.35 * labels + rng.random(n) * 0.7, 0, 1).round(3)  # ties on purpose
    return labels, scores


def test_the_f1_rule_finds_the_best_f1_of_every_threshold():
    labels, scores = _rows()
    point = operating_point.choose(labels, scores, "f1")
    best = max(metrics.at_threshold(labels, scores, t)["f1_score"] for t in np.unique(scores))
    found = metrics.at_threshold(labels, scores, point.threshold)
    assert point.f1_score == pytest.approx(best) == pytest.approx(found["f1_score"])
    assert point.precision == pytest.approx(found["precision"]) and point.recall == pytest.approx(found["recall"])
    assert point.threshold in set(scores) and point.rows == labels.size
    assert point.text().startswith(f"{point.threshold:.3f} (the best F1 on 400 held-out train rows")


@pytest.mark.parametrize("rule, target", [("precision", 0.8), ("recall", 0.9)])
def test_a_target_is_reached_with_the_most_of_the_other(rule, target):
    labels, scores = _rows()
    point = operating_point.choose(labels, scores, rule, target)
    other = "recall" if rule == "precision" else "precision"
    reaching = [metrics.at_threshold(labels, scores, t) for t in np.unique(scores)]
    reaching = [r for r in reaching if r[rule] >= target]
    found = metrics.at_threshold(labels, scores, point.threshold)
    assert found[rule] >= target and not point.note
    assert f"{rule} >= {target:g} with the most {other}" in point.text()
    assert found[other] == pytest.approx(max(r[other] for r in reaching))


def test_a_target_no_threshold_reaches_falls_back_to_f1_and_says_so():
    labels, scores = np.array([0, 1, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6, 0.2])
    point = operating_point.choose(labels, scores, "precision", 1.0)
    assert point.note.startswith("no threshold reaches precision 1")
    assert point.threshold == operating_point.choose(labels, scores, "f1").threshold
    assert "no threshold reaches" in point.text()


def test_one_class_keeps_the_default():
    point = operating_point.choose(np.ones(20), np.linspace(0, 1, 20))
    assert point.threshold == operating_point.DEFAULT and point.rule == "default"
    assert "one class only" in point.text()


def test_read_back_from_a_model_directory_or_the_default(tmp_path):
    assert operating_point.read(tmp_path).threshold == operating_point.DEFAULT
    labels, scores = _rows()
    point = operating_point.choose(labels, scores)
    (tmp_path / "assets.extra").mkdir()
    (tmp_path / operating_point.FILE).write_text(point.to_json())
    assert operating_point.read(tmp_path) == point


def test_the_gate_metrics_decide_at_the_threshold_given():
    labels, scores = _rows()
    at = metrics.all_metrics(labels, scores, 0.7)
    assert at["f1_score"] == metrics.at_threshold(labels, scores, 0.7)["f1_score"]
    assert at["auc"] == metrics.all_metrics(labels, scores)["auc"]  # ranking is threshold-free
    idx = metrics.resample_indices(labels.size, 50, 0)
    diff = metrics.paired_differences(labels, scores, scores, idx, 0.95, (0.7, 0.3))
    assert diff["f1_score"].value == pytest.approx(
        metrics.at_threshold(labels, scores, 0.7)["f1_score"] - metrics.at_threshold(labels, scores, 0.3)["f1_score"])


def test_a_threshold_that_answers_yes_for_everyone_says_so():
    labels, scores = np.array([1, 1, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6, 0.2])
    point = operating_point.choose(labels, scores)
    assert point.threshold == 0.2 and point.recall == 1.0
    assert "answers \"yes\" for every held-out row" in point.text()


def test_a_fixed_threshold_is_kept_and_measured():
    labels, scores = _rows()
    point = operating_point.choose(labels, scores, "fixed", 0.5)
    found = metrics.at_threshold(labels, scores, 0.5)
    assert point.threshold == 0.5 and point.f1_score == pytest.approx(found["f1_score"])
    assert point.text().startswith("0.500 (fixed by the config")
    assert operating_point.choose(np.ones(5), np.linspace(0, 1, 5), "fixed", 0.7).threshold == 0.7


def test_mlmd_gives_back_the_exact_threshold_from_the_json_not_the_rounded_double():
    from ml_metadata.proto import metadata_store_pb2

    point = operating_point.choose(*_rows())
    model = metadata_store_pb2.Artifact()
    # What MLMD's SQLite store hands back for a double property: about six digits.
    model.custom_properties[operating_point.PROPERTY].double_value = float(f"{point.threshold:.6g}") + 1e-7
    assert operating_point.of_artifact(model) == pytest.approx(point.threshold, abs=1e-5)
    model.custom_properties[operating_point.DETAILS].string_value = point.to_json()
    assert operating_point.of_artifact(model) == point.threshold
    assert operating_point.of_artifact(metadata_store_pb2.Artifact()) == operating_point.DEFAULT


def test_a_blessing_gives_back_both_thresholds_exactly():
    from ml_metadata.proto import metadata_store_pb2

    from components.model_gate import verdict

    candidate = operating_point.OperatingPoint(0.3294893801212311, "f1", None, 417)
    serving = operating_point.OperatingPoint(0.5123456789012345, "fixed", 0.5123456789012345, 417)
    blessing = metadata_store_pb2.Artifact()
    for rounded, point in ((verdict.THRESHOLD, candidate), (verdict.BASELINE_THRESHOLD, serving)):
        blessing.custom_properties[rounded].double_value = float(f"{point.threshold:.6g}")
    read = verdict.read(blessing)
    # A blessing written before the JSON was kept: the rounded doubles.
    assert (read["operating_threshold"], read["baseline_threshold"]) == (0.329489, 0.512346)
    for details, point in ((verdict.OPERATING_POINT, candidate), (verdict.BASELINE_OPERATING_POINT, serving)):
        blessing.custom_properties[details].string_value = point.to_json()
    read = verdict.read(blessing)
    assert (read["operating_threshold"], read["baseline_threshold"]) == (candidate.threshold, serving.threshold)
