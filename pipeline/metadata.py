"""The MLMD store a run writes to, and the run-level queries its runner needs.

Readers of finished runs (lineage, summaries) open stores through driftline/mlmd/, which
never creates one; this module is for the writer.
"""
import os
from pathlib import Path
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"

STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "complete",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}


def sqlite_config(path: Path, readonly: bool = False) -> metadata_store_pb2.ConnectionConfig:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
        if readonly
        else metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config


def mysql_config(host: str, port: int, database: str, user: str, password: str = "",
                 create: bool = False) -> metadata_store_pb2.ConnectionConfig:
    config = metadata_store_pb2.ConnectionConfig()
    # A reader must not create a database where a mistyped name points at none.
    config.mysql.skip_db_creation = not create
    config.mysql.host = host
    config.mysql.port = port
    config.mysql.database = database
    config.mysql.user = user
    config.mysql.password = password
    return config


def connection_config(config, create: bool = True) -> metadata_store_pb2.ConnectionConfig:
    """The config's store: MySQL when `[metadata] mysql_host` is set (the password from
    the environment variable it names), else the SQLite file under output_dir."""
    m = config.metadata
    if m.mysql_host:
        return mysql_config(m.mysql_host, m.mysql_port, m.mysql_database, m.mysql_user,
                            os.environ.get(m.mysql_password_env, ""), create=create)
    return sqlite_config(config.metadata_path)


def mysql_unreachable(config, timeout: float = 10) -> Optional[str]:
    """Why the config's MySQL server does not answer on its host and port, or None when it
    does. Only a TCP connection: opening an MLMD store would create its tables."""
    import socket

    m = config.metadata
    try:
        socket.create_connection((m.mysql_host, m.mysql_port), timeout=timeout).close()
        return None
    except OSError as exc:
        return str(exc.strerror or exc)


def node_id_of(context_name: str, pipeline_name: str) -> str:
    prefix = f"{pipeline_name}."
    return context_name[len(prefix):] if context_name.startswith(prefix) else context_name


def run_executions(store, pipeline_name: str, run_id: str) -> dict:
    """node id -> the latest execution of that node within one pipeline run."""
    run = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    if run is None:
        return {}
    result = {}
    for execution in store.get_executions_by_context(run.id):
        for context in store.get_contexts_by_execution(execution.id):
            if context.type == NODE_CONTEXT:
                node = node_id_of(context.name, pipeline_name)
                if node not in result or result[node].id < execution.id:
                    result[node] = execution
    return result


def pipeline_runs(store) -> list:
    """Every pipeline_run context, oldest first."""
    return sorted(store.get_contexts_by_type(RUN_CONTEXT), key=lambda c: (c.create_time_since_epoch, c.id))


# Set on an execution a run left unfinished, and on the run's context: why it stopped.
STOPPED = "driftline_stopped"
UNFINISHED = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)


ABANDONED_BY = "driftline_abandoned_by"


def node_state(store, pipeline_name: str, run_id: str, node: str) -> str:
    """A node's state in one run as MLMD records it ("complete", "cached", "failed", ...),
    or "skipped" when the run started no execution of it (its condition was false)."""
    execution = run_executions(store, pipeline_name, run_id).get(node)
    return STATE_NAMES.get(execution.last_known_state, "?") if execution else "skipped"


def close_abandoned(store, pipeline_name: str, current_run: str) -> dict:
    """Closes what earlier runs left NEW or RUNNING: a process killed outright (kill -9,
    a power cut) closes nothing. Called by a run that holds the output directory's lock
    on a store inside it, so no other run can still be using those executions. Each is
    marked CANCELED, naming the run that found it; returns {run id: [nodes closed]}."""
    found = {}
    for context in pipeline_runs(store):
        if context.name == current_run:
            continue
        unfinished = [e for e in run_executions(store, pipeline_name, context.name).values()
                      if e.last_known_state in UNFINISHED]
        if not unfinished:
            continue
        for execution in unfinished:
            execution.custom_properties[ABANDONED_BY].string_value = current_run
        store.put_executions(unfinished)
        found[context.name] = close_unfinished(
            store, pipeline_name, context.name, canceled=True,
            reason=f"abandoned: its process ended without closing it (killed?); found by run {current_run}")
    return found


def close_unfinished(store, pipeline_name: str, run_id: str, canceled: bool, reason: str,
                     stopped=(), on_run: bool = True) -> list:
    """Marks every execution of the run still NEW or RUNNING as CANCELED (interrupted) or
    FAILED, with the reason; records where the run stopped on its context, unless
    `on_run` is false (the run itself goes on: a retried task's earlier try). `stopped`:
    nodes the stop cut short, whose executions TFX may already have published as FAILED
    (an interruption that reached its launcher wrapped in another exception). Returns the
    node ids it closed."""
    context = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    if context is None:
        return []
    state = metadata_store_pb2.Execution.CANCELED if canceled else metadata_store_pb2.Execution.FAILED
    closed, executions = [], []
    for node, execution in sorted(run_executions(store, pipeline_name, run_id).items()):
        cut_short = node in stopped and execution.last_known_state == metadata_store_pb2.Execution.FAILED
        if execution.last_known_state in UNFINISHED or cut_short:
            execution.last_known_state = state
            execution.custom_properties[STOPPED].string_value = reason
            executions.append(execution)
            closed.append(node)
    if executions:
        store.put_executions(executions)
    if not on_run:
        return closed
    where = f" at {', '.join(closed)}" if closed else ""
    context.custom_properties[STOPPED].string_value = (
        f"{'interrupted' if canceled else 'failed'}{where}: {reason}")
    store.put_contexts([context])
    return closed
