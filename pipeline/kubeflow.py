"""Kubeflow Pipelines: compile `create_pipeline(config)` to a KFP v2 pipeline spec, and
submit it.

The graph is the one `driftline run` executes, built by the same function with the
config's target set to "kubeflow". What has to differ on a cluster is decided in
`create_pipeline` from that one setting, and said here when compiling:
- data, pipeline root and serving destination are URLs from the [kubeflow] section;
- the schema is read from the image, at a content-addressed path the Dockerfile makes;
- a run trains on one span (window = 1): the v2 compiler accepts no union of channels;
- KFP v2 resolver tasks only implement TFX's built-in strategies, so the Evaluator's
  baseline is TFX's LatestBlessedModelStrategy and the drift baseline is the previous
  span (the "data of the serving model" lookup is a custom strategy).
"""
import hashlib
from pathlib import Path

from pipeline.config import PROJECT_ROOT, Config
from pipeline.errors import ConfigError, DriftlineError

# Where the Dockerfile puts schema snapshots inside the image.
IMAGE_SCHEMA_DIR = "/driftline/schema-snapshots"
REMOTE_SCHEMES = ("gs://", "s3://", "minio://", "hdfs://", "abfs://", "az://", "http://", "https://")
RESOURCE_KEYS = {"cpu_limit", "memory_limit"}


def schema_digest(schema_file: Path) -> str:
    return hashlib.sha256(Path(schema_file).read_bytes()).hexdigest()[:16]


def image_schema_path(schema_file: Path) -> str:
    return f"{IMAGE_SCHEMA_DIR}/{schema_digest(schema_file)}/schema.pbtxt"


def check(config: Config) -> None:
    """Everything a cluster run needs, checked before TFX is imported."""
    k = config.kubeflow
    problems = []
    if not k.image:
        problems.append("kubeflow.image is not set: the container image with driftline "
                        "installed (see the Dockerfile), e.g. \"gcr.io/my-project/driftline:1\"")
    for name in ("pipeline_root", "data_root", "serving_dir"):
        value = getattr(k, name)
        if not value:
            problems.append(f"kubeflow.{name} is not set")
        elif not value.startswith(REMOTE_SCHEMES):
            problems.append(f"kubeflow.{name} = {value!r} is a local path; a cluster's pods cannot "
                            f"see this machine's disk: use a bucket URL ({', '.join(REMOTE_SCHEMES[:3])} ...)")
    if config.window != 1:
        window = "window is not set (every span)" if config.window is None else f"window = {config.window}"
        problems.append(f"{window}: on Kubeflow a run trains on one span (set "
                        "window = 1). TFX 1.16's KubeflowV2DagRunner takes one producer per "
                        "input, and a window of several spans is a union of several ExampleGens")
    if config.span is None:
        problems.append("span is not set: the cluster's data root cannot be listed from here, "
                        "so name the span to run for (--span N or span = N)")
    for node, spec in k.resources.items():
        if not isinstance(spec, dict) or not set(spec) <= RESOURCE_KEYS:
            problems.append(f"kubeflow.resources.{node} must set only {sorted(RESOURCE_KEYS)} "
                            f"(CPUs and GB), got {spec!r}")
            continue
        for key, value in spec.items():
            if not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"kubeflow.resources.{node}.{key} must be a positive number, got {value!r}")
    if problems:
        raise ConfigError("cannot compile for Kubeflow:\n" + "\n".join(f"  - {p}" for p in problems))


def for_cluster(config: Config) -> Config:
    """The config as the cluster sees it: the same settings, target kubeflow, and the drift
    baseline a KFP v2 resolver can compute."""
    import copy

    cluster = copy.deepcopy(config)
    cluster.target = "kubeflow"
    cluster.drift.baseline = "previous"
    return cluster


def compile_spec(config: Config, output: Path = None) -> Path:
    check(config)
    cluster = for_cluster(config)
    output = Path(output or cluster.kubeflow.output)
    if not output.is_absolute():
        output = PROJECT_ROOT / output
    if output.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"{output}: the compiled spec is written as YAML (.yaml)")

    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as v2

    from pipeline.pipeline import create_pipeline

    pipeline = create_pipeline(cluster)
    known_nodes = {c.id for c in pipeline.components}
    unknown = set(cluster.kubeflow.resources) - known_nodes
    if unknown:
        raise ConfigError(f"kubeflow.resources names {', '.join(sorted(unknown))}, which the "
                          f"graph does not have (nodes: {', '.join(sorted(known_nodes))})")
    output.parent.mkdir(parents=True, exist_ok=True)
    runner = v2.KubeflowV2DagRunner(
        config=v2.KubeflowV2DagRunnerConfig(default_image=cluster.kubeflow.image,
                                            display_name=cluster.pipeline_name),
        output_dir=str(output.parent),
        output_filename=output.name,
    )
    runner.run(pipeline)
    return output


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
