import numpy as np
import tensorflow as tf
from tensorflow.python.autograph.core import config as autograph_config

from components.model.task import bucketized_name, transformed_name
from components.model.trainer import build_model, skip_autograph_of_tf_keras
from pipeline.config import load_config
from pipeline.inputs import resolve_task

TASK = resolve_task(load_config())

# As run_fn does before it trains: the first fit or predict converts no library code.
skip_autograph_of_tf_keras()


def _batch(n, rng):
    batch = {transformed_name(i.name): rng.normal(size=(n, 1)).astype("float32") for i in TASK.scaled()}
    for name, size in TASK.category_sizes(transformed_name, bucketized_name).items():
        batch[name] = rng.integers(0, size, size=(n, 1))
    return batch


def test_model_takes_every_transformed_input_and_returns_probabilities():
    model = build_model(TASK, [8], 0.01)
    assert set(model.input_names) == ({transformed_name(k) for k in TASK.model_inputs()}
                                      | {bucketized_name(i.name) for i in TASK.treated("scale+buckets")})
    out = model.predict(_batch(16, np.random.default_rng(0)), verbose=0)
    assert out.shape == (16, 1)
    assert np.all((out >= 0) & (out <= 1))


def test_model_learns_a_separable_rule():
    rng = np.random.default_rng(1)
    x = _batch(512, rng)
    y = (x["fare_xf"][:, 0] > 0).astype("float32")
    model = build_model(TASK, [8], 0.05)
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=5, batch_size=64, verbose=0)
    loss, auc = model.evaluate(x, y, verbose=0)
    assert loss < before and auc > 0.95


def test_the_held_out_part_is_a_tenth_chosen_by_the_rows_inputs():
    from components.model.trainer import HOLDOUT_BUCKETS, _holdout

    batch = {k: tf.constant(v) for k, v in _batch(5000, np.random.default_rng(2)).items()}
    held = _holdout(batch).numpy()
    assert abs(held.mean() - 1 / HOLDOUT_BUCKETS) < 0.02
    # The same rows in another order fall on the same side: it is about the row, not its place.
    order = np.random.default_rng(3).permutation(5000)
    shuffled = {k: tf.gather(v, order) for k, v in batch.items()}
    assert np.array_equal(_holdout(shuffled).numpy(), held[order])


def test_the_l2_penalty_is_on_every_layer():
    model = build_model(TASK, [8, 4], 0.01, l2=0.01)
    assert len(model.losses) == 3
    assert not build_model(TASK, [8, 4], 0.01).losses


def test_autograph_rule_for_tf_keras_is_added_once():
    skip_autograph_of_tf_keras()
    skip_autograph_of_tf_keras()
    rules = [str(r) for r in autograph_config.CONVERSION_RULES if "tf_keras" in str(r)]
    assert rules == ["DoNotConvert rule for tf_keras"]
    # The rule only matters because tf.keras is tf-keras here (TF_USE_LEGACY_KERAS):
    # with Keras 3 behind tf.keras, TFX 1.16's Trainer integration breaks.
    import tf_keras

    assert tf.keras.Model is tf_keras.Model


def test_tf_keras_internals_are_not_converted_by_autograph():
    """What the rule is for: autograph leaves tf_keras's own functions alone."""
    from tensorflow.python.autograph.impl import conversion

    import tf_keras

    skip_autograph_of_tf_keras()
    assert not conversion.is_allowlisted(build_model)
    assert conversion.is_allowlisted(tf_keras.layers.Dense.call)
