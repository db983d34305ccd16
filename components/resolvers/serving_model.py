"""Resolver strategy for the Evaluator's baseline: the latest blessed model other than
the candidate being evaluated.

TFX's LatestBlessedModelStrategy hands back the candidate itself when a run is repeated
with nothing changed (the cached Trainer output was blessed last time), which changes
the Evaluator's inputs and forces it and the Pusher to run again. Comparing a model with
itself proves nothing, so the candidate is excluded and an unchanged re-run stays cached.
"""
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.components.common import resolver

MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"
CANDIDATE_KEY = "candidate"


def blessings_by_model(blessings) -> dict:
    """model id -> its positive ModelBlessing, for the blessings that bless."""
    return {
        b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY): b
        for b in blessings
        if b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
    }


class PreviousBlessedModelStrategy(resolver.ResolverStrategy):
    """Inputs: `model` and `model_blessing` (all of the pipeline's), `candidate` (this run's)."""

    def resolve_artifacts(self, store, input_dict):
        candidates = input_dict.get(CANDIDATE_KEY, [])
        candidate_ids = {a.id for a in candidates}
        blessed_by_model = blessings_by_model(input_dict.get(BLESSING_KEY, []))
        for model in sorted(input_dict.get(MODEL_KEY, []), key=lambda a: a.id, reverse=True):
            if model.id in blessed_by_model and model.id not in candidate_ids:
                return {
                    MODEL_KEY: [model],
                    BLESSING_KEY: [blessed_by_model[model.id]],
                    CANDIDATE_KEY: candidates,
                }
        # Every input key must be answered, even when there is no baseline.
        return {MODEL_KEY: [], BLESSING_KEY: [], CANDIDATE_KEY: candidates}
