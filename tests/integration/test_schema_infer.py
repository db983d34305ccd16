"""`driftline schema infer` on a real span, with real TFDV."""
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from driftline.schema import infer as schema_infer
from driftline.schema.check import check_schema, load_schema
from pipeline.config import PROJECT_ROOT
from pipeline.errors import ConfigError


def test_inferred_schema_validates_its_own_span(embedded_spans, tmp_path, driftline):
    target = tmp_path / "inferred" / "span-2.pbtxt"
    proc = driftline("schema", "infer", "--data-root", embedded_spans, "--span", 2,
                     "--output", target, "--output-dir", tmp_path / "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{target}: inferred from span 2" in proc.stdout
    assert target.read_text().startswith("# Inferred by TFDV from ")
    assert check_schema(target) == []
    schema = load_schema(target)
    names = {f.name for f in schema.feature}
    assert {"fare", "tips", "payment_type", "company"} <= names
    # The span's own statistics raise no anomaly against the schema inferred from them.
    _, statistics = schema_infer.infer(embedded_spans / "span-2")
    anomalies = tfdv.validate_statistics(statistics, schema)
    assert dict(anomalies.anomaly_info) == {}
    # ...while the curated schema is a different, stricter contract.
    diff = driftline("schema", "diff", PROJECT_ROOT / "schemas" / "schema.pbtxt", target)
    assert diff.returncode == 1 and "drift threshold" in diff.stdout


def test_infer_never_writes_over_the_curated_schema(tmp_path):
    curated = tmp_path / "schema.pbtxt"
    curated.write_text("")
    schema = schema_pb2.Schema()
    statistics = statistics_pb2.DatasetFeatureStatisticsList(
        datasets=[statistics_pb2.DatasetFeatureStatistics(num_examples=3)])
    with pytest.raises(ConfigError, match="over the curated one"):
        schema_infer.write(schema, statistics, curated, curated, "span-4")
    assert curated.read_text() == ""
