"""What one Airflow task does: run its pipeline node for the run's span.

Each task runs in its own process on a real Airflow (and in one process under `airflow
dags test`), so everything is read again from the config file the DAG names: the span
for the run's day, the graph of that span, the run's inputs (gathered and checked by the
first task of the run, then read back by the others, so a run sees one snapshot of its
files), then the node itself through pipeline/airflow_runner.py.
"""
import logging
import pickle
import re
from pathlib import Path

from pipeline import nodes

log = logging.getLogger("driftline.airflow")


def run_task(node_id: str, config_file: str, **context) -> str:
    """The callable of every task. Airflow's context gives the run's id and day."""
    from airflow.exceptions import AirflowFailException, AirflowSkipException

    from components.errors import DriftlineError
    from driftline.errors import MetadataError, RunLocked
    from pipeline.errors import ConfigError

    try:
        config, spans, why = _config_for(Path(config_file), context["logical_date"].date())
        span = config.span
        log.info("%s: %s", node_id, why)
        graph = _graph_of(config, Path(config_file), spans)
        if node_id not in graph:
            raise AirflowSkipException(f"{node_id} is not in span {span}'s graph (its nodes: {', '.join(graph)})")
        run_id = context["dag_run"].run_id
        inputs = _run_inputs(config, run_id)
        state = _run(config, inputs, node_id, run_id)
    except (RunLocked, MetadataError):
        raise  # another run's lock, a store that does not answer: both may clear, so retried
    except (DriftlineError, ConfigError) as exc:
        # Bad input: the same message a local run prints, and no retry, which would
        # find the same.
        raise AirflowFailException(str(exc)) from None
    log.info("%s: %s (span %s, run %s)", node_id, state, span, run_id)
    if node_id == nodes.DRIFT_GATE:
        _stop_if_blocked(config, inputs, run_id)
    if state == "skipped":
        raise AirflowSkipException(f"{node_id} did not run: its condition in the graph was false")
    if node_id == graph[-1]:
        _finish(config, inputs, run_id)
    return state


def _config_for(config_file: Path, day):
    """(the config with its span set to the one `day` picks, the spans found, why that one)."""
    from driftline.airflow.calendar import span_for
    from driftline.config import load_config
    from pipeline.spans import find_spans

    config = load_config(config_file)
    spans = find_spans(config.data_root)
    config.span, why = span_for(config.airflow.first_span_date, config.airflow.span_days, day, spans)
    return config, spans, why


def _graph_of(config, config_file: Path, spans: list) -> list:
    """The nodes of the graph of the config's span, from the shapes of every span."""
    from driftline.airflow import shape

    return shape.load(config, config_file.read_text(), spans)[config.span]["nodes"]


def _inputs_file(config, run_id: str) -> Path:
    return config.output_dir / "airflow" / "runs" / re.sub(r"[^A-Za-z0-9_.-]", "_", run_id) / "inputs.pickle"


def _file_stamps(config, spans) -> dict:
    """Size and modification time of every file a run reads: what tells a snapshot of
    its inputs from files changed since, without reading them."""
    from pipeline.spans import span_dir

    paths = [Path(config.schema_file)] + [p for s in spans for p in sorted(span_dir(config.data_root, s).glob("*"))]
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in paths if p.is_file()}


def _same_code(inputs) -> bool:
    """Whether the executors' code is still what the snapshot fingerprinted: TFX's cache
    keys on those fingerprints, so stale ones would reuse what older code produced."""
    from pipeline.inputs import DRIFT_CODE, GATE_CODE, MODEL_CODE, code_fingerprint

    return (inputs.model_code_fingerprint, inputs.drift_code_fingerprint, inputs.gate_code_fingerprint) == (
        code_fingerprint(MODEL_CODE), code_fingerprint(DRIFT_CODE), code_fingerprint(GATE_CODE))


def _run_inputs(config, run_id: str):
    """The run's inputs as its first task gathered and checked them. Gathered again when
    a file changed since (a run cleared in Airflow after its data was fixed)."""
    from driftline.run.run import check_inputs, check_store

    path = _inputs_file(config, run_id)
    if path.is_file():
        with open(path, "rb") as f:
            stamps, inputs = pickle.load(f)
        if stamps == _file_stamps(config, inputs.spans_read) and _same_code(inputs):
            return inputs
        log.info("the run's files or code changed since its first task read them: checking them again")
    inputs = check_inputs(config)
    check_store(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump((_file_stamps(config, inputs.spans_read), inputs), f)
    tmp.replace(path)
    return inputs


def _run(config, inputs, node_id: str, run_id: str) -> str:
    """The node, holding the output directory's lock as a local run does, then the run's
    code version and settings on its MLMD context (each task adds to the same run)."""
    from driftline.mlmd import provenance
    from driftline.run import lock as run_lock
    from driftline.run.run import store_of
    from pipeline import airflow_runner
    from pipeline.inputs import write_schema_snapshot

    with run_lock.holding(config.output_dir):
        _close_earlier_tries(config, run_id)
        write_schema_snapshot(config, inputs)
        state = airflow_runner.run_node(config, inputs, node_id, run_id)
        provenance.record_run(store_of(config), config, run_id, inputs.span, inputs.window, runner="airflow")
    return state


def _close_earlier_tries(config, run_id: str):
    """What a killed or timed-out task process left RUNNING, closed before the next task
    starts: a run's tasks go one at a time under the lock, so nothing else is still
    running them. An earlier try in this run is marked CANCELED on its execution only
    (the run itself goes on); other runs' leftovers are closed as a local run closes them,
    on the SQLite store inside the output directory only."""
    from driftline.run.run import store_of
    from pipeline import metadata

    store = store_of(config)
    left = metadata.close_unfinished(
        store, config.pipeline_name, run_id, canceled=True, on_run=False,
        reason="its Airflow task ended before the node finished (killed or timed out); closed by the next task")
    if left:
        log.warning("closed what an earlier try of run %s left unfinished: %s", run_id, ", ".join(left))
    if not config.metadata.mysql_host:
        metadata.close_abandoned(store, config.pipeline_name, run_id)


def _stop_if_blocked(config, inputs, run_id: str):
    """A span the drift gate stopped fails the run, as `driftline run` exits non-zero:
    the tasks after it are left upstream_failed and nothing is trained or pushed."""
    from airflow.exceptions import AirflowFailException

    from driftline.run.run import summarize
    from driftline.views.run_summary import gate_block_message

    summary = summarize(config, inputs, run_id)
    if summary.gate_blocked:
        raise AirflowFailException(gate_block_message(summary))


def _seconds_so_far(config, run_id: str) -> float:
    """Since the run's first execution: Airflow's own run start is the logical date under
    `airflow dags test`."""
    import time

    from driftline.run.run import store_of
    from pipeline import metadata

    executions = metadata.run_executions(store_of(config), config.pipeline_name, run_id).values()
    first = min((e.create_time_since_epoch for e in executions), default=None)
    return time.time() - first / 1000 if first else 0.0


def _finish(config, inputs, run_id: str):
    """After the run's last node: its error-analysis report and the summary a local run
    prints, into the task's log."""
    from driftline.run.run import error_analysis, summarize
    from driftline.tracking import mirror
    from driftline.views.run_summary import render

    summary = summarize(config, inputs, run_id)
    summary.report_path = error_analysis(config, summary)
    log.info("run %s:\n%s", run_id, render(summary, _seconds_so_far(config, run_id)))
    mirror(config)
