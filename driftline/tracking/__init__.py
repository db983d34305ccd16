"""Experiment tracking outside MLMD: driftline's runs and rollouts mirrored into MLflow."""


def mirror(config, store=None):
    """The export after a run or a rollout change, when `[mlflow] auto_export` is on (a
    tracker that fails is one warning line, never a failed run). MLflow and the export's
    readers are imported only then."""
    if config.mlflow.auto_export:
        from driftline.tracking.mlflow_export import export_quietly

        export_quietly(config, store)
