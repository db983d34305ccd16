"""MLMD connections and the queries every reader of a run needs.

Reading never creates a store: opening a missing or foreign file is an error, because an
empty database silently created where the user mistyped a path answers every question
with "nothing happened".
"""
import sqlite3
from pathlib import Path

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from pipeline.errors import DriftlineError

RUN_CONTEXT = "pipeline_run"
# The drift gate's artifact type. KFP v2 needs custom type names as `namespace.Name`.
DRIFT_REPORT_TYPE = "driftline.DriftReport"
NODE_CONTEXT = "node"

STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "complete",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}


class MetadataError(DriftlineError):
    exit_code = 2


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
                 create: bool = False):
    config = metadata_store_pb2.ConnectionConfig()
    # A reader must not create a database where a mistyped name points at none.
    config.mysql.skip_db_creation = not create
    config.mysql.host = host
    config.mysql.port = port
    config.mysql.database = database
    config.mysql.user = user
    config.mysql.password = password
    return config


def open_existing_sqlite(path: Path) -> mlmd.MetadataStore:
    """A read-only store over an MLMD SQLite file that must already exist."""
    path = Path(path)
    if not path.is_file():
        raise MetadataError(f"{path}: no MLMD store here (has a pipeline run written to it?)")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise MetadataError(f"{path}: not an MLMD database ({exc})") from None
    if not {"Artifact", "Execution", "Context", "Event"} <= tables:
        raise MetadataError(f"{path}: not an MLMD database (no Artifact/Execution tables)")
    try:
        return mlmd.MetadataStore(sqlite_config(path, readonly=True))
    except Exception as exc:  # MLMD raises its own status errors for corrupt stores
        raise MetadataError(f"{path}: the MLMD store cannot be opened: {exc}") from None


def open_store(config, sqlite_path: Path = None) -> mlmd.MetadataStore:
    """The run's MLMD store for reading: `sqlite_path` when given, else the config's
    MySQL connection when it names a host, else the SQLite file under output_dir."""
    import os

    m = config.metadata
    if sqlite_path is None and m.mysql_host:
        password = os.environ.get(m.mysql_password_env, "")
        where = f"mysql://{m.mysql_user}@{m.mysql_host}:{m.mysql_port}/{m.mysql_database}"
        try:
            return mlmd.MetadataStore(mysql_config(m.mysql_host, m.mysql_port, m.mysql_database,
                                                   m.mysql_user, password))
        except Exception as exc:  # MLMD raises its own status errors
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MetadataError(f"{where}: cannot open the MLMD store: {first}") from None
    return open_existing_sqlite(sqlite_path or config.metadata_path)


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


def output_artifacts(store, execution_id: int) -> dict:
    """output key -> artifacts an execution produced (or reused from cache)."""
    events = store.get_events_by_execution_ids([execution_id])
    outputs = [e for e in events if e.type in (metadata_store_pb2.Event.OUTPUT,
                                                metadata_store_pb2.Event.DECLARED_OUTPUT)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in outputs])}
    result = {}
    for event in outputs:
        key = event.path.steps[0].key if event.path.steps else ""
        if event.artifact_id in artifacts:
            result.setdefault(key, []).append(artifacts[event.artifact_id])
    return result


def custom_property(artifact, key, default=None):
    if key not in artifact.custom_properties:
        return default
    value = artifact.custom_properties[key]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else default


def drift_verdict(report) -> dict:
    """The DriftGate's verdict as its DriftReport artifact records it (the properties
    components/drift/component.py sets)."""
    import json

    def prop(key):
        return custom_property(report, key)

    return {
        "passed": prop("passed") == 1,
        "clean": prop("clean") == 1,
        "gate": prop("gate"),
        "current_span": prop("current_span"),
        "baseline_span": prop("baseline_span"),
        "baseline_kind": prop("baseline_kind"),
        "offending": [f for f in (prop("offending") or "").split(",") if f],
        "anomalies": json.loads(prop("anomalies") or "[]"),
        "report": prop("report_html"),
        "report_id": report.id,
    }


def pipeline_runs(store) -> list:
    """Every pipeline_run context, oldest first."""
    return sorted(store.get_contexts_by_type(RUN_CONTEXT), key=lambda c: (c.create_time_since_epoch, c.id))


def find_run(store, run_id: str):
    """The pipeline_run context named `run_id` ("latest" for the newest); a clear error
    naming the most recent runs when there is none."""
    runs = pipeline_runs(store)
    if not runs:
        raise MetadataError("the MLMD store holds no pipeline runs yet")
    if run_id == "latest":
        return runs[-1]
    for run in runs:
        if run.name == run_id:
            return run
    recent = ", ".join(r.name for r in runs[-3:][::-1])
    raise MetadataError(f"no pipeline run '{run_id}' in the MLMD store (most recent: {recent}; "
                        "`driftline lineage runs` lists them all)")
