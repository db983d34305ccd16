"""DriftGate: the component that decides whether a span may reach Transform and Trainer.

It reads the current span's statistics, a baseline's statistics (chosen here, see
choose_baseline), the curated schema and ExampleValidator's anomalies; writes a
DriftReport artifact whose properties hold every feature's distance, threshold and
verdict, and the report files beside it. Downstream nodes sit under a Cond on the
report's `passed` property, so the gate holds wherever the graph runs.
"""
import json
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact
from tfx.types.standard_artifacts import ExampleAnomalies, Examples, ExampleStatistics, Schema

from components.drift_gate import comparison as drift_comparison
from components.drift_gate import report_files
from components.drift_gate import verdict

BLOCK, WARN = "block", "warn"
BLESSED, PREVIOUS = "blessed", "previous"


class DriftReport(artifact.Artifact):
    """Outcome of a drift gate: per-feature distances, thresholds and verdicts."""

    TYPE_NAME = verdict.DRIFT_REPORT_TYPE


def read_anomalies(uri: str) -> list:
    """[(feature, description)] from ExampleValidator's per-split SchemaDiff.pb files."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    found = {}
    for split in sorted(os.listdir(uri)):
        path = os.path.join(uri, split, "SchemaDiff.pb")
        if not os.path.exists(path):
            continue
        anomalies = anomalies_pb2.Anomalies()
        with open(path, "rb") as f:
            anomalies.ParseFromString(f.read())
        for name, info in anomalies.anomaly_info.items():
            text = info.description or info.short_description
            found.setdefault(name, f"{text.strip()} ({split.replace('Split-', '')})")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            found.setdefault("(dataset)", info.description or info.short_description)
    return sorted(found.items())


def span_of(examples) -> int:
    """ExampleGen records the span as a custom property in TFX 1.16 (the `span` property
    of the Examples type stays unset), so look there first."""
    if examples is None:
        return -1
    if examples.has_custom_property("span"):
        return examples.get_int_custom_property("span")
    return int(examples.span)


def choose_baseline(mode, blessed, previous):
    """(choice, kind) for the baseline: the blessed model's training data when asked for
    and known, else the previous span, else (None, 'none') for a clean first run.
    `blessed` and `previous` are (statistics artifact, span) pairs or None."""
    if mode == BLESSED and blessed is not None:
        return blessed, BLESSED
    if previous is not None:
        return previous, PREVIOUS
    return None, "none"


@component
def DriftGate(
    statistics: InputArtifact[ExampleStatistics],
    schema: InputArtifact[Schema],
    anomalies: InputArtifact[ExampleAnomalies],
    report: OutputArtifact[DriftReport],
    blessed_statistics: InputArtifact[ExampleStatistics] = None,
    blessed_examples: InputArtifact[Examples] = None,
    previous_statistics: InputArtifact[ExampleStatistics] = None,
    baseline: Parameter[str] = BLESSED,
    gate: Parameter[str] = BLOCK,
    current_span: Parameter[int] = -1,
    previous_span: Parameter[int] = -1,
    # Not read here: a hash of the drift code, so that TFX's cache notices a code change.
    code_fingerprint: Parameter[str] = "",
) -> None:
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    with open(os.path.join(schema.uri, "schema.pbtxt")) as f:
        schema_proto = text_format.Parse(f.read(), schema_pb2.Schema())
    current = drift_comparison.load_statistics(statistics.uri)
    blessed = None
    if blessed_statistics is not None:
        blessed = (blessed_statistics, span_of(blessed_examples))
    previous = (previous_statistics, previous_span) if previous_statistics is not None else None
    chosen, kind = choose_baseline(baseline, blessed, previous)
    current_label = f"span {current_span}"
    if chosen is None:
        comparison = drift_comparison.compare(current, current, schema_proto,
                                           current_label=current_label,
                                           baseline_label="no baseline (first run)")
        baseline_span = -1
    else:
        chosen, baseline_span = chosen
        label = "data of the serving model" if kind == BLESSED else "previous span"
        comparison = drift_comparison.compare(
            current, drift_comparison.load_statistics(chosen.uri), schema_proto,
            current_label=current_label, baseline_label=f"span {baseline_span} ({label})")
    schema_anomalies = read_anomalies(anomalies.uri)

    clean = comparison.passed and not schema_anomalies
    report.set_int_custom_property(verdict.PASSED, int(clean or gate == WARN))
    report.set_int_custom_property(verdict.CLEAN, int(clean))
    report.set_string_custom_property(verdict.GATE, gate)
    report.set_string_custom_property(verdict.BASELINE_KIND, kind)
    report.set_int_custom_property(verdict.BASELINE_SPAN, baseline_span)
    report.set_int_custom_property(verdict.CURRENT_SPAN, current_span)
    if chosen is not None:
        report.set_int_custom_property(verdict.BASELINE_STATISTICS_ID, chosen.id)
    report.set_int_custom_property(verdict.CURRENT_STATISTICS_ID, statistics.id)
    report.set_string_custom_property(verdict.OFFENDING, ",".join(f.name for f in comparison.offending))
    report.set_string_custom_property(verdict.ANOMALIES, json.dumps(schema_anomalies))
    for f in comparison.features:
        if f.distance is not None:
            report.set_float_custom_property(verdict.DISTANCE + f.name, f.distance)
        if f.threshold is not None:
            report.set_float_custom_property(verdict.THRESHOLD + f.name, f.threshold)
        report.set_string_custom_property(verdict.VERDICT + f.name, f.verdict)
    path = report_files.write(comparison, report.uri, schema_anomalies)
    report.set_string_custom_property(verdict.REPORT_HTML, path)
