"""Opening an MLMD store to read it, and the queries every reader of a run needs.

Reading never creates a store: opening a missing or foreign file is an error, because an
empty database silently created where the user mistyped a path answers every question
with "nothing happened".
"""
import sqlite3
from pathlib import Path

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from components.properties import custom_property  # noqa: F401 - re-exported for the views
from driftline.errors import MetadataError
from pipeline import metadata


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
        return mlmd.MetadataStore(metadata.sqlite_config(path, readonly=True))
    except Exception as exc:  # MLMD raises its own status errors for corrupt stores
        if "readonly database" not in str(exc):
            raise MetadataError(f"{path}: the MLMD store cannot be opened: {exc}") from None
    # MLMD's tables are there but not its built-in types: its setup was cut short (the disk
    # filled up while a first run created the store). Opening it for writing once lets
    # MLMD finish that setup; nothing in the store is replaced.
    try:
        mlmd.MetadataStore(metadata.sqlite_config(path))
        return mlmd.MetadataStore(metadata.sqlite_config(path, readonly=True))
    except Exception as exc:  # noqa: BLE001
        raise MetadataError(f"{path}: an MLMD store whose setup was cut short (a full disk?) cannot "
                            f"be completed now: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_store(config, sqlite_path: Path = None) -> mlmd.MetadataStore:
    """The run's MLMD store for reading: `sqlite_path` when given, else the config's
    MySQL connection when it names a host, else the SQLite file under output_dir."""
    m = config.metadata
    if sqlite_path is None and m.mysql_host:
        where = config.metadata_label
        try:
            return mlmd.MetadataStore(metadata.connection_config(config, create=False))
        except Exception as exc:  # MLMD raises its own status errors
            raise MetadataError(f"{where}: cannot open the MLMD store: {_first_line(exc)}") from None
    return open_existing_sqlite(sqlite_path or config.metadata_path)


def open_for_recording(config) -> mlmd.MetadataStore:
    """The run's MLMD store, writable, for driftline's own records (deployments, alarms):
    a missing or foreign store is refused, never created."""
    store = open_store(config)
    if config.metadata.mysql_host:
        return store
    return mlmd.MetadataStore(metadata.connection_config(config))


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


def find_run(store, run_id: str):
    """The pipeline_run context named `run_id` ("latest" for the newest); a clear error
    naming the most recent runs when there is none."""
    runs = metadata.pipeline_runs(store)
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
