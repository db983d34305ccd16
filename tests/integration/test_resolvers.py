from tfx.types import standard_artifacts

from components.resolvers.serving_model import PreviousBlessedModelStrategy


def _model(id_):
    model = standard_artifacts.Model()
    model.id = id_
    return model


def _blessing(model_id, blessed):
    blessing = standard_artifacts.ModelBlessing()
    blessing.id = 100 + model_id
    blessing.set_int_custom_property("current_model_id", model_id)
    blessing.set_int_custom_property("blessed", int(blessed))
    return blessing


def _resolve(models, blessings, candidate):
    return PreviousBlessedModelStrategy().resolve_artifacts(
        None, {"model": models, "model_blessing": blessings, "candidate": candidate}
    )


def test_latest_blessed_model_that_is_not_the_candidate():
    models = [_model(1), _model(2), _model(3), _model(4)]
    blessings = [_blessing(1, True), _blessing(2, True), _blessing(3, False)]
    result = _resolve(models, blessings, [_model(4)])
    assert [m.id for m in result["model"]] == [2]
    assert [b.id for b in result["model_blessing"]] == [102]


def test_candidate_already_blessed_is_not_its_own_baseline():
    result = _resolve([_model(1), _model(2)], [_blessing(1, True), _blessing(2, True)], [_model(2)])
    assert [m.id for m in result["model"]] == [1]
    result = _resolve([_model(2)], [_blessing(2, True)], [_model(2)])
    assert result["model"] == [] and result["model_blessing"] == []
    assert [m.id for m in result["candidate"]] == [2]


def test_no_blessed_model_means_no_baseline():
    result = _resolve([_model(1)], [_blessing(1, False)], [_model(2)])
    assert result["model"] == [] and result["model_blessing"] == []
