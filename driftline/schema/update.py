"""`driftline schema update --from-run`: the schema edits that would accept what a run
reported, read from that run's artifacts in MLMD.

Schema anomalies (an unseen category, a missing feature, a value out of range) are
answered the way TFDV answers them (`tfdv.update_schema` against every split of the
run's statistics); drift over a threshold, which TFDV does not judge here, is answered
by raising that feature's threshold to just above the measured distance.
"""
import math
from dataclasses import dataclass, field
from typing import List

from tensorflow_metadata.proto.v0 import schema_pb2

from components.drift_gate import report_files, verdict
from components.errors import DataError
from driftline.mlmd.store import find_run, output_artifacts
from pipeline import metadata, nodes


@dataclass
class Proposal:
    run_id: str
    proposed: schema_pb2.Schema
    statistics_uri: str
    anomalies: List[list] = field(default_factory=list)
    drift: List[str] = field(default_factory=list)


def ceil_to(value: float, step: float = 0.01) -> float:
    """The smallest multiple of `step` at or above `value`, as a short decimal."""
    return round(math.ceil(round(value / step, 9)) * step, 6)


def _only(outputs: dict, key: str, node: str, run_id: str):
    if key not in outputs or not outputs[key]:
        raise DataError(f"run {run_id}: {node} recorded no '{key}' output")
    return outputs[key][0]


def propose(store, pipeline_name: str, run_id: str, schema: schema_pb2.Schema) -> Proposal:
    import tensorflow_data_validation as tfdv

    from components.drift_gate.comparison import OVER, load_statistics

    run = find_run(store, run_id)
    executions = metadata.run_executions(store, pipeline_name, run.name)
    if nodes.STATISTICS_GEN not in executions:
        raise DataError(f"run {run.name}: {nodes.STATISTICS_GEN} did not run, so there is nothing to accept")
    statistics = _only(output_artifacts(store, executions[nodes.STATISTICS_GEN].id),
                       nodes.STATISTICS, nodes.STATISTICS_GEN, run.name)
    proposed = schema_pb2.Schema()
    proposed.CopyFrom(schema)
    for split_statistics in load_statistics(statistics.uri):
        proposed = tfdv.update_schema(proposed, split_statistics, infer_feature_shape=False)
    result = Proposal(run.name, proposed, statistics.uri)

    if nodes.DRIFT_GATE in executions:
        report = _only(output_artifacts(store, executions[nodes.DRIFT_GATE].id),
                       nodes.REPORT, nodes.DRIFT_GATE, run.name)
        result.anomalies = verdict.read(report)["anomalies"]
        comparison = report_files.read_comparison(report.uri)
        by_name = {f.name: f for f in proposed.feature}
        for item in comparison["features"]:
            if item["name"] in comparison["offending"] and item["name"] in by_name:
                threshold = ceil_to(item["distance"])
                by_name[item["name"]].drift_comparator.infinity_norm.threshold = threshold
                result.drift.append(f"{item['name']}: distance {item['distance']:.4f} > "
                                    f"{item['threshold']:.4f}; threshold raised to {threshold:g}")
        ratio = comparison.get("examples_ratio")
        if comparison.get("examples_verdict") == OVER and ratio:
            bounds = proposed.dataset_constraints.num_examples_drift_comparator
            if bounds.HasField("min_fraction_threshold") and ratio < bounds.min_fraction_threshold:
                bounds.min_fraction_threshold = math.floor(ratio * 100) / 100
            if bounds.HasField("max_fraction_threshold") and ratio > bounds.max_fraction_threshold:
                bounds.max_fraction_threshold = ceil_to(ratio)
            result.drift.append(f"example count ratio {ratio:.3f} outside the bounds; bounds widened")
    return result
