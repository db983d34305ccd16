"""`driftline kubeflow compile | submit`: the same graph as a KFP v2 spec, and a run of it."""
from pathlib import Path

from driftline.commands.common import config_from
from pipeline.errors import ConfigError


def compile_spec(args) -> int:
    from pipeline import framework_output, kubeflow_runner

    config = config_from(args)
    kubeflow_runner.check(config, args.output)  # before the TFX import: a mistake costs no time
    with framework_output.to_log_file(config.output_dir / "logs" / "kubeflow.log", "driftline kubeflow compile"):
        path = kubeflow_runner.compile_spec(config, args.output)
    print(f"compiled span {config.span} for {config.kubeflow.image} -> {path}")
    if config.drift.baseline == "blessed":
        print("note: on Kubeflow the drift baseline is the previous span and the Evaluator's "
              "baseline is TFX's latest blessed model (KFP v2 resolvers run only TFX's own "
              "strategies)")
    print(f"submit it with: driftline kubeflow submit --host URL --spec {path}")
    return 0


def submit(args) -> int:
    from driftline import kubeflow_client
    from pipeline.config import PROJECT_ROOT

    config = config_from(args)
    host = args.host or config.kubeflow.host
    if not host:
        raise ConfigError("driftline kubeflow submit needs --host URL (or kubeflow.host in the config)")
    spec = args.spec or Path(config.kubeflow.output)
    if not spec.is_absolute() and not spec.exists():
        spec = PROJECT_ROOT / spec
    result = kubeflow_client.submit(spec, host, args.experiment or config.kubeflow.experiment, config)
    print(f"run {result['run_id']} started in experiment {result['experiment']}: {result['url']}")
    return 0
