"""Faults of the machine told in one line (pipeline/run_faults.py), and what a run could not
close in MLMD closed by the next one, on a real SQLite MLMD store."""
import errno

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from pipeline import metadata, run_faults
from pipeline.config import Config, MetadataConfig

PIPELINE = "taxi"


def _config(tmp_path, mysql_host=""):
    return Config(output_dir=tmp_path, pipeline_name=PIPELINE,
                  metadata=MetadataConfig(mysql_host=mysql_host, mysql_port=1, mysql_user="u"))


def test_a_full_disk_is_named_by_its_path_wherever_the_error_came_from(tmp_path):
    config = _config(tmp_path)
    nested = RuntimeError("writing the model failed")
    nested.__cause__ = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "pipeline" / "x"))
    told = run_faults.describe(nested, config, "Trainer")
    assert told.startswith(f"no space left on the device holding {tmp_path / 'pipeline' / 'x'} (")
    assert "during Trainer" in told and "run the same command again" in told
    sqlite_full = RuntimeError("Error when executing query: database or disk is full query: INSERT ...")
    assert run_faults.describe(sqlite_full, config, None).startswith(
        f"no space left on the device holding {tmp_path} (")


def test_a_store_that_stopped_answering_is_named_and_other_errors_are_not_dressed_up(tmp_path):
    mysql = _config(tmp_path, mysql_host="127.0.0.1")
    gone = RuntimeError("Failed to establish connection to Metadata storage with error: "
                        "mysql_real_connect failed: errno: , error:")
    told = run_faults.describe(gone, mysql, "Trainer")
    assert told.startswith("the MLMD store mysql://u@127.0.0.1:1/metadb stopped answering during Trainer")
    assert run_faults.describe(ValueError("a bug"), _config(tmp_path), "Trainer") is None


def _store_with_a_running_execution(path, run_id, node):
    store = mlmd.MetadataStore(metadata.sqlite_config(path))
    run_type = store.put_context_type(metadata_store_pb2.ContextType(name=metadata.RUN_CONTEXT))
    node_type = store.put_context_type(metadata_store_pb2.ContextType(name=metadata.NODE_CONTEXT))
    exec_type = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Trainer"))
    run = metadata_store_pb2.Context(type_id=run_type, name=run_id)
    node_context = metadata_store_pb2.Context(type_id=node_type, name=f"{PIPELINE}.{node}")
    execution = metadata_store_pb2.Execution(type_id=exec_type,
                                             last_known_state=metadata_store_pb2.Execution.RUNNING)
    execution_id, _, _ = store.put_execution(execution, [], [run, node_context])
    return store, execution_id


def test_what_a_run_could_not_close_is_closed_by_the_next(tmp_path):
    config = _config(tmp_path)
    store, execution_id = _store_with_a_running_execution(tmp_path / "metadata.sqlite", "run-1", "Trainer")
    assert run_faults.remember_unclosed(config, "run-1", canceled=False, reason="InternalError: gone")

    closed = run_faults.close_remembered(config, store)
    assert closed == {"run-1": ["Trainer"]}
    [execution] = store.get_executions_by_id([execution_id])
    assert metadata.STATE_NAMES[execution.last_known_state] == "failed"
    assert "closed by the next run" in execution.custom_properties[metadata.STOPPED].string_value
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, "run-1")
    assert context.custom_properties[metadata.STOPPED].string_value.startswith("failed at Trainer: ")
    assert run_faults.close_remembered(config, store) == {}  # once only


def test_a_note_that_cannot_be_written_is_reported_not_raised(tmp_path):
    blocked = tmp_path / "logs"
    blocked.write_text("a file where the directory would go")
    assert not run_faults.remember_unclosed(_config(tmp_path), "run-1", canceled=True, reason="x")


def test_a_store_whose_setup_a_full_disk_cut_short_is_completed_not_refused(tmp_path):
    import sqlite3

    from driftline.mlmd.store import open_existing_sqlite

    path = tmp_path / "metadata.sqlite"
    mlmd.MetadataStore(metadata.sqlite_config(path))
    with sqlite3.connect(path) as db:  # MLMD's tables, none of its built-in types
        db.execute("DELETE FROM Type")
    store = open_existing_sqlite(path)
    assert metadata.pipeline_runs(store) == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM Type").fetchone()[0] > 0


def test_an_error_that_does_not_say_disk_is_taken_as_one_when_the_disk_is_full(tmp_path, monkeypatch):
    import shutil

    config = _config(tmp_path)
    rolled_back = RuntimeError("Error when executing query: cannot commit - no transaction is active")
    assert run_faults.describe(rolled_back, config, "ModelGate") is None  # room left: not the disk
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(2 << 20, 2 << 20, 52 << 10))
    assert run_faults.describe(rolled_back, config, "ModelGate").startswith(
        f"no space left on the device holding {tmp_path} (52.0 KiB free now) during ModelGate")
