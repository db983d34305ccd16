"""Apache Airflow: `create_pipeline(config, inputs)` run one node at a time, each node in
its own Airflow task.

TFX's own AirflowDagRunner is not used. On TFX 1.16 it launches each component through
the legacy (pre-IR) launchers, which evaluate no conditionals, so the drift gate's
condition would not hold Transform back, and they record lineage in another shape than
LocalDagRunner's. Each task here runs its node exactly as LocalDagRunner runs it: the
graph compiled to TFX's pipeline IR, the run id substituted, and TFX's portable
Launcher started for that one node against the config's MLMD store. A node whose
condition is false starts no execution, as in a local run; the caller reads that back
from MLMD.
"""
from pipeline import metadata
from pipeline.config import Config
from pipeline.inputs import PipelineInputs, resolve_task
from pipeline.spans import previous_span, training_window


def shape_inputs(config: Config, span: int, task=None) -> PipelineInputs:
    """What create_pipeline needs to lay out span `span`'s graph, without hashing a
    file: the node ids and edges depend on the window, not on the bytes."""
    return PipelineInputs(span=span, window=training_window(config, span),
                          previous_span=previous_span(config, span),
                          task=task or resolve_task(config))


def graph_shape(config: Config, inputs: PipelineInputs) -> dict:
    """The graph's node ids in the order they run and, for each, the nodes it waits for."""
    from pipeline.graph import create_pipeline

    pipeline = create_pipeline(config, inputs)
    return {
        "nodes": [node.id for node in pipeline.components],
        "upstream": {node.id: sorted(up.id for up in node.upstream_nodes) for node in pipeline.components},
    }


def shapes(config: Config, spans: list) -> dict:
    """{span: graph_shape} for every span, with the task resolved once."""
    task = resolve_task(config)
    return {span: graph_shape(config, shape_inputs(config, span, task)) for span in spans}


def _compiled(config: Config, inputs: PipelineInputs, run_id: str):
    from tfx.dsl.compiler import compiler, constants
    from tfx.orchestration.portable import runtime_parameter_utils

    from pipeline.graph import create_pipeline

    ir = compiler.Compiler().compile(create_pipeline(config, inputs))
    runtime_parameter_utils.substitute_runtime_parameter(
        ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
    return ir


def run_node(config: Config, inputs: PipelineInputs, node_id: str, run_id: str) -> str:
    """Runs one node of the run `run_id` and returns its state as MLMD records it
    ("complete", "cached", "failed", ...), or "skipped" when it started no execution
    (its condition was false). Raises what the node's executor raised."""
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher

    ir = _compiled(config, inputs, run_id)
    found = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    if not found:
        raise KeyError(f"{node_id} is not a node of span {inputs.span}'s graph")
    deployment = runner_utils.extract_local_deployment_config(ir)
    connection = getattr(deployment.metadata_connection_config,
                         deployment.metadata_connection_config.WhichOneof("connection_config"))
    launcher.Launcher(
        pipeline_node=found[0],
        mlmd_connection=tfx_metadata.Metadata(connection),
        pipeline_info=ir.pipeline_info,
        pipeline_runtime_spec=ir.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id),
    ).launch()
    import ml_metadata as mlmd

    store = mlmd.MetadataStore(metadata.connection_config(config))
    return metadata.node_state(store, config.pipeline_name, run_id, node_id)
