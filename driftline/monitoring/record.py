"""A monitoring pass as an MLMD execution: its inputs are the pushed models that served
the window and the training statistics each was compared with, its properties the
window, the distances and the alarms. Lineage thus continues past deployment: from a
model to every judgement of its traffic."""
import json

from ml_metadata.proto import metadata_store_pb2

MONITORING_TYPE = "driftline.Monitoring"
CONTEXT_TYPE = "driftline.monitoring"
PROPERTIES = {"model": metadata_store_pb2.STRING, "rows": metadata_store_pb2.INT,
              "first_timestamp": metadata_store_pb2.DOUBLE, "last_timestamp": metadata_store_pb2.DOUBLE,
              "judged": metadata_store_pb2.INT, "alarms": metadata_store_pb2.STRING,
              "result": metadata_store_pb2.STRING}


def record(store, model: str, result: dict, sources: list) -> int:
    """`sources`: (role, artifact) pairs, e.g. ("served_model", PushedModel). An artifact
    that serves two roles (one training-statistics artifact behind two versions trained on
    the same data) is one input: MLMD holds one input event per artifact and execution."""
    execution_type = metadata_store_pb2.ExecutionType(name=MONITORING_TYPE)
    for name, kind in PROPERTIES.items():
        execution_type.properties[name] = kind
    type_id = store.put_execution_type(execution_type, can_add_fields=True)
    context_type_id = store.put_context_type(metadata_store_pb2.ContextType(name=CONTEXT_TYPE))
    execution = metadata_store_pb2.Execution(type_id=type_id,
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    props = execution.properties
    props["model"].string_value = model
    props["rows"].int_value = int(result["rows"])
    props["first_timestamp"].double_value = float(result["first_timestamp"])
    props["last_timestamp"].double_value = float(result["last_timestamp"])
    props["judged"].int_value = int(result["judged"])
    props["alarms"].string_value = json.dumps(result["alarms"], sort_keys=True)
    props["result"].string_value = json.dumps(result, sort_keys=True, default=str)
    context = store.get_context_by_type_and_name(CONTEXT_TYPE, model) or metadata_store_pb2.Context(
        type_id=context_type_id, name=model)
    events, seen = [], set()
    for role, artifact in sources:
        if artifact.id in seen:
            continue
        seen.add(artifact.id)
        event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.INPUT)
        event.path.steps.add().key = role
        events.append((artifact, event))
    execution_id, _, _ = store.put_execution(execution, events, [context])
    return execution_id
