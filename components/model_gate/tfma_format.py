"""The ModelGate's evaluation in TFMA's own format: a ModelEvaluation artifact that
`tfma.load_eval_result` and TFMA's views read as they read TFX's Evaluator's.

TFX's Evaluator would score the same rows again in a Beam pipeline of its own, loading
the model once more; the gate already holds every judged row's label, prediction and
slice values, so it writes what the Evaluator would: the run's EvalConfig
(`eval_config.json`) and one MetricsForSlice record per slice (`metrics-*.tfrecord`),
the overall slice with the gate's bootstrap intervals. Only the judged rows count (the
observable population): per slicing, the slices' example counts add up to the judged
row count. F1, precision, recall and accuracy are at the model's operating threshold,
as the gate judges them; AUC is exact (TFMA's own approximates it with 10,000
thresholds, so the two agree to about three decimals on the same model).
"""
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from components import storage
from components.model_gate import metrics

CONFIG_FILE = "eval_config.json"
METRICS_FILE = "metrics-00000-of-00001.tfrecord"
# TFMA's names for the gate's metrics.
NAMES = {"auc": "auc", "f1_score": "f1_score", "precision": "precision", "recall": "recall",
         "binary_accuracy": "binary_accuracy", "log_loss": "binary_crossentropy"}
# The metrics of the decision, taken at the operating threshold.
DECISIONS = {"f1_score", "precision", "recall", "binary_accuracy"}
CLASSES = {"auc": "AUC", "f1_score": "F1Score", "precision": "Precision", "recall": "Recall",
           "binary_accuracy": "BinaryAccuracy", "log_loss": "BinaryCrossentropy"}


def eval_config(label_key: str, slice_features: Sequence[str], threshold: float):
    """The EvalConfig that describes what the gate computed."""
    import json

    from tensorflow_model_analysis.proto import config_pb2

    at_threshold = json.dumps({"thresholds": [threshold]})[1:-1]
    return config_pb2.EvalConfig(
        model_specs=[config_pb2.ModelSpec(signature_name="serving_default", label_key=label_key,
                                          prediction_key="probabilities")],
        slicing_specs=[config_pb2.SlicingSpec()] + [config_pb2.SlicingSpec(feature_keys=[k])
                                                     for k in slice_features],
        metrics_specs=[config_pb2.MetricsSpec(metrics=[
            config_pb2.MetricConfig(class_name="ExampleCount"),
            config_pb2.MetricConfig(class_name="WeightedExampleCount"),
            *[config_pb2.MetricConfig(class_name=CLASSES[m], config=at_threshold if m in DECISIONS else "")
              for m in NAMES]])],
    )


def _slice_value(key, value: str):
    """A slice key's value as TFMA types it: a whole number as int64, else text."""
    try:
        number = float(value)
    except ValueError:
        return key.__class__(column=key.column, bytes_value=value.encode("utf-8"))
    if number.is_integer() and "." not in value:
        return key.__class__(column=key.column, int64_value=int(number))
    return key.__class__(column=key.column, float_value=number)


def _record(slice_key: Sequence[tuple], values: Dict[str, float], examples: int,
            intervals: Optional[Dict[str, metrics.Interval]] = None) -> bytes:
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as pb

    found = pb.MetricsForSlice()
    for column, value in slice_key:
        found.slice_key.single_slice_keys.append(_slice_value(pb.SingleSliceKey(column=column), value))
    for name, value in [("example_count", examples), ("weighted_example_count", examples)] + \
            [(NAMES[m], values[m]) for m in NAMES]:
        entry = found.metric_keys_and_values.add()
        entry.key.name = name
        entry.value.double_value.value = float(value)
        metric = next((m for m, n in NAMES.items() if n == name), None)
        if intervals and metric in intervals and intervals[metric].low == intervals[metric].low:
            entry.confidence_interval.lower_bound.double_value.value = intervals[metric].low
            entry.confidence_interval.upper_bound.double_value.value = intervals[metric].high
    return found.SerializeToString()


def slice_records(labels, scores, columns: Dict[str, Sequence[str]], threshold: float,
                  overall: Dict[str, metrics.Interval]) -> List[bytes]:
    """The overall slice (with its intervals), then one record per value of each column."""
    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=np.float64)
    found = [_record((), {m: i.value for m, i in overall.items()}, int(labels.size), overall)]
    for column, values in columns.items():
        values = np.asarray(values, dtype=object)
        for value in sorted(set(values.tolist()), key=str):
            rows = values == value
            found.append(_record([(column, value)], metrics.all_metrics(labels[rows], scores[rows], threshold),
                                 int(rows.sum())))
    return found


def write(directory: str, config, data_location: str, model_location: str, records: List[bytes]):
    """eval_config.json and the metrics file, where `tfma.load_eval_result(directory)` looks."""
    import tensorflow as tf
    from google.protobuf import json_format
    from tensorflow_model_analysis import version as tfma_version
    from tensorflow_model_analysis.proto import config_pb2

    run = config_pb2.EvalRun(eval_config=config, version=tfma_version.VERSION, data_location=data_location,
                             file_format="tfrecord", model_locations={"": model_location})
    storage.makedirs(directory)
    storage.write_text(os.path.join(directory, CONFIG_FILE), json_format.MessageToJson(run))
    with tf.io.TFRecordWriter(os.path.join(directory, METRICS_FILE)) as writer:
        for record in records:
            writer.write(record)
