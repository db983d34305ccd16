"""Resolver strategy for Transform's analyzer cache: the newest cache written by a
Transform that analyzed a different window of spans.

tf.Transform caches each analyzer's partial result per input dataset, so a run for a
new span re-analyzes only that span and reads the rest of its window from the cache,
as long as the preprocessing_fn is unchanged (the cache keys include the analyzers'
graph; an edited one misses and analyzes everything again).

The obvious choice, the newest cache, would make every re-run different from the last:
the newest cache is then the one the previous run of this very window wrote, Transform's
inputs change, and TFX's cache never hits. A cache written for exactly the current
window adds nothing (all of it is cached in Transform's outputs already), so it is
skipped, and an unchanged re-run resolves the same cache as the run before it.
"""
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.components.common import resolver

from components import storage

CACHE_KEY = "cache"
EXAMPLES_PREFIX = "examples_"


def _analyzed_examples(store, cache_id: int) -> list:
    """For each execution that output the cache, the ids of the Examples it read."""
    producers = [e.execution_id for e in store.get_events_by_artifact_ids([cache_id])
                 if e.type == metadata_store_pb2.Event.OUTPUT]
    read = {p: set() for p in producers}
    for event in store.get_events_by_execution_ids(producers):
        if (event.type == metadata_store_pb2.Event.INPUT and event.path.steps
                and event.path.steps[0].key == "examples"):
            read[event.execution_id].add(event.artifact_id)
    return list(read.values())


class PreviousAnalysisCacheStrategy(resolver.ResolverStrategy):
    """Inputs: `cache` (every TransformCache of the pipeline) and `examples_<span>` (this
    run's window). Output: `cache` holding at most one artifact."""

    def resolve_artifacts(self, store, input_dict):
        current = {a.id for key, artifacts in input_dict.items()
                   if key.startswith(EXAMPLES_PREFIX) for a in artifacts}
        passthrough = {k: v for k, v in input_dict.items() if k != CACHE_KEY}
        for cache in sorted(input_dict.get(CACHE_KEY, []), key=lambda a: a.id, reverse=True):
            if not storage.isdir(cache.uri):
                continue
            windows = _analyzed_examples(store, cache.id)
            if windows and all(w == current for w in windows):
                continue
            if any(w & current for w in windows):
                return {CACHE_KEY: [cache], **passthrough}
        return {CACHE_KEY: [], **passthrough}
