"""`driftline kubeflow compile | submit`: the same graph as a KFP v2 spec, and a run of it."""
from pathlib import Path

from driftline.commands.common import common_args, config_from
from pipeline.errors import ConfigError


def compile_spec(args) -> int:
    from pipeline import framework_output, kubeflow_runner

    config = config_from(args)
    kubeflow_runner.check(config, args.output)  # before the TFX import: a mistake costs no time
    with framework_output.to_log_file(config.output_dir / "logs" / "kubeflow.log", "driftline kubeflow compile"):
        path = kubeflow_runner.compile_spec(config, args.output)
    print(f"compiled span {config.span} for {config.kubeflow.image} -> {path}")
    if config.drift.baseline == "blessed":
        print("note: on Kubeflow the drift baseline is the previous span and the ModelGate's "
              "baseline is TFX's latest blessed model (KFP v2 resolvers run only TFX's own "
              "strategies)")
    print(f"submit it with: driftline kubeflow submit --host URL --spec {path}")
    return 0


def submit(args) -> int:
    from driftline.kubeflow import client as kubeflow_client
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


def rehearse(args) -> int:
    from driftline.kubeflow import rehearsal
    from pipeline import framework_output, kubeflow_runner

    config = config_from(args)
    kubeflow_runner.check(config, args.spec)
    workdir = (args.workdir or config.output_dir / "rehearsal").resolve()
    spec_path = kubeflow_runner.spec_path(config, args.spec)
    if args.spec is None or not spec_path.exists():
        with framework_output.to_log_file(workdir / "logs" / "compile.log", "driftline kubeflow compile"):
            spec_path = kubeflow_runner.compile_spec(config, args.spec)
        print(f"compiled {spec_path}")
    spec = rehearsal.load_spec(spec_path)
    runner = rehearsal.for_config(config, spec, workdir, args.isolation)
    print(f"rehearsing {spec_path} ({len(spec['root']['dag']['tasks'])} tasks, {args.isolation} "
          f"isolation): a rehearsal on this machine, not a Kubeflow backend")

    def line(result):
        message = f"  {result.message}" if result.message and result.state != "complete" else ""
        print(f"  {result.name:<48} {result.state:<9} {result.seconds:6.1f} s{message}", flush=True)

    results = runner.run(on_task=line)
    failed = [r for r in results if r.state == "failed"]
    if failed:
        raise rehearsal.RehearsalError(f"task {failed[0].name} failed: {failed[0].message}")
    pusher = next((r for r in results if r.name == "Pusher"), None)
    pushed = (pusher.outputs.get("pushed_model", [{}])[0].get("metadata", {})
              if pusher and pusher.state == "complete" else {})
    if pushed.get("pushed") == 1.0:
        print(f"pushed {pushed.get('pushed_destination')}")
    else:
        print(f"pushed nothing: {_why_not_pushed(results)}")
    print(f"rehearsal {runner.run_id}: {sum(r.state != 'skipped' for r in results)} tasks ran, "
          f"{sum(r.state == 'skipped' for r in results)} skipped; logs in {workdir / 'logs'}")
    return 0


def _why_not_pushed(results) -> str:
    import json

    by_name = {r.name: r for r in results}
    gate = by_name.get("DriftGate")
    if gate and gate.state == "complete":
        report = gate.outputs.get("report", [{}])[0].get("metadata", {})
        if report.get("passed") != 1.0:
            return f"the drift gate stopped the span ({report.get('offending') or 'schema anomalies'})"
    judge = by_name.get("ModelGate")
    if judge and judge.state == "complete":
        blessing = judge.outputs.get("blessing", [{}])[0].get("metadata", {})
        failed = [c["text"] for c in json.loads(blessing.get("checks", "[]")) if not c["passed"]]
        if failed:
            return "not blessed: " + "; ".join(failed)
    return "the Pusher did not push (see its log)"


def register(sub):
    """`driftline kubeflow`'s arguments."""
    p_kfp = sub.add_parser("kubeflow", help="compile the pipeline for Kubeflow Pipelines, or submit it")
    p_kfp_sub = p_kfp.add_subparsers(dest="kubeflow_command", required=True)
    p_kcompile = common_args(p_kfp_sub.add_parser(
        "compile", help="KFP v2 pipeline spec (YAML) of create_pipeline(config), under build/"))
    p_kcompile.add_argument("--span", type=int, help="the span the cluster run is for")
    p_kcompile.add_argument("--output", type=Path, help="spec file (default: kubeflow.output)")
    p_kcompile.add_argument("--output-dir", type=Path, help="where the compile log is written")
    p_kcompile.set_defaults(func=compile_spec)
    p_krehearse = common_args(p_kfp_sub.add_parser(
        "rehearse", help="run the compiled spec here, task by task as a KFP launcher would "
                         "(a rehearsal, not a Kubeflow backend: see README)"))
    p_krehearse.add_argument("--span", type=int, help="the span the cluster run is for")
    p_krehearse.add_argument("--spec", type=Path,
                           help="a compiled spec (default: compile kubeflow.output first)")
    p_krehearse.add_argument("--workdir", type=Path,
                           help="local stand-ins for the buckets and the image (default: OUTPUT/rehearsal)")
    p_krehearse.add_argument("--output-dir", type=Path, help="where the rehearsal directory goes")
    p_krehearse.add_argument("--isolation", choices=["process", "fork"], default="process",
                           help="process: each task a fresh `python -m` process, as in its container "
                                "(default); fork: a child of a process that already imported "
                                "TensorFlow, same module and arguments, faster")
    p_krehearse.set_defaults(func=rehearse)
    p_ksubmit = common_args(p_kfp_sub.add_parser("submit", help="upload the compiled spec and start a run"))
    p_ksubmit.add_argument("--host", help="the Kubeflow Pipelines API endpoint, e.g. http://localhost:8080")
    p_ksubmit.add_argument("--experiment", help="experiment name (default: kubeflow.experiment)")
    p_ksubmit.add_argument("--spec", type=Path, help="compiled spec (default: kubeflow.output)")
    p_ksubmit.set_defaults(func=submit)
