"""What runs inside the driftline graph: features, preprocessing, model, drift checks."""
import os

# TFX 1.16's Transform/Trainer integration is built on tf.keras 2 (tf-keras); TF 2.16
# would otherwise hand out Keras 3. Must be set before TensorFlow resolves tf.keras, and
# this package is imported by every executor that runs our code (locally and in the
# Kubeflow image), so this is the one place that covers them all.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
