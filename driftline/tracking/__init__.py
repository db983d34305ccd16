"""Experiment tracking outside MLMD: driftline's runs and rollouts mirrored into MLflow."""
