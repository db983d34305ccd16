"""Multivariate drift on the embedded taxi rows: fares swapped between short and long
trips within a window keep every marginal distribution, so every per-feature check
passes, while the domain classifier tells the window from the reference and names the
two features whose relation changed; a window of the same rows unchanged is within the
threshold."""
import csv

import numpy as np
import pytest

from components.drift_gate.comparison import DRIFT, SKEW, compare
from components.example_gen import csv_reader
from driftline.data import drift as span_drift
from driftline.monitoring import multivariate
from driftline.schema.check import load_schema
from pipeline.config import PROJECT_ROOT

THRESHOLD = 0.6  # [monitoring] max_domain_auc's default


def _rows():
    rows = []
    for span in (1, 2):
        with open(PROJECT_ROOT / "data" / "taxi" / f"span-{span}" / "data.csv") as f:
            rows += list(csv.DictReader(f))
    return rows


def _swapped(rows):
    """The window's fares, largest to the shortest trip: both marginals kept exactly."""
    def number(text):
        return float(text) if text else -1.0

    by_miles = sorted(range(len(rows)), key=lambda i: number(rows[i]["trip_miles"]))
    fares = sorted((r["fare"] for r in rows), key=number, reverse=True)
    out = [dict(r) for r in rows]
    for i, fare in zip(by_miles, fares):
        out[i]["fare"] = fare
    return out


def _table(rows, path):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return csv_reader.read_csv_file(str(path))


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    schema = load_schema(PROJECT_ROOT / "schemas" / "schema.pbtxt")
    outcomes = {f.name for f in schema.feature if "SERVING" in f.not_in_environment}  # not in a request
    rows = [{n: v for n, v in r.items() if n not in outcomes} for r in _rows()]
    features = list(rows[0])
    order = np.random.default_rng(0).permutation(len(rows))
    reference = [rows[i] for i in order[:2000]]
    window = [rows[i] for i in order[2000:2800]]
    tmp = tmp_path_factory.mktemp("windows")
    return {"schema": schema, "features": features, "reference": reference, "window": window,
            "swapped": _swapped(window),
            "tables": {name: _table(r, tmp / f"{name}.csv") for name, r in
                       (("reference", reference), ("window", window), ("swapped", _swapped(window)))}}


def _columns(rows, features):
    return {name: [r[name] for r in rows] for name in features}


def _told(windows, name):
    return multivariate.domain_classifier(_columns(windows["reference"], windows["features"]),
                                          _columns(windows[name], windows["features"]), windows["features"],
                                          seed=0, confidence=0.95)


def test_the_swap_keeps_every_marginal_so_every_per_feature_check_passes(windows):
    schema, tables = windows["schema"], windows["tables"]
    stats = {name: span_drift.statistics(table, schema) for name, table in tables.items()}
    against_window = compare([stats["swapped"]], [stats["window"]], schema, DRIFT, environment="SERVING")
    assert against_window.passed
    assert all((f.distance or 0.0) == pytest.approx(0.0, abs=1e-12) for f in against_window.features)
    for kind in (SKEW, DRIFT):  # against the reference, exactly what the unchanged window gets
        swapped = compare([stats["swapped"]], [stats["reference"]], schema, kind, environment="SERVING")
        unchanged = compare([stats["window"]], [stats["reference"]], schema, kind, environment="SERVING")
        assert [f.name for f in swapped.offending] == [f.name for f in unchanged.offending] == []
        assert [f.distance for f in swapped.features] == pytest.approx([f.distance for f in unchanged.features])


def test_the_domain_classifier_catches_the_swap_and_names_the_features(windows):
    found = _told(windows, "swapped")
    assert multivariate.verdict(found, THRESHOLD) == "over threshold", found["auc"]
    assert set(found["relied_on"][:2]) == {"fare", "trip_miles"}, found["features"][:4]
    assert found["rows"] == {"reference": 800, "window": 800}  # the reference sampled to the window's size


def test_the_same_rows_unchanged_are_within_the_threshold(windows):
    found = _told(windows, "window")
    assert multivariate.verdict(found, THRESHOLD) == "within threshold", found["auc"]
    assert found["auc"]["low"] < 0.5 < found["auc"]["high"] + 0.05
    assert found["relied_on"] == []


def test_the_same_places_written_with_different_digits_are_not_told_apart(monkeypatch):
    """The evaluation rows carry a float32's digits, the request log the number as the
    server wrote it (seven significant digits): 150 pickup points drawn alike on both
    sides are within the threshold, not told apart by their last digits (as they are when
    every digit is compared)."""
    rng = np.random.default_rng(0)
    places = [f"{41.6 + v:.9f}" for v in rng.random(150) * 0.4]
    stored = {"x": [repr(float(np.float32(places[i]))) for i in rng.integers(0, 150, 1000)]}
    logged = {"x": [f"{float(np.float32(places[i])):.7g}" for i in rng.integers(0, 150, 1000)]}
    found = multivariate.domain_classifier(stored, logged, ["x"], seed=0, confidence=0.95)
    assert multivariate.verdict(found, THRESHOLD) == "within threshold", found["auc"]
    monkeypatch.setattr(multivariate, "SIGNIFICANT", 17)
    every_digit = multivariate.domain_classifier(stored, logged, ["x"], seed=0, confidence=0.95)
    assert multivariate.verdict(every_digit, THRESHOLD) == "over threshold", every_digit["auc"]
