"""Kubeflow Pipelines: compile `create_pipeline(config, inputs)` to a KFP v2 pipeline spec.

The graph is the one `driftline run` executes, built by the same function with the
config's target set to "kubeflow". What has to differ on a cluster is decided in
`create_pipeline` from that one setting, and said here when compiling:
- data, pipeline root and serving destination are URLs from the [kubeflow] section;
- the schema is read from the image, at a content-addressed path the Dockerfile makes;
- a run trains on one span (window = 1): the v2 compiler accepts no union of channels;
- KFP v2 resolver tasks only implement TFX's built-in strategies, so the ModelGate's
  baseline is TFX's LatestBlessedModelStrategy and the drift baseline is the previous
  span (the "data of the serving model" lookup is a custom strategy).
"""
from pathlib import Path

from pipeline import nodes
from pipeline.config import PROJECT_ROOT, Config
from pipeline.errors import ConfigError

REMOTE_SCHEMES = ("gs://", "s3://", "minio://", "hdfs://", "abfs://", "az://", "http://", "https://")
RESOURCE_KEYS = {"cpu_limit", "memory_limit"}


def check(config: Config, output: Path = None) -> None:
    """Everything a cluster run needs, checked before TFX is imported."""
    settings = config.kubeflow
    problems = []
    if spec_path(config, output).suffix not in (".yaml", ".yml"):
        problems.append(f"{spec_path(config, output)}: the compiled spec is written as YAML (.yaml)")
    if not settings.image:
        problems.append("kubeflow.image is not set: the container image with driftline "
                        "installed (see the Dockerfile), e.g. \"gcr.io/my-project/driftline:1\"")
    for name in ("pipeline_root", "data_root", "serving_dir"):
        value = getattr(settings, name)
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
    for node, spec in settings.resources.items():
        if node not in nodes.FIXED and not node.startswith(nodes.EXAMPLE_GEN_PREFIX):
            problems.append(f"kubeflow.resources names {node!r}, which the graph does not have "
                            f"(nodes: {', '.join(sorted(nodes.FIXED))}, {nodes.EXAMPLE_GEN_PREFIX}N)")
            continue
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


def spec_path(config: Config, output: Path = None) -> Path:
    output = Path(output or config.kubeflow.output)
    return output if output.is_absolute() else PROJECT_ROOT / output


def compile_spec(config: Config, output: Path = None) -> Path:
    check(config, output)
    cluster = for_cluster(config)
    output = spec_path(cluster, output)

    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as v2

    from pipeline.graph import create_pipeline
    from pipeline.inputs import gather

    pipeline = create_pipeline(cluster, gather(cluster))
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
