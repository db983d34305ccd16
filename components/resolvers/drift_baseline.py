"""Resolves the statistics of the data the serving (latest blessed) model was trained on.

That is the StatisticsGen output of the pipeline run whose Trainer produced the model,
i.e. the newest span of its training window, together with the Examples it was computed
from (which carry the span number). Everything is read from MLMD events, never from
paths. A model trained up to this run's own statistics (this span, run before) has
nothing to be compared with: the model blessed before it is taken instead, and without
one the drift gate falls back to the previous span. Either way a re-run resolves what
the first run of the span resolved, so an unchanged re-run stays fully cached even after
the span's own model was blessed.
"""
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.components.common import resolver

from components.resolvers.serving_model import blessings_by_model
from components.examples_io import span_of

STATISTICS_KEY = "statistics"
EXAMPLES_KEY = "examples"
MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"
CURRENT_KEY = "current"

_OUTPUTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


def first_run_producing(store, artifact_id):
    """The pipeline_run context of the first execution that output the artifact."""
    events = sorted(
        (e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type in _OUTPUTS),
        key=lambda e: e.execution_id,
    )
    for event in events:
        for context in store.get_contexts_by_execution(event.execution_id):
            if context.type == "pipeline_run":
                return context
    return None


def statistics_of_run(store, run_context, statistics_node: str):
    """(statistics id, examples id) that the run's statistics node output and read."""
    examples_type = store.get_artifact_type("Examples").id
    for execution in store.get_executions_by_context(run_context.id):
        nodes = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
        if not any(name.endswith(f".{statistics_node}") for name in nodes):
            continue
        events = store.get_events_by_execution_ids([execution.id])
        outputs = [e.artifact_id for e in events if e.type in _OUTPUTS]
        inputs = store.get_artifacts_by_id([e.artifact_id for e in events if e.type in _INPUTS])
        examples = [a.id for a in inputs if a.type_id == examples_type]
        if outputs:
            return outputs[0], (examples[0] if examples else None)
    return None, None


class BlessedTrainingStatisticsStrategy(resolver.ResolverStrategy):
    """Inputs: `statistics`, `examples`, `model`, `model_blessing` (all of the pipeline's)
    and `current` (this run's statistics). Answers `statistics` and `examples` with the
    blessed model's, or with nothing. `statistics_node` is the id of the node whose
    statistics describe a run's newest span, `current_span` the span this run checks
    (both the graph's facts, passed in its config).

    A model whose newest training span is the current span, or a later one, is passed
    over even when its statistics are another artifact: a span ingested again (a touched
    or edited file) gets new statistics, and comparing them with the old ones of the same
    span would measure nothing."""

    def __init__(self, statistics_node: str, current_span: int):
        self._statistics_node = statistics_node
        self._current_span = current_span

    def resolve_artifacts(self, store, input_dict):
        result = {key: [] for key in input_dict}
        result[CURRENT_KEY] = list(input_dict.get(CURRENT_KEY, []))
        current = {a.id for a in input_dict.get(CURRENT_KEY, [])}
        blessed = blessings_by_model(input_dict.get(BLESSING_KEY, []))
        models = [m for m in input_dict.get(MODEL_KEY, []) if m.id in blessed]
        for model in sorted(models, key=lambda m: m.id, reverse=True):
            run = first_run_producing(store, model.id)
            if run is None:
                continue
            stats_id, examples_id = statistics_of_run(store, run, self._statistics_node)
            if stats_id is None or stats_id in current:
                continue
            examples = [a for a in input_dict.get(EXAMPLES_KEY, []) if a.id == examples_id]
            if examples and span_of(examples[0]) >= self._current_span:
                continue
            result[STATISTICS_KEY] = [a for a in input_dict.get(STATISTICS_KEY, []) if a.id == stats_id]
            result[EXAMPLES_KEY] = [a for a in input_dict.get(EXAMPLES_KEY, []) if a.id == examples_id]
            return result
        return result
