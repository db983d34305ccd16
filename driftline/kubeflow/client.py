"""Submitting a compiled spec to a Kubeflow Pipelines API server (`driftline kubeflow submit`)."""
from pathlib import Path

from components.errors import DriftlineError
from pipeline.config import Config
from pipeline.errors import ConfigError


def submit(spec: Path, host: str, experiment: str, config: Config, run_name: str = None) -> dict:
    """Uploads a compiled spec and starts a run; returns the run's id and URL."""
    import datetime as dt
    import warnings

    spec = Path(spec)
    if not spec.is_file():
        raise ConfigError(f"{spec}: no compiled spec here; run `driftline kubeflow compile` first")
    import kfp

    run_name = run_name or f"{config.pipeline_name} {dt.datetime.now():%Y-%m-%d %H:%M:%S}"
    try:
        with warnings.catch_warnings():  # "only works with KFP v2.0.0-beta.2 and later": said in the README
            warnings.simplefilter("ignore", FutureWarning)
            client = kfp.Client(host=host)
        result = client.create_run_from_pipeline_package(
            str(spec), arguments={}, run_name=run_name, experiment_name=experiment,
            pipeline_root=config.kubeflow.pipeline_root or None,
        )
    except Exception as exc:  # the kfp client raises connection, HTTP and API errors alike
        raise DriftlineError(f"Kubeflow at {host} did not take the run: {_reason(exc)}") from None
    return {"run_id": result.run_id, "url": f"{host.rstrip('/')}/#/runs/details/{result.run_id}",
            "experiment": experiment}


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    for marker in ("Max retries exceeded", "Connection refused", "Name or service not known",
                   "Failed to establish a new connection"):
        if marker in text:
            return f"the host is unreachable ({marker.lower()})"
    status = getattr(exc, "status", None)
    if status:
        body = getattr(exc, "body", "") or ""
        return f"HTTP {status} {getattr(exc, 'reason', '')}: {str(body)[:300]}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:300]
