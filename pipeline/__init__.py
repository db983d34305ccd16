"""The graph and its runners: one create_pipeline(config, inputs) for every runner."""
# Imported first so that tf.keras resolves to tf-keras in every process that runs the
# graph (components/__init__.py says why).
import components  # noqa: F401
