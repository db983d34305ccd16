"""preprocessing_fn for tf.Transform: raw features to model-ready tensors, for the task
the graph passes in `custom_config` (components/model/task.py).

The label is derived here and only here, by the task's rule over its outcome columns, so
the served model never needs them; so is `label_known`, whether the label can be known
for the row at all, which weights training and filters evaluation.
"""
import tensorflow as tf
import tensorflow_transform as tft

from components.model.task import LABEL_KNOWN, OOV_SIZE, Task, bucketized_name, transformed_name


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


class TensorBackend:
    """The task's rules (components/model/rule.py) over raw feature tensors. A missing
    number reads as 0 and missing text as "", as everywhere in the transform; numbers
    are compared in float32."""

    def __init__(self, inputs: dict):
        self.inputs = inputs

    def column(self, name):
        x = self.inputs[name]
        if x.dtype == tf.string:
            return _dense(x, "")
        return tf.cast(_dense(x, _missing_default(x)), tf.float32)

    def constant(self, value):
        return tf.constant(value, tf.string if isinstance(value, str) else tf.float32)

    def arithmetic(self, op, a, b):
        if op == "/":
            return tf.math.divide_no_nan(a, b)
        return {"+": tf.add, "-": tf.subtract, "*": tf.multiply}[op](a, b)

    def compare(self, op, a, b):
        return {">": tf.greater, ">=": tf.greater_equal, "<": tf.less, "<=": tf.less_equal,
                "==": tf.equal, "!=": tf.not_equal}[op](a, b)

    def member(self, a, values):
        return tf.reduce_any(tf.equal(a[:, None], tf.constant(values)[None, :]), axis=1)

    def missing(self, name):
        x = self.inputs[name]
        if isinstance(x, tf.sparse.SparseTensor):
            present = tf.sparse.to_dense(tf.SparseTensor(x.indices, tf.ones_like(x.values, tf.bool),
                                                         [x.dense_shape[0], 1]), default_value=False)
            return tf.logical_not(tf.reshape(present, [-1]))
        return tf.zeros([tf.shape(x)[0]], tf.bool)

    def negate(self, mask):
        return tf.logical_not(mask)


def _numbers(x, dtype):
    return tf.cast(_dense(x, _missing_default(x)), dtype)


def preprocessing_fn(inputs, custom_config):
    task = Task.from_json(custom_config["task"])
    outputs = {}
    for item in task.scaled():
        key = item.name
        # Mean and variance are summed in float64: Beam combines partial sums in an order
        # that varies from run to run, and in float32 that order shows in the last bits of
        # every z-score (and so in the trained weights). In float64 it does not survive
        # the cast back to float32.
        value = _numbers(inputs[key], tf.float64)
        outputs[transformed_name(key)] = tf.cast(tft.scale_to_z_score(value), tf.float32)
        if item.treatment == "scale+buckets":
            outputs[bucketized_name(key)] = tft.bucketize(tf.cast(value, tf.float32), item.size)

    for item in task.treated("buckets"):
        outputs[transformed_name(item.name)] = tft.bucketize(_numbers(inputs[item.name], tf.float32), item.size)

    for item in task.treated("category"):
        value = _numbers(inputs[item.name], tf.int64)
        # Out-of-range ids share the last slot instead of breaking the one-hot encoding.
        outputs[transformed_name(item.name)] = tf.where(
            (value >= 0) & (value < item.size), value, tf.constant(item.size - 1, tf.int64)
        )

    for item in task.treated("vocabulary"):
        outputs[transformed_name(item.name)] = tft.compute_and_apply_vocabulary(
            _dense(inputs[item.name], ""), top_k=item.size, num_oov_buckets=OOV_SIZE
        )

    backend = TensorBackend(inputs)
    outputs[task.label_name] = tf.cast(task.label_rule.evaluate(backend),
                                       tf.float32 if task.kind == "regression" else tf.int64)
    known = task.known_rule
    # Without a rule every label is known, which a request can say too: the ones are
    # shaped by a model input, never by the label's outcome, which no request carries.
    outputs[LABEL_KNOWN] = (tf.cast(known.evaluate(backend), tf.float32) if known is not None
                            else tf.ones([_rows(inputs[task.model_inputs()[0]])], tf.float32))
    return outputs


def _rows(x):
    return x.dense_shape[0] if isinstance(x, tf.sparse.SparseTensor) else tf.shape(x)[0]
