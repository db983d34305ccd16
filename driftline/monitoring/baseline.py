"""What a served version was trained and judged on, found through MLMD lineage: the
pushed version -> the Pusher that pushed it -> the model it read -> the run whose
Trainer produced that model -> that run's StatisticsGen output (the newest span of the
training window) and its ModelGate's predictions on the evaluation split."""
from dataclasses import dataclass
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

from components.model_gate import verdict
from components.resolvers.drift_baseline import first_run_producing, statistics_of_run
from driftline.mlmd.deployments import pushed_model
from driftline.mlmd.store import output_artifacts
from pipeline import metadata, nodes

_INPUTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


@dataclass
class Trained:
    version: str
    pushed: object             # the PushedModel artifact
    model: object              # the Model artifact
    run: str                   # the pipeline run that trained it
    statistics: Optional[object]   # ExampleStatistics artifact
    predictions: Optional[str]     # the ModelGate's predictions parquet of that run
    # The ModelGate's expected calibration error on its evaluation rows (None: not recorded).
    calibration_error: Optional[float] = None


def trained(store, pipeline_name: str, version: str) -> Optional[Trained]:
    """None when this store never pushed `version`."""
    pushed = pushed_model(store, version)
    if pushed is None:
        return None
    events = [e for e in store.get_events_by_artifact_ids([pushed.id])
              if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    model = None
    for event in events:
        inputs = [e for e in store.get_events_by_execution_ids([event.execution_id]) if e.type in _INPUTS
                  and e.path.steps and e.path.steps[0].key == "model"]
        if inputs:
            model = store.get_artifacts_by_id([inputs[0].artifact_id])[0]
    if model is None:
        return None
    run = first_run_producing(store, model.id)
    statistics = predictions = calibration = None
    if run is not None:
        stats_id, _ = statistics_of_run(store, run, nodes.STATISTICS_GEN)
        statistics = store.get_artifacts_by_id([stats_id])[0] if stats_id else None
        gate = metadata.run_executions(store, pipeline_name, run.name).get(nodes.MODEL_GATE)
        outputs = output_artifacts(store, gate.id) if gate else {}
        found = outputs.get(nodes.PREDICTIONS)
        predictions = f"{found[0].uri}/{verdict.PREDICTIONS_FILE}" if found else None
        blessing = outputs.get(nodes.BLESSING)
        calibration = verdict.read(blessing[0]).get("calibration_error") if blessing else None
    return Trained(version, pushed, model, run.name if run else "", statistics, predictions, calibration)


def operating_thresholds(models: dict) -> dict:
    """version -> the threshold its model decides at, as recorded on the Model artifact
    (components/model/operating_point.py); `models`: version -> `trained(...)` or None."""
    from components.model import operating_point

    return {v: operating_point.of_artifact(t.model) if t is not None else operating_point.DEFAULT
            for v, t in models.items()}
