"""The end-of-run summary, read back from MLMD and the artifacts it points to.

Reading only: what a run adds to MLMD afterwards is written by driftline/mlmd/provenance.py.
"""
import os
from dataclasses import dataclass, field
from typing import Optional

from components.drift_gate import report_files, verdict
from components.model_gate import verdict as model_verdict
from driftline.mlmd.store import custom_property, output_artifacts
from pipeline import metadata, nodes
from pipeline.config import Config

HEADLINE_METRICS = ["auc", "f1_score", "precision", "recall", "binary_accuracy"]


@dataclass
class Summary:
    run_id: str
    span: int
    window: list
    rows: dict = field(default_factory=dict)
    # The ModelGate's judgement (components/model_gate/verdict.py: read), or None.
    judgement: Optional[dict] = None
    # (slice, F1) of the error analysis (driftline/analysis): the lowest F1 among slices of
    # `slice_features` with at least `min_slice_examples` rows.
    weakest_slice: Optional[tuple] = None
    pushed_path: Optional[str] = None
    # The model was a version already pushed (the same files): no new version appeared.
    already_pushed: bool = False
    metadata_path: str = ""
    node_states: dict = field(default_factory=dict)
    drift: Optional[dict] = None
    # The error-analysis report written after the run (driftline/analysis).
    report_path: Optional[str] = None

    @property
    def gate_blocked(self) -> bool:
        return self.drift is not None and not self.drift["passed"]

    @property
    def blessed(self) -> Optional[bool]:
        return None if self.judgement is None else self.judgement["blessed"]

    @property
    def metrics(self) -> dict:
        """metric -> value of the candidate on the whole evaluation set."""
        if self.judgement is None:
            return {}
        return {m: v["value"] for m, v in self.judgement["metrics"].items()}


def read_drift(report_artifact) -> dict:
    """The DriftGate's verdict, from its artifact's properties and the JSON beside it."""
    found = verdict.read(report_artifact)
    comparison = report_files.read_comparison(report_artifact.uri)
    return {
        "passed": found["passed"],
        "clean": found["clean"],
        "gate": found["gate"],
        "baseline": comparison["baseline_label"],
        "current": comparison["current_label"],
        "features": comparison["features"],
        "offending": [f for f in comparison["features"] if f["name"] in comparison["offending"]],
        "examples_verdict": comparison["examples_verdict"],
        "examples_ratio": comparison["examples_ratio"],
        "examples_bounds": comparison["examples_bounds"],
        "anomalies": found["anomalies"],
        "report": found["report"],
        "label_findings": found["label_findings"],
    }


def is_pushed(artifact) -> bool:
    """Whether a PushedModel artifact put a version in place (TFX's `pushed` property)."""
    return artifact is not None and custom_property(artifact, "pushed") == 1


def drift_brief(report) -> Optional[dict]:
    """The drift gate's verdict as lineage lists it (anomalies by name), or None."""
    if report is None:
        return None
    found = verdict.read(report)
    return {**found, "anomalies": [name for name, _ in found["anomalies"]]}


def _stats_rows(uri: str) -> dict:
    import tensorflow_data_validation as tfdv

    rows = {}
    for split in ("train", "eval"):
        path = os.path.join(uri, f"Split-{split}", "FeatureStats.pb")
        if os.path.exists(path):
            stats = tfdv.load_stats_binary(path)
            rows[split] = stats.datasets[0].num_examples
    return rows


def summarize(store, config: Config, run_id: str, span: int, window: list) -> Summary:
    executions = metadata.run_executions(store, config.pipeline_name, run_id)
    summary = Summary(run_id, span, window, metadata_path=config.metadata_label)
    summary.node_states = {
        node: metadata.STATE_NAMES.get(e.last_known_state, "?") for node, e in executions.items()
    }

    def outputs(node):
        return output_artifacts(store, executions[node].id) if node in executions else {}

    report = outputs(nodes.DRIFT_GATE).get(nodes.REPORT)
    if report:
        summary.drift = read_drift(report[0])

    stats = outputs(nodes.STATISTICS_GEN).get(nodes.STATISTICS)
    if stats:
        summary.rows = _stats_rows(stats[0].uri)

    blessing = outputs(nodes.MODEL_GATE).get(nodes.BLESSING)
    if blessing:
        summary.judgement = model_verdict.read(blessing[0])

    pushed = outputs(nodes.PUSHER).get(nodes.PUSHED_MODEL)
    if pushed and is_pushed(pushed[0]):
        summary.pushed_path = custom_property(pushed[0], "pushed_destination")
        summary.already_pushed = custom_property(pushed[0], "already_pushed") == 1
    return summary

