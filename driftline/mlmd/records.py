"""driftline's own records in MLMD, written and read one way.

Every decision the application makes outside the TFX graph (a rollout change, a
monitoring pass, a retraining or canary decision) is a COMPLETE execution of a
`driftline.*` type: its properties are the decision, its inputs the artifacts it was
about (a pushed model, training statistics), its contexts what it belongs to (the
model's history, the pipeline run it started). `RecordType` declares one kind; `write`
and `read` are the only code that registers, writes and reads them.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from ml_metadata.proto import metadata_store_pb2

from components.properties import value_of

STRING, INT, DOUBLE = metadata_store_pb2.STRING, metadata_store_pb2.INT, metadata_store_pb2.DOUBLE


@dataclass(frozen=True)
class RecordType:
    name: str                                   # the MLMD execution type, driftline.*
    properties: Dict[str, int] = field(default_factory=dict)
    context_type: str = ""                      # the per-model history context, if any


def _execution_type_id(store, kind: RecordType) -> int:
    execution_type = metadata_store_pb2.ExecutionType(name=kind.name)
    for name, value_type in kind.properties.items():
        execution_type.properties[name] = value_type
    return store.put_execution_type(execution_type, can_add_fields=True)


def _set(execution, kind: RecordType, values: dict):
    for name, value in values.items():
        if value is None:
            continue
        value_type = kind.properties[name]
        target = execution.properties[name]
        if value_type == INT:
            target.int_value = int(value)
        elif value_type == DOUBLE:
            target.double_value = float(value)
        else:
            target.string_value = value if isinstance(value, str) else \
                json.dumps(value, sort_keys=True, default=str)


def write(store, kind: RecordType, values: dict, inputs: Iterable[Tuple[str, object]] = (),
          contexts: Iterable = (), history_of: Optional[str] = None) -> int:
    """Records one decision; returns its execution id. `inputs`: (role, artifact) pairs,
    one input event per artifact (MLMD keeps one per artifact and execution: an artifact
    with two roles keeps its first). `history_of`: the name of the `context_type`
    context (a model's) the decision is added to, created when it is the first."""
    execution = metadata_store_pb2.Execution(type_id=_execution_type_id(store, kind),
                                             last_known_state=metadata_store_pb2.Execution.COMPLETE)
    _set(execution, kind, values)
    events, seen = [], set()
    for role, artifact in inputs:
        if artifact is None or artifact.id in seen:
            continue
        seen.add(artifact.id)
        event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.INPUT)
        event.path.steps.add().key = role
        events.append((artifact, event))
    attached = [c for c in contexts if c is not None]
    if history_of is not None and kind.context_type:
        context = store.get_context_by_type_and_name(kind.context_type, history_of)
        if context is None:
            type_id = store.put_context_type(metadata_store_pb2.ContextType(name=kind.context_type))
            context = metadata_store_pb2.Context(type_id=type_id, name=history_of)
        attached.append(context)
    execution_id, _, _ = store.put_execution(execution, events, attached)
    return execution_id


def read(store, kind: RecordType, model: Optional[str] = None, about: Optional[int] = None) -> List[dict]:
    """Every record of `kind`, oldest first, as {"execution", "time_ms", "inputs", and its
    properties}: of one `model` (its "model" property), or about one artifact (`about`,
    an input of the record). A store that never held the type has none."""
    try:
        executions = store.get_executions_by_type(kind.name)
    except Exception:  # noqa: BLE001 - MLMD raises NotFound for a type it never saw
        return []
    roles = {}
    if executions:
        for event in store.get_events_by_execution_ids([e.id for e in executions]):
            if event.type == metadata_store_pb2.Event.INPUT:
                roles.setdefault(event.execution_id, {})[event.artifact_id] = \
                    event.path.steps[0].key if event.path.steps else ""
    found = []
    for execution in sorted(executions, key=lambda e: e.id):
        props = {k: value_of(v) for k, v in execution.properties.items()}
        if model and props.get("model") != model:
            continue
        inputs = roles.get(execution.id, {})
        if about is not None and about not in inputs:
            continue
        found.append({"execution": execution.id, "time_ms": execution.create_time_since_epoch,
                      "inputs": inputs, **{k: props.get(k) for k in kind.properties}})
    return found
