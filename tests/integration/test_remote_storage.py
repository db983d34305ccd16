"""Every executor reads and writes through TFX's file-system layer: on a non-local file
system (TensorFlow's ram://, which needs no server) it gives what it gives on disk."""
import os
import shutil
import uuid

import pytest
from tfx.dsl.io import fileio
from tfx.types import standard_artifacts

from components import storage
from components.drift_gate import report_files, verdict
from components.drift_gate.component import DriftGate, DriftReport
from components.example_gen import csv_reader
from components.example_gen import executor as csv_examples
from components.resolvers.analyzer_cache import PreviousAnalysisCacheStrategy
from pipeline.config import PROJECT_ROOT

from test_csv_executor import _exec_properties, _read_splits, _run
from test_drift_gate import _artifact
from driftline.data.drift import csv_statistics
from driftline.schema.check import load_schema


def _ram(name):
    return f"ram://{name}-{uuid.uuid4().hex[:8]}"


def _upload(local_dir, remote_dir):
    for root, _, files in os.walk(local_dir):
        for name in files:
            source = os.path.join(root, name)
            target = os.path.join(remote_dir, os.path.relpath(source, local_dir))
            fileio.makedirs(os.path.dirname(target))
            fileio.copy(source, target)


def test_the_csv_reader_and_executor_read_a_remote_data_root_as_a_local_one(embedded_spans, tmp_path):
    remote = _ram("data")
    _upload(embedded_spans / "span-4", f"{remote}/span-4")
    assert csv_reader.list_files(f"{remote}/span-4") == [f"{remote}/span-4/data.csv"]
    local_table = csv_reader.read_span(csv_reader.list_files(str(embedded_spans / "span-4")))
    assert csv_reader.read_span([f"{remote}/span-4/data.csv"]).equals(local_table)

    local = _run(csv_examples.Executor(), tmp_path, "local", _exec_properties(embedded_spans, span=4))

    class Remote:  # the output artifact's directory in the "bucket" too
        def __truediv__(self, name):
            return f"{remote}/out/{name}"

    ours = _run(csv_examples.Executor(), Remote(), "remote", _exec_properties(remote, span=4))
    assert ours.uri.startswith("ram://")
    assert _read_splits(ours) == _read_splits(local)


def test_the_drift_gate_reads_and_writes_remote_artifacts(embedded_spans, tmp_path):
    schema = load_schema(PROJECT_ROOT / "schemas" / "schema.pbtxt")
    root = _ram("root")
    found = {}
    for span in (2, 3):
        stats = csv_statistics(embedded_spans / f"span-{span}", schema)
        storage.makedirs(f"{root}/stats-{span}/Split-train")
        storage.write_bytes(f"{root}/stats-{span}/Split-train/FeatureStats.pb", stats.SerializeToString())
        found[span] = _artifact(standard_artifacts.ExampleStatistics, f"{root}/stats-{span}", 10 + span)
    storage.makedirs(f"{root}/schema")
    storage.write_bytes(f"{root}/schema/schema.pbtxt", (PROJECT_ROOT / "schemas" / "schema.pbtxt").read_bytes())
    storage.makedirs(f"{root}/anomalies/Split-train")
    report = _artifact(DriftReport, f"{root}/report", 99)
    DriftGate.test_call(
        statistics=found[3], schema=_artifact(standard_artifacts.Schema, f"{root}/schema", 1),
        anomalies=_artifact(standard_artifacts.ExampleAnomalies, f"{root}/anomalies", 2),
        report=report, previous_statistics=found[2], baseline="previous", gate="block",
        current_span=3, previous_span=2, code_fingerprint="test")
    read = verdict.read(report.mlmd_artifact)
    assert read["passed"] and read["report"] == f"{root}/report/drift_report.html"
    assert storage.listdir(f"{root}/report") == sorted(
        [report_files.CHART, report_files.HTML, report_files.JSON, report_files.MARKDOWN])
    assert report_files.read_comparison(f"{root}/report")["offending"] == []


def test_the_analyzer_cache_resolver_sees_a_remote_cache():
    from tfx.types import standard_artifacts as artifacts

    cache = artifacts.TransformCache()
    cache.uri = _ram("cache")
    cache.id = 5
    missing = artifacts.TransformCache()
    missing.uri, missing.id = _ram("gone"), 6
    storage.makedirs(cache.uri)

    class Store:  # the Transform behind each cache read span 2's examples (artifact 1)
        def get_events_by_artifact_ids(self, ids):
            from ml_metadata.proto import metadata_store_pb2 as pb

            return [pb.Event(artifact_id=ids[0], execution_id=ids[0] * 10, type=pb.Event.OUTPUT)]

        def get_events_by_execution_ids(self, ids):
            from ml_metadata.proto import metadata_store_pb2 as pb

            event = pb.Event(artifact_id=1, execution_id=ids[0], type=pb.Event.INPUT)
            event.path.steps.add().key = "examples"
            return [event]

    span2, span3 = artifacts.Examples(), artifacts.Examples()
    span2.id, span3.id = 1, 7
    # This run's window is spans 2 and 3; the remote cache analyzed span 2.
    resolved = PreviousAnalysisCacheStrategy().resolve_artifacts(
        Store(), {"cache": [cache, missing], "examples_2": [span2], "examples_3": [span3]})
    # The newest cache no longer exists and is passed over; the remote one is found.
    assert [a.id for a in resolved["cache"]] == [5]
