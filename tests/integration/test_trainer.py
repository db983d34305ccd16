import numpy as np
import tensorflow as tf
from tensorflow.python.autograph.core import config as autograph_config

from components.model import features
from components.model.trainer import _category_sizes, build_model, skip_autograph_of_tf_keras


def _batch(n, rng):
    batch = {features.transformed_name(k): rng.normal(size=(n, 1)).astype("float32") for k in features.DENSE_FLOAT}
    for name, size in _category_sizes().items():
        batch[name] = rng.integers(0, size, size=(n, 1))
    return batch


def test_model_takes_every_transformed_input_and_returns_probabilities():
    model = build_model([8], 0.01)
    assert set(model.input_names) == {features.transformed_name(k) for k in features.model_inputs()}
    out = model.predict(_batch(16, np.random.default_rng(0)), verbose=0)
    assert out.shape == (16, 1)
    assert np.all((out >= 0) & (out <= 1))


def test_model_learns_a_separable_rule():
    rng = np.random.default_rng(1)
    x = _batch(512, rng)
    y = (x["fare_xf"][:, 0] > 0).astype("float32")
    model = build_model([8], 0.05)
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=5, batch_size=64, verbose=0)
    loss, auc = model.evaluate(x, y, verbose=0)
    assert loss < before and auc > 0.95


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
