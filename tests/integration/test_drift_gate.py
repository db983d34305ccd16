"""The DriftGate executor body on real statistics of the taxi spans: the verdict it
records, block and warn modes, the report files, and ExampleValidator's anomalies."""
import json
import shutil
from pathlib import Path

import pytest
import tensorflow_data_validation as tfdv
from tfx.types import standard_artifacts

from components.drift_gate import verdict
from components.drift_gate.component import (
    BLESSED,
    PREVIOUS,
    DriftGate,
    DriftReport,
    choose_baseline,
    read_anomalies,
)
from components.drift_gate.comparison import compare
from driftline.schema.check import load_schema
from driftline.data.drift import csv_statistics
from pipeline.config import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "schemas" / "schema.pbtxt"


def _artifact(kind, uri: Path, artifact_id: int):
    artifact = kind()
    artifact.uri = str(uri)
    artifact.id = artifact_id
    return artifact


@pytest.fixture(scope="module")
def artifacts(embedded_spans, tmp_path_factory):
    """Statistics artifacts of spans 1, 2 and 3 as StatisticsGen lays them out, the
    curated schema as ImportSchemaGen does, and an empty anomalies directory."""
    root = tmp_path_factory.mktemp("gate")
    schema = load_schema(SCHEMA)
    found = {}
    for span in (1, 2, 3):
        stats = csv_statistics(embedded_spans / f"span-{span}", schema)
        split = root / f"stats-{span}" / "Split-train"
        split.mkdir(parents=True)
        (split / "FeatureStats.pb").write_bytes(stats.SerializeToString())
        found[span] = _artifact(standard_artifacts.ExampleStatistics, split.parent, 10 + span)
    (root / "schema").mkdir()
    shutil.copy(SCHEMA, root / "schema" / "schema.pbtxt")
    found["schema"] = _artifact(standard_artifacts.Schema, root / "schema", 1)
    (root / "anomalies" / "Split-train").mkdir(parents=True)
    found["anomalies"] = _artifact(standard_artifacts.ExampleAnomalies, root / "anomalies", 2)
    found["root"] = root
    return found


def _gate(artifacts, tmp_path, current, previous, gate="block", anomalies=None):
    report = _artifact(DriftReport, tmp_path / "report", 99)
    (tmp_path / "report").mkdir()
    DriftGate.test_call(
        statistics=artifacts[current], schema=artifacts["schema"],
        anomalies=anomalies or artifacts["anomalies"], report=report,
        previous_statistics=artifacts[previous], baseline=BLESSED, gate=gate,
        current_span=current, previous_span=previous, code_fingerprint="test")
    return report


def _properties(report):
    """The report as MLMD stores it, read back through the readers' own code."""
    return verdict.read(report.mlmd_artifact)


def test_consecutive_spans_pass_and_every_feature_is_recorded(artifacts, tmp_path):
    report = _gate(artifacts, tmp_path, current=3, previous=2)
    found = _properties(report)
    assert found["passed"] and found["clean"] and found["offending"] == []
    assert found["baseline_kind"] == PREVIOUS and found["baseline_span"] == 2
    assert report.get_int_custom_property(verdict.BASELINE_STATISTICS_ID) == 12
    # The recorded distance is the comparison's own, feature by feature.
    expected = compare(tfdv_load(artifacts[3]), tfdv_load(artifacts[2]), load_schema(SCHEMA))
    for feature in expected.features:
        if feature.distance is not None:
            assert report.get_float_custom_property(verdict.DISTANCE + feature.name) == \
                pytest.approx(feature.distance)
        assert report.get_string_custom_property(verdict.VERDICT + feature.name) == feature.verdict
    # The report files a person opens, and the JSON the readers use.
    for name in ("drift_report.html", "drift_report.md", "drift_chart.png", "drift.json"):
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "report" / "drift.json").read_text())["offending"] == []


def tfdv_load(artifact):
    from components.drift_gate.comparison import load_statistics

    return load_statistics(artifact.uri)


def test_real_drift_blocks_2013_to_2015(artifacts, tmp_path):
    # payment_type's cash share fell from 0.74 to 0.60: L-inf about 0.14 > threshold 0.1.
    found = _properties(_gate(artifacts, tmp_path, current=3, previous=1))
    assert not found["passed"] and not found["clean"]
    assert "payment_type" in found["offending"]
    assert "BLOCKED" in (tmp_path / "report" / "drift_report.md").read_text()


def test_warn_mode_lets_real_drift_through_and_still_names_it(artifacts, tmp_path):
    report = _gate(artifacts, tmp_path, current=3, previous=1, gate="warn")
    found = _properties(report)
    assert found["passed"] and not found["clean"] and found["gate"] == "warn"
    assert "payment_type" in found["offending"]
    assert report.get_float_custom_property(verdict.DISTANCE + "payment_type") == \
        pytest.approx(0.14, abs=0.01)


def test_schema_anomalies_block_even_without_drift(artifacts, embedded_spans, tmp_path):
    # Span 3 with one payment type the schema does not know: ExampleValidator's own
    # anomaly file, read back by the gate.
    bad = tmp_path / "bad"
    bad.mkdir()
    text = (embedded_spans / "span-3" / "data.csv").read_text()
    (bad / "data.csv").write_text(text.replace(",Cash,", ",Bitcoin,", 5))
    stats = csv_statistics(bad, load_schema(SCHEMA))
    anomalies = tfdv.validate_statistics(stats, load_schema(SCHEMA), environment="TRAINING")
    split = tmp_path / "anomalies" / "Split-train"
    split.mkdir(parents=True)
    (split / "SchemaDiff.pb").write_bytes(anomalies.SerializeToString())
    (tmp_path / "anomalies" / "Split-eval").mkdir()  # a split without a file is skipped
    found_anomalies = read_anomalies(str(tmp_path / "anomalies"))
    assert [name for name, _ in found_anomalies] == ["payment_type"]
    assert "Bitcoin" in found_anomalies[0][1] and found_anomalies[0][1].endswith("(train)")

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    artifact = _artifact(standard_artifacts.ExampleAnomalies, tmp_path / "anomalies", 3)
    found = _properties(_gate(artifacts, run_dir, current=3, previous=2, anomalies=artifact))
    assert not found["passed"] and not found["clean"] and found["offending"] == []
    assert found["anomalies"][0][0] == "payment_type"


def test_blessed_data_wins_when_asked_for_and_known():
    assert choose_baseline(BLESSED, ("b", 3), ("p", 2)) == (("b", 3), BLESSED)


def test_previous_span_when_no_blessed_model_or_when_asked_for():
    assert choose_baseline(BLESSED, None, ("p", 2)) == (("p", 2), PREVIOUS)
    assert choose_baseline(PREVIOUS, ("b", 3), ("p", 2)) == (("p", 2), PREVIOUS)


def test_clean_first_run_without_any_baseline():
    assert choose_baseline(BLESSED, None, None) == (None, "none")
