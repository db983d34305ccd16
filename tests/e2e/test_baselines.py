"""The drift gate's blessed-statistics resolver on the e2e session's real MLMD store."""
from tfx.types import artifact_utils

from components.resolvers.drift_baseline import BlessedTrainingStatisticsStrategy
from driftline.mlmd.store import output_artifacts
from pipeline import metadata, nodes
from e2e_helpers import PIPELINE


def _artifacts(store, type_name):
    artifact_type = store.get_artifact_type(type_name)
    return [artifact_utils.deserialize_artifact(artifact_type, a)
            for a in store.get_artifacts_by_type(type_name)]


def _statistics_of(store, runs, run_index):
    execution = metadata.run_executions(store, PIPELINE, runs["run_ids"][run_index])["StatisticsGen"]
    return output_artifacts(store, execution.id)["statistics"][0].id


def _resolve(store, current_id, current_span):
    inputs = {
        "statistics": _artifacts(store, "ExampleStatistics"),
        "examples": _artifacts(store, "Examples"),
        "model": _artifacts(store, "Model"),
        "model_blessing": _artifacts(store, "ModelBlessing"),
    }
    inputs["current"] = [a for a in inputs["statistics"] if a.id == current_id]
    return BlessedTrainingStatisticsStrategy(statistics_node=nodes.STATISTICS_GEN,
                                             current_span=current_span).resolve_artifacts(store, inputs)


def test_the_serving_models_training_statistics_for_a_new_span(runs):
    store = runs["store"]
    span3, span4 = _statistics_of(store, runs, 0), _statistics_of(store, runs, 2)
    resolved = _resolve(store, span4, 4)
    # The only blessed model (run 1's) was trained up to span 3.
    assert [a.id for a in resolved["statistics"]] == [span3]
    assert [a.get_int_custom_property("span") for a in resolved["examples"]] == [3]
    assert [a.id for a in resolved["current"]] == [span4]


def test_a_model_trained_on_the_current_statistics_is_passed_over(runs):
    # Span 3's own model is the only blessed one: a re-run of span 3 has no blessed
    # model from other data, and gets what its first run got (nothing: previous span).
    store = runs["store"]
    resolved = _resolve(store, _statistics_of(store, runs, 0), 3)
    assert resolved["statistics"] == [] and resolved["examples"] == []


def test_when_the_spans_own_model_was_blessed_the_one_before_is_the_baseline(runs, tmp_path):
    # Run 3's span-4 model was held to a bar no model meets. Bless it in a copy of the
    # store: it is then the newest blessed model, trained up to span 4 itself, and a
    # re-run of span 4 must still compare with run 1's model's data, as run 3 did.
    import shutil

    import ml_metadata as mlmd

    db = tmp_path / "metadata.sqlite"
    shutil.copy(runs["work"] / "out" / "metadata.sqlite", db)
    store = mlmd.MetadataStore(metadata.sqlite_config(db))
    execution = metadata.run_executions(store, PIPELINE, runs["run_ids"][2])["ModelGate"]
    blessing = output_artifacts(store, execution.id)["blessing"][0]
    blessing.custom_properties["blessed"].int_value = 1
    store.put_artifacts([blessing])

    span3, span4 = _statistics_of(store, runs, 0), _statistics_of(store, runs, 2)
    assert [a.id for a in _resolve(store, span4, 4)["statistics"]] == [span3]
    # Span 4 ingested again (a touched file): its statistics are a new artifact, which
    # no model was trained on. The model trained up to span 4 is still passed over: the
    # baseline is never the current span's own older data.
    assert [a.id for a in _resolve(store, current_id=-1, current_span=4)["statistics"]] == [span3]
