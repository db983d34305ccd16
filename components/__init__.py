"""What runs inside the driftline graph: features, preprocessing, model, drift checks."""
import os

# TFX 1.16's Transform/Trainer integration is built on tf.keras 2 (tf-keras); TF 2.16
# would otherwise hand out Keras 3. Must be set before TensorFlow resolves tf.keras, and
# this package is imported by every executor that runs our code (locally and in the
# Kubeflow image), so this is the one place that covers them all.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# Before anything imports TFX's components: only the ones a process uses get loaded
# (tfx_components.py says what that saves).
from components import tfx_components  # noqa: E402

tfx_components.defer()

# KFP v2's container entrypoint finds a custom artifact type's class by its schema title,
# which KFP requires to be `namespace.Name`: so the types are named `components.Name`,
# and the classes are reachable here, imported only when asked for.
ARTIFACT_TYPES = {
    "DriftReport": "components.drift_gate.component",
    "ModelPredictions": "components.model_gate.component",
}


def __getattr__(name):
    if name in ARTIFACT_TYPES:
        import importlib

        return getattr(importlib.import_module(ARTIFACT_TYPES[name]), name)
    raise AttributeError(f"module 'components' has no attribute {name!r}")
