"""The Airflow DAG of the pipeline: one task per node of `create_pipeline`'s graph, with
the graph's node ids as task ids and its edges as dependencies. Built each time Airflow
parses the DAG file that `driftline airflow dag` writes."""
import datetime as dt
from pathlib import Path

from driftline.airflow import shape

# A task runs when no task before it failed: a task skipped because its node is not in
# this span's graph (another span's ExampleGen) must not hold back the nodes after it.
TRIGGER_RULE = "none_failed"


def start_date(airflow_settings, written: str) -> dt.datetime:
    day = airflow_settings.start_date or airflow_settings.first_span_date or written
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.timezone.utc)


def layout(config_file: Path):
    """(config, its spans, the union of every span's graph) for the config the DAG file names."""
    from driftline.config import load_config
    from pipeline.spans import find_spans

    config = load_config(config_file)
    spans = find_spans(config.data_root)
    if not spans:
        from components.errors import DataError

        raise DataError(f"{config.data_root}: no span-N directories with CSV files: the DAG has no graph to run")
    return config, spans, shape.union(shape.load(config, config_file.read_text(), spans))


def build(config_file: Path, written: str):
    """The DAG. `written`: the day the DAG file was written, its start when the config
    names none."""
    from airflow import DAG
    from airflow.operators.python import PythonOperator

    from driftline.airflow.task import run_task

    config, _, graph = layout(Path(config_file))
    settings = config.airflow
    dag = DAG(
        dag_id=settings.dag_id or config.pipeline_name,
        schedule=settings.schedule,
        start_date=start_date(settings, written),
        catchup=settings.catchup,
        # One run, and one node, at a time, as a local run goes: the nodes of a run
        # share the output directory's lock and, by default, one SQLite MLMD store.
        max_active_runs=1,
        max_active_tasks=1,
        default_args={"retries": settings.retries, "trigger_rule": TRIGGER_RULE},
        tags=["driftline", "tfx"],
        doc_md=f"driftline's pipeline `{config.pipeline_name}` (config: `{config_file}`): one task per "
               "node of `create_pipeline`; each run trains on the span its day picks.",
    )
    tasks = {node: PythonOperator(task_id=node, python_callable=run_task, dag=dag,
                                  op_kwargs={"node_id": node, "config_file": str(config_file)})
             for node in graph["nodes"]}
    for node, before in graph["upstream"].items():
        for upstream in before:
            tasks[upstream] >> tasks[node]
    return dag
