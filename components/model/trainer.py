"""run_fn for the TFX Trainer: a Keras classifier for big_tipper, exported for serving.

The exported SavedModel has two signatures:
- `serving_default`: serialized raw tf.Examples without tips or label -> probabilities;
- `transform_features`: the tf.Transform layer alone, which the Evaluator uses to derive
  the label from the raw eval examples.
"""
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow.python.autograph.core import config as autograph_config
from tfx_bsl.public import tfxio

from components.model import features


def skip_autograph_of_tf_keras():
    """Keep autograph from transpiling tf_keras's own internals on the first trace.

    TF 2.16's do-not-convert list names `keras` but not `tf_keras`; without this rule
    the first `fit` spends most of its time converting library code, not the model.
    """
    rule = autograph_config.DoNotConvert("tf_keras")
    if not any(str(r) == str(rule) for r in autograph_config.CONVERSION_RULES):
        autograph_config.CONVERSION_RULES = (rule,) + tuple(autograph_config.CONVERSION_RULES)


def _category_sizes():
    sizes = {features.transformed_name(k): features.FEATURE_BUCKET_COUNT for k in features.BUCKET_FEATURES}
    sizes.update({features.transformed_name(k): n for k, n in features.CATEGORICAL_INT.items()})
    sizes.update({features.transformed_name(k): features.VOCAB_SIZE + features.OOV_SIZE for k in features.VOCAB_FEATURES})
    return sizes


def build_model(hidden_units, learning_rate):
    """A small MLP over z-scored numbers and one-hot categories of the transformed features."""
    inputs, encoded = {}, []
    for key in features.DENSE_FLOAT:
        name = features.transformed_name(key)
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=name, dtype=tf.float32)
        encoded.append(inputs[name])
    for name, size in _category_sizes().items():
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=name, dtype=tf.int64)
        encoded.append(
            tf.keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(inputs[name])
        )
    x = tf.keras.layers.concatenate(encoded)
    for units in hidden_units:
        x = tf.keras.layers.Dense(units, activation="relu")(x)
    output = tf.keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = tf.keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate),
        loss=tf.keras.losses.BinaryCrossentropy(),
        metrics=[tf.keras.metrics.AUC(name="auc")],
    )
    return model


def _dataset(fn_args, files, tf_transform_output, batch_size):
    return fn_args.data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=features.LABEL_KEY),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def _serving_signature(model, tf_transform_output):
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {k: raw_spec[k] for k in features.serving_inputs()}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve(serialized):
        raw = tf.io.parse_example(serialized, serving_spec)
        transformed = model.tft_layer(raw)
        transformed.pop(features.LABEL_KEY, None)
        return {"probabilities": model(transformed)}

    return serve


def _transform_signature(model, tf_transform_output):
    model.tft_layer_eval = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform(serialized):
        return model.tft_layer_eval(tf.io.parse_example(serialized, raw_spec))

    return transform


def run_fn(fn_args):
    skip_autograph_of_tf_keras()
    # The graph always passes them: their defaults live in pipeline/config.py only.
    hparams = fn_args.custom_config["hparams"]
    logging.info("driftline trainer hyperparameters: %s", hparams)

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = _dataset(fn_args, fn_args.train_files, tf_transform_output, hparams["batch_size"])
    evaluation = _dataset(fn_args, fn_args.eval_files, tf_transform_output, hparams["batch_size"])

    model = build_model(hparams["hidden_units"], hparams["learning_rate"])
    model.fit(
        train,
        steps_per_epoch=fn_args.train_steps,
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        verbose=0,
    )
    signatures = {
        "serving_default": _serving_signature(model, tf_transform_output),
        "transform_features": _transform_signature(model, tf_transform_output),
    }
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
