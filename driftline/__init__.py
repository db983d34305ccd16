"""driftline, the application: the `driftline` command and everything a person runs."""
# Imported first so that tf.keras resolves to tf-keras in every process that may load
# TensorFlow (components/__init__.py says why).
import components  # noqa: F401
