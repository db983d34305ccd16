"""The driftline pipeline as a whole: config, graph, runners and CLI."""
import os

# See components/__init__.py: every entry point must agree on tf.keras 2.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
