"""preprocessing_fn for tf.Transform: raw taxi features to model-ready tensors.

Every feature list comes from components.model.features. The label is derived here and
only here, from the outcome `tips` and the `fare`, so the served model never needs either;
so is `tip_observable`, whether the label can be known for the row at all (features.py
says why), which weights training and filters evaluation.
"""
import tensorflow as tf
import tensorflow_transform as tft

from components.model import features


def _dense(x, default):
    """A [batch] tensor from a dense [batch, 1] or a sparse (possibly missing) feature."""
    if isinstance(x, tf.sparse.SparseTensor):
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]),
            default_value=default,
        )
    return tf.reshape(x, [-1])


def _missing_default(x):
    return "" if x.dtype == tf.string else tf.constant(0, dtype=x.dtype)


def preprocessing_fn(inputs):
    outputs = {}
    for key in features.DENSE_FLOAT:
        # Mean and variance are summed in float64: Beam combines partial sums in an order
        # that varies from run to run, and in float32 that order shows in the last bits of
        # every z-score (and so in the trained weights). In float64 it does not survive
        # the cast back to float32.
        value = tf.cast(_dense(inputs[key], _missing_default(inputs[key])), tf.float64)
        outputs[features.transformed_name(key)] = tf.cast(tft.scale_to_z_score(value), tf.float32)
        outputs[features.bucketized_name(key)] = tft.bucketize(tf.cast(value, tf.float32),
                                                               features.DENSE_BUCKET_COUNT)

    for key in features.BUCKET_FEATURES:
        value = tf.cast(_dense(inputs[key], _missing_default(inputs[key])), tf.float32)
        outputs[features.transformed_name(key)] = tft.bucketize(value, features.FEATURE_BUCKET_COUNT)

    for key, size in features.CATEGORICAL_INT.items():
        value = tf.cast(_dense(inputs[key], _missing_default(inputs[key])), tf.int64)
        # Out-of-range ids share the last slot instead of breaking the one-hot encoding.
        outputs[features.transformed_name(key)] = tf.where(
            (value >= 0) & (value < size), value, tf.constant(size - 1, tf.int64)
        )

    for key in features.VOCAB_FEATURES:
        value = _dense(inputs[key], "")
        outputs[features.transformed_name(key)] = tft.compute_and_apply_vocabulary(
            value, top_k=features.VOCAB_SIZE, num_oov_buckets=features.OOV_SIZE
        )

    fare = tf.cast(_dense(inputs[features.FARE_KEY], 0.0), tf.float32)
    tips = tf.cast(_dense(inputs[features.OUTCOME_KEY], 0.0), tf.float32)
    outputs[features.LABEL_KEY] = tf.cast(features.is_big_tipper(tips, fare), tf.int64)
    observed = _dense(inputs[features.OBSERVABLE_KEY], "")
    outputs[features.OBSERVABLE_WEIGHT] = tf.cast(
        tf.reduce_any(tf.equal(observed[:, None], tf.constant(features.OBSERVABLE_VALUES)[None, :]),
                      axis=1), tf.float32)
    return outputs
