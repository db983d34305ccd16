"""`driftline serve`: the pushed versions behind TF Serving's REST and gRPC APIs."""
from pathlib import Path
import asyncio

from driftline.commands.common import common_args, config_from


def _recorder(config):
    """Records the server's pin of its first version as a deployment in the run's MLMD
    store (opened when it happens, in the thread that polls the versions)."""
    def record(policy):
        from driftline.mlmd import deployments
        from driftline.mlmd.store import open_for_recording

        deployments.record(open_for_recording(config), config.model_name, policy, [policy.stable])

    return record


def _settings(config, serving_dir):
    from driftline.monitoring.dashboard import DASHBOARD_FILE
    from driftline.serving.server import Settings

    serving = config.serving
    return Settings(
        model_name=config.model_name, serving_dir=serving_dir, log_dir=config.request_log_dir,
        max_batch_rows=serving.max_request_rows, max_body_bytes=serving.max_body_bytes,
        batching=serving.batching, batch_max_rows=serving.batch_max_rows,
        batch_timeout_ms=serving.batch_timeout_ms, poll_seconds=serving.poll_seconds,
        log_max_bytes=serving.log_max_bytes, log_max_total_bytes=serving.log_max_total_bytes,
        monitor_file=config.monitoring_result_path,
        dashboard_page=config.monitoring_dashboard_dir / DASHBOARD_FILE,
        on_pinned=_recorder(config))


def _banner(config, server, serving_dir, log_file) -> str:
    """What the terminal shows once both APIs are up: where, which versions, the policy."""
    from driftline.serving.models import misplaced_versions_hint

    serving = config.serving
    hint = misplaced_versions_hint(serving_dir)
    available = server.versions.available()
    lines = [f"driftline: {hint}"] if hint else []
    lines += [
        f"driftline: serving {config.model_name} from {serving_dir}",
        f"  REST  http://{serving.host}:{serving.rest_port}/v1/models/{config.model_name}",
        f"  gRPC  {serving.host}:{serving.grpc_port}",
        f"  versions available: {', '.join(map(str, available)) or 'none yet (waiting for a push)'}"
        f"; {server.effective_policy().describe()}",
        f"  request log {config.request_log_dir}; server log {log_file}",
    ]
    lines += [f"  version {n}: {v.error} (not routed to)" for n, v in server.versions.versions.items() if v.error]
    return "\n".join(lines) + "\n"


def _serve_rest(server, serving, log_file):
    """Runs the REST API on this thread until Ctrl-C; the gRPC server is stopped after it."""
    import uvicorn

    from components.errors import DriftlineError
    from driftline.serving.rest import build_app

    web = uvicorn.Server(uvicorn.Config(build_app(server), host=serving.host, port=serving.rest_port,
                                        log_level="warning", access_log=False, lifespan="off",
                                        http="httptools"))

    async def run():
        server.loop = asyncio.get_running_loop()
        await web.serve()

    # uvloop's event loop and httptools' parser (uvicorn's "auto" choices) do in C what
    # asyncio's selector loop and h11 do in Python: the REST path's largest cost.
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(run())
    if not web.started:
        raise DriftlineError(f"cannot serve REST on {serving.host}:{serving.rest_port} "
                             f"(is the port in use? see {log_file})")


def serve(args) -> int:
    from components.errors import DriftlineError
    from pipeline import framework_output

    config = config_from(args)
    serving = config.serving
    if args.rest_port is not None:
        serving.rest_port = args.rest_port
    if args.grpc_port is not None:
        serving.grpc_port = args.grpc_port
    serving_dir = args.serving_dir or config.serving_dir
    from driftline.schema.check import load_schema

    from pipeline.inputs import resolve_task

    schema = load_schema(config.schema_file)  # a broken contract stops here, before TensorFlow
    task = resolve_task(config, schema)
    log_file = config.output_dir / "logs" / "serve.log"
    with framework_output.to_log_file(log_file, "driftline serve") as terminal:
        framework_output.verbose_to_log()
        from driftline.serving import grpc_service
        from driftline.serving.requests import Contract
        from driftline.serving.server import Server

        server = Server(_settings(config, serving_dir), Contract.from_schema(schema, task.model_inputs(), task.outcomes))
        server.start()
        try:
            grpc_server = grpc_service.start(server, serving.host, serving.grpc_port)
        except (OSError, RuntimeError) as exc:
            server.stop()
            raise DriftlineError(f"cannot serve gRPC on {serving.host}:{serving.grpc_port}: {exc}") from None
        terminal.write(_banner(config, server, serving_dir, log_file))
        try:
            _serve_rest(server, serving, log_file)
        finally:
            grpc_server.stop(grace=2)
            server.stop()
        terminal.write("driftline: server stopped\n")
    return 0


def register(sub):
    """`driftline serve`'s arguments."""
    p_serve = common_args(sub.add_parser(
        "serve", help="serve the pushed versions over TF Serving's REST and gRPC APIs"))
    p_serve.add_argument("--serving-dir", type=Path,
                       help="the model's directory of versions (default: the config's)")
    p_serve.add_argument("--rest-port", type=int, help="REST port (default: serving.rest_port, 8501)")
    p_serve.add_argument("--grpc-port", type=int, help="gRPC port (default: serving.grpc_port, 8500)")
    p_serve.add_argument("--output-dir", type=Path, help="the runs' output directory")
    p_serve.set_defaults(func=serve)
