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
from tensorflow_metadata.proto.v0 import schema_pb2

from components.drift_gate import comparison as drift_comparison
from components.drift_gate import report_files
from components import storage
from components.drift_gate import verdict
from components.examples_io import span_of

BLOCK, WARN = "block", "warn"
BLESSED, PREVIOUS = "blessed", "previous"


class DriftReport(artifact.Artifact):
    """Outcome of a drift gate: per-feature distances, thresholds and verdicts."""

    TYPE_NAME = verdict.DRIFT_REPORT_TYPE


def read_anomalies(uri: str) -> list:
    """[(feature, description)] from ExampleValidator's per-split SchemaDiff.pb files."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    found = {}
    for split in storage.listdir(uri):
        path = os.path.join(uri, split, "SchemaDiff.pb")
        if not storage.exists(path):
            continue
        anomalies = anomalies_pb2.Anomalies()
        anomalies.ParseFromString(storage.read_bytes(path))
        for name, info in anomalies.anomaly_info.items():
            text = info.description or info.short_description
            found.setdefault(name, f"{text.strip()} ({split.replace('Split-', '')})")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            found.setdefault("(dataset)", info.description or info.short_description)
    return sorted(found.items())


def label_findings(examples, schema_proto, min_rows: int, constant_share: float,
                   population: str, task_json: str) -> list:
    """Label consistency (label_consistency.py) over every row of the current span, the
    label and where it is known read by the task's rules; `population` is what training
    learns from ("observable" or "all")."""
    import numpy as np

    from components.drift_gate import label_consistency
    from components.examples_io import read_columns, records
    from components.model.rule import NumpyBackend
    from components.model.task import Task

    task = Task.from_json(task_json)
    if task.kind == "regression":  # a number is not "almost always positive" in a category
        return []
    label, known = task.label_rule, task.known_rule
    by_name = {f.name: f for f in schema_proto.feature}
    # The label's own columns are left out: an outcome trivially fixes the label it makes.
    categorical = [name for name, f in by_name.items()
                   if (f.type == schema_pb2.BYTES or f.int_domain.is_categorical) and name not in label.columns]
    read = list(dict.fromkeys(categorical + label.columns + (known.columns if known else [])))
    columns, _ = read_columns((record for split in ("train", "eval") for _, record in records([examples], split)),
                              read)

    def values(name):
        if by_name[name].type == schema_pb2.BYTES:
            return np.asarray(columns[name], dtype=object)
        return np.array([float(v) if v else np.nan for v in columns[name]])

    backend = NumpyBackend({name: values(name) for name in read})
    source_name = label.outcomes[0]
    source = backend.columns[source_name]
    if source.dtype == object:  # a text outcome: only whether it is missing says anything
        source = np.where(backend.missing(source_name), np.nan, 1.0)
    rows = len(source)
    in_population = (known.evaluate(backend) if known is not None and population == "observable"
                     else np.ones(rows, dtype=bool))
    return label_consistency.check(
        {name: columns[name] for name in categorical}, label.evaluate(backend), source,
        min_rows, constant_share, in_population, source_name=source_name)


def choose_baseline(mode, blessed, previous):
    """(choice, kind) for the baseline: the blessed model's training data when asked for
    and known, else the previous span, else (None, 'none') for a clean first run.
    `blessed` and `previous` are (statistics artifact, span) pairs or None."""
    if mode == BLESSED and blessed is not None:
        return blessed, BLESSED
    if previous is not None:
        return previous, PREVIOUS
    return None, "none"


def _compare(current, schema_proto, baseline: str, blessed, previous, current_span: int):
    """The current span's statistics against the chosen baseline: (comparison, the
    baseline's statistics artifact or None, its kind, its span or -1)."""
    chosen, kind = choose_baseline(baseline, blessed, previous)
    current_label = f"span {current_span}"
    if chosen is None:
        comparison = drift_comparison.compare(current, current, schema_proto, current_label=current_label,
                                              baseline_label="no baseline (first run)")
        return comparison, None, kind, -1
    chosen, baseline_span = chosen
    label = "data of the serving model" if kind == BLESSED else "previous span"
    comparison = drift_comparison.compare(
        current, drift_comparison.load_statistics(chosen.uri), schema_proto,
        current_label=current_label, baseline_label=f"span {baseline_span} ({label})")
    return comparison, chosen, kind, baseline_span


def _record(report, comparison, schema_anomalies, labels, gate: str, kind: str, chosen, baseline_span: int,
            current_span: int, statistics_id: int):
    """The verdict as the report artifact's MLMD properties (components/drift_gate/verdict.py)."""
    clean = comparison.passed and not schema_anomalies
    report.set_int_custom_property(verdict.PASSED, int(clean or gate == WARN))
    report.set_int_custom_property(verdict.CLEAN, int(clean))
    report.set_string_custom_property(verdict.GATE, gate)
    report.set_string_custom_property(verdict.BASELINE_KIND, kind)
    report.set_int_custom_property(verdict.BASELINE_SPAN, baseline_span)
    report.set_int_custom_property(verdict.CURRENT_SPAN, current_span)
    if chosen is not None:
        report.set_int_custom_property(verdict.BASELINE_STATISTICS_ID, chosen.id)
    report.set_int_custom_property(verdict.CURRENT_STATISTICS_ID, statistics_id)
    report.set_string_custom_property(verdict.OFFENDING, ",".join(f.name for f in comparison.offending))
    report.set_string_custom_property(verdict.ANOMALIES, json.dumps(schema_anomalies))
    for f in comparison.features:
        if f.distance is not None:
            report.set_float_custom_property(verdict.DISTANCE + f.name, f.distance)
        if f.threshold is not None:
            report.set_float_custom_property(verdict.THRESHOLD + f.name, f.threshold)
        report.set_string_custom_property(verdict.VERDICT + f.name, f.verdict)
    report.set_string_custom_property(verdict.LABEL_FINDINGS, json.dumps([f.to_json() for f in labels]))


@component
def DriftGate(
    statistics: InputArtifact[ExampleStatistics],
    schema: InputArtifact[Schema],
    anomalies: InputArtifact[ExampleAnomalies],
    report: OutputArtifact[DriftReport],
    blessed_statistics: InputArtifact[ExampleStatistics] = None,
    blessed_examples: InputArtifact[Examples] = None,
    previous_statistics: InputArtifact[ExampleStatistics] = None,
    # The current span's rows, for the label-consistency check.
    examples: InputArtifact[Examples] = None,
    baseline: Parameter[str] = BLESSED,
    gate: Parameter[str] = BLOCK,
    current_span: Parameter[int] = -1,
    previous_span: Parameter[int] = -1,
    label_min_rows: Parameter[int] = 100,
    label_constant_share: Parameter[float] = 0.99,
    population: Parameter[str] = "observable",
    # The task (components/model/task.py) as JSON: the label's rule and where it is known.
    task: Parameter[str] = "",
    # Not read here: a hash of the drift code, so that TFX's cache notices a code change.
    code_fingerprint: Parameter[str] = "",
) -> None:
    from google.protobuf import text_format

    schema_proto = text_format.Parse(storage.read_text(os.path.join(schema.uri, "schema.pbtxt")),
                                     schema_pb2.Schema())
    current = drift_comparison.load_statistics(statistics.uri)
    blessed = (blessed_statistics, span_of(blessed_examples)) if blessed_statistics is not None else None
    previous = (previous_statistics, previous_span) if previous_statistics is not None else None
    comparison, chosen, kind, baseline_span = _compare(current, schema_proto, baseline, blessed, previous,
                                                       current_span)
    schema_anomalies = read_anomalies(anomalies.uri)
    # Warnings, not a gate: what the label means in a category is for a person to decide.
    labels = ([] if examples is None or not task else
              label_findings(examples, schema_proto, label_min_rows, label_constant_share,
                             population, task))

    _record(report, comparison, schema_anomalies, labels, gate=gate, kind=kind, chosen=chosen,
            baseline_span=baseline_span, current_span=current_span, statistics_id=statistics.id)
    path = report_files.write(comparison, report.uri, schema_anomalies, labels)
    report.set_string_custom_property(verdict.REPORT_HTML, path)
