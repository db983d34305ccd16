"""run_fn for the TFX Trainer: a Keras classifier for the task's label, exported for serving.

The exported SavedModel has two signatures:
- `serving_default`: serialized raw tf.Examples of the model's inputs (no outcome, no
  label) -> probabilities;
- `transform_features`: the tf.Transform layer alone, which the Evaluator uses to derive
  the label from the raw eval examples.
"""
import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tensorflow.python.autograph.core import config as autograph_config
from tfx_bsl.public import tfxio

from components.model import operating_point
from components.model.task import LABEL_KNOWN, Task, bucketized_name, transformed_name


def skip_autograph_of_tf_keras():
    """Keep autograph from transpiling tf_keras's own internals on the first trace.

    TF 2.16's do-not-convert list names `keras` but not `tf_keras`; without this rule
    the first `fit` spends most of its time converting library code, not the model.
    """
    rule = autograph_config.DoNotConvert("tf_keras")
    if not any(str(r) == str(rule) for r in autograph_config.CONVERSION_RULES):
        autograph_config.CONVERSION_RULES = (rule,) + tuple(autograph_config.CONVERSION_RULES)


def build_model(task: Task, hidden_units, learning_rate, l2=0.0, label_scale=(0.0, 1.0)):
    """A small MLP over z-scored numbers and one-hot categories of the transformed features,
    its weights held small by an L2 penalty of `l2` (a few thousand rows are easy
    to memorize). A binary task ends in a probability; a regression task in a number, the
    network's output scaled by the label's spread and shifted by its mean
    (`label_scale`), so that it starts at the mean and learns in units of the spread."""
    penalty = tf.keras.regularizers.l2(l2) if l2 else None
    inputs, encoded = {}, []
    for item in task.scaled():
        name = transformed_name(item.name)
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=name, dtype=tf.float32)
        encoded.append(inputs[name])
    for name, size in task.category_sizes(transformed_name, bucketized_name).items():
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=name, dtype=tf.int64)
        encoded.append(
            tf.keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(inputs[name])
        )
    x = tf.keras.layers.concatenate(encoded)
    for units in hidden_units:
        x = tf.keras.layers.Dense(units, activation="relu", kernel_regularizer=penalty)(x)
    if task.kind == "regression":
        mean, spread = label_scale
        standard = tf.keras.layers.Dense(1, name="standardized", kernel_regularizer=penalty)(x)
        output = tf.keras.layers.Rescaling(scale=spread, offset=mean, name="prediction")(standard)
        loss, metrics = tf.keras.losses.MeanSquaredError(), [tf.keras.metrics.RootMeanSquaredError(name="rmse")]
    else:
        output = tf.keras.layers.Dense(1, activation="sigmoid", name="probability", kernel_regularizer=penalty)(x)
        loss, metrics = tf.keras.losses.BinaryCrossentropy(), [tf.keras.metrics.AUC(name="auc")]
    model = tf.keras.Model(inputs=inputs, outputs=output)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
    return model


def label_scale(holdout) -> tuple:
    """(mean, standard deviation) of the labels of the held-out rows: where a regression
    head starts and the unit it learns in (1 when the labels do not vary)."""
    import numpy as np

    labels = [tf.reshape(label, [-1]).numpy()[tf.reshape(weight, [-1]).numpy() > 0]
              for _, label, weight in holdout]
    values = np.concatenate(labels) if labels else np.zeros(0)
    if not values.size:
        return 0.0, 1.0
    spread = float(values.std())
    return float(values.mean()), spread if spread > 0 else 1.0


# Which rows training learns from: "observable", the rows whose label can be known (the
# task's `known_when`), or "all", every row as the label rule reads it.
POPULATIONS = ("observable", "all")


# One row in this many of the train split is held out of training, by a hash of its
# inputs: training stops when the model's loss there stops falling.
HOLDOUT_BUCKETS = 10


def _holdout(inputs):
    """Whether each row of a transformed batch is in the held-out part: a hash of its
    inputs, so a row (and any duplicate of it) always falls on the same side."""
    text = [tf.strings.as_string(tf.reshape(inputs[k], [-1])) for k in sorted(inputs)]
    bucket = tf.strings.to_hash_bucket_fast(tf.strings.reduce_join(tf.stack(text, axis=1), axis=1,
                                                                   separator="|"), HOLDOUT_BUCKETS)
    return tf.equal(bucket, 0)


def _dataset(fn_args, files, tf_transform_output, transform, task, hparams, part="all"):
    """(features, label, weight) batches of raw examples put through the transform graph
    (Transform does not materialize a transformed copy). A row outside the population
    weighs 0, so it moves no weight of the model and counts in no training metric; so
    does a row outside `part` ("fit": all but the held-out rows, "holdout": those only)."""
    # Shuffled with the run's seed, read in file order: the same batches every time.
    # The held-out rows are read once (each counts once in the threshold's choice);
    # the rows to fit on repeat for as many steps as training takes.
    dataset = fn_args.data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=hparams["batch_size"], shuffle_seed=hparams["seed"],
                                       sloppy_ordering=False,
                                       num_epochs=1 if part == "holdout" else None),
        tf_transform_output.raw_metadata.schema,
    )

    def weighted(raw):
        inputs = transform(raw)
        label = inputs.pop(task.label_name)
        known = inputs.pop(LABEL_KNOWN)
        weight = known if hparams["population"] == "observable" else tf.ones_like(known)
        if part != "all":
            held = _holdout(inputs)
            weight = weight * tf.cast(held if part == "holdout" else tf.logical_not(held), weight.dtype)
        return inputs, label, tf.reshape(weight, [-1])

    return dataset.map(weighted)


def _in_large_batches(dataset, rows=4096):
    """The same rows in batches of `rows`. The held-out stream carries every train row,
    nine in ten of them at weight 0, and Keras's evaluation each round pays by the
    batch far more than by the row. Its weighted loss is a sum over rows divided by
    the row count, so the batching leaves it as it was (early stopping picks the same
    round)."""
    return dataset.unbatch().batch(rows)


def make_deterministic(seed: int):
    """Python's, NumPy's and TensorFlow's random generators seeded from one number, and
    TensorFlow's ops made deterministic: the same data, code and seed give the same
    weights, so a difference between two runs means something changed."""
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _serving_signature(model, tf_transform_output, task):
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {k: raw_spec[k] for k in task.model_inputs()}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve(serialized):
        raw = tf.io.parse_example(serialized, serving_spec)
        transformed = model.tft_layer(raw)
        transformed.pop(task.label_name, None)
        # A row outside the population the model learned from still gets a probability,
        # but says so: 0 means nothing can ever check the answer. When the rule for it
        # reads an outcome, the request cannot say, and the output is left out.
        known = transformed.pop(LABEL_KNOWN, None)
        outputs = {task.output: model(transformed)}
        if known is not None:
            outputs[LABEL_KNOWN] = tf.reshape(known, [-1, 1])
        return outputs

    return serve


def _transform_signature(model, tf_transform_output):
    raw_spec = tf_transform_output.raw_feature_spec()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform(serialized):
        return model.tft_layer(tf.io.parse_example(serialized, raw_spec))

    return transform


EARLY_STOP_STEPS = 50
# The held-out part holds a few hundred rows, so its loss is noisy from one round
# to the next: one round without improvement is not yet the start of overfitting.
EARLY_STOP_PATIENCE = 3


def run_fn(fn_args):
    skip_autograph_of_tf_keras()
    # The graph always passes them: their defaults live in pipeline/config.py only.
    hparams = fn_args.custom_config["hparams"]
    task = Task.from_json(fn_args.custom_config["task"])
    logging.info("driftline trainer hyperparameters: %s", hparams)

    make_deterministic(hparams["seed"])
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    # One transform layer serves the input streams and both signatures: each new one
    # loads and tracks the whole transform graph again.
    transform = tf_transform_output.transform_features_layer()
    train, holdout = (
        _dataset(fn_args, fn_args.train_files, tf_transform_output, transform, task, hparams, part)
        for part in ("fit", "holdout"))
    holdout = _in_large_batches(holdout.take(fn_args.eval_steps)).cache()

    scale = label_scale(holdout) if task.kind == "regression" else (0.0, 1.0)
    model = build_model(task, hparams["hidden_units"], hparams["learning_rate"], hparams.get("l2", 0.0), scale)
    # train_steps is the most it may take: it stops once the held-out loss has not
    # improved for EARLY_STOP_PATIENCE rounds, with the weights of the best round.
    per_round = min(EARLY_STOP_STEPS, fn_args.train_steps)
    history = model.fit(
        train,
        steps_per_epoch=per_round,
        epochs=max(1, fn_args.train_steps // per_round),
        validation_data=holdout,
        callbacks=[tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=EARLY_STOP_PATIENCE,
                                                    restore_best_weights=True)],
        verbose=0,
    )
    logging.info("driftline trainer: held-out loss by round %s", history.history.get("val_loss"))
    # Attached after training, so the model trains on its own layers alone; the
    # signatures reach the transform through it, and the SavedModel keeps it.
    model.tft_layer = transform
    signatures = {
        "serving_default": _serving_signature(model, tf_transform_output, task),
        "transform_features": _transform_signature(model, tf_transform_output),
    }
    # Every reader (the ModelGate, the server, TF Serving) calls the signatures only, so
    # the per-layer call traces Keras would add for reloading the Keras object are left
    # out: they cost tracing at save and at every load.
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures, save_traces=False)
    write_warmup_requests(fn_args.serving_model_dir, tf_transform_output, task)
    if task.kind == "binary":  # a number has no threshold to decide at
        write_operating_point(fn_args.serving_model_dir, model, holdout, hparams)


def write_operating_point(model_dir: str, model, holdout, hparams):
    """The threshold chosen on the held-out rows (never the ones the gate judges), into
    the SavedModel's directory, where every reader finds it (operating_point.py)."""
    import numpy as np

    labels, scores = [], []
    for inputs, label, weight in holdout:
        keep = tf.reshape(weight, [-1]).numpy() > 0
        scores.append(tf.reshape(model(inputs, training=False), [-1]).numpy()[keep])
        labels.append(tf.reshape(label, [-1]).numpy()[keep])
    point = operating_point.choose(np.concatenate(labels) if labels else np.zeros(0),
                                   np.concatenate(scores) if scores else np.zeros(0),
                                   hparams.get("operating_point", "f1"), hparams.get("operating_target"))
    logging.info("driftline trainer: operating threshold %s", point.text())
    path = f"{model_dir}/{operating_point.FILE}"
    tf.io.gfile.makedirs(path.rsplit("/", 1)[0])
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(point.to_json())


WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"


def probe_example(raw_spec: dict, task: Task) -> bytes:
    """A serialized raw tf.Example with one plain value for every serving input."""
    feature = {}
    for name in task.model_inputs():
        dtype = raw_spec[name].dtype
        if dtype == tf.string:
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[b""]))
        elif dtype.is_integer:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[0]))
        else:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[0.0]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_warmup_requests(model_dir: str, tf_transform_output, task: Task):
    """The model's own load probe, where TF Serving looks for one: a PredictionLog of a
    request to serving_default. TF Serving replays it before a version takes traffic;
    so does `driftline serve`."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.signature_name = "serving_default"
    request.inputs["examples"].CopyFrom(
        tf.make_tensor_proto([probe_example(tf_transform_output.raw_feature_spec(), task)], dtype=tf.string))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    path = f"{model_dir}/{WARMUP_FILE}"
    tf.io.gfile.makedirs(path.rsplit("/", 1)[0])
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(log.SerializeToString())
