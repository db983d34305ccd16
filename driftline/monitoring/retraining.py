"""A retraining decision as an MLMD execution: why it ran, the run it started, whether
the model was blessed, and the canary it became (or why not)."""
import json

from ml_metadata.proto import metadata_store_pb2

RETRAINING_TYPE = "driftline.Retraining"
PROPERTIES = {"model": metadata_store_pb2.STRING, "reason": metadata_store_pb2.STRING,
              "trigger": metadata_store_pb2.STRING, "run": metadata_store_pb2.STRING,
              "outcome": metadata_store_pb2.STRING, "pushed_version": metadata_store_pb2.STRING,
              "canary_deployment": metadata_store_pb2.INT, "details": metadata_store_pb2.STRING}


def record(store, model: str, trigger: str, reason: str, run_id: str, outcome: str,
           pushed_version: str = "", canary_deployment: int = 0, details: dict = None) -> int:
    execution_type = metadata_store_pb2.ExecutionType(name=RETRAINING_TYPE)
    for name, kind in PROPERTIES.items():
        execution_type.properties[name] = kind
    type_id = store.put_execution_type(execution_type, can_add_fields=True)
    execution = metadata_store_pb2.Execution(type_id=type_id,
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    props = execution.properties
    props["model"].string_value = model
    props["trigger"].string_value = trigger
    props["reason"].string_value = reason
    props["run"].string_value = run_id
    props["outcome"].string_value = outcome
    props["pushed_version"].string_value = pushed_version
    props["canary_deployment"].int_value = canary_deployment
    props["details"].string_value = json.dumps(details or {}, sort_keys=True, default=str)
    contexts = []
    run = store.get_context_by_type_and_name("pipeline_run", run_id) if run_id else None
    if run is not None:
        contexts.append(run)
    execution_id, _, _ = store.put_execution(execution, [], contexts)
    return execution_id
