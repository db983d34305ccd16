"""The MLflow export's parts that need no tracking server: its settings' checks, the keys
it writes, the record it keeps on the MLMD run, and what a server that does not answer
costs (tests/e2e/test_mlflow.py runs the export against a real one)."""
import socket

import pytest

from driftline.config import load_config
from pipeline.errors import ConfigError


def test_auto_export_without_a_server_is_a_config_error():
    with pytest.raises(ConfigError, match="'mlflow.auto_export' is on but 'mlflow.tracking_uri' is empty"):
        load_config(overrides={"mlflow": {"auto_export": True}})
    assert load_config(overrides={"mlflow": {"auto_export": True, "tracking_uri": "http://127.0.0.1:5000"}}) \
        .mlflow.auto_export is True
    assert load_config().mlflow.auto_export is False


def test_keys_keep_what_mlflow_accepts_and_replace_the_rest():
    from driftline.tracking.payload import key

    assert key("data", "span-3", "data.csv", "sha256") == "data.span-3.data.csv.sha256"
    assert key("slice", "payment_type=Credit Card", "f1_low") == "slice.payment_type_Credit Card.f1_low"
    assert key("slice", "company × hour", None) == "slice.company _ hour"
    assert key("auc", None) == "auc" and key(None, "auc", "low") == "auc.low"


def test_remote_locations_are_links_and_local_ones_are_copies():
    from driftline.tracking.payload import is_remote

    assert is_remote("gs://bucket/serving/model/7") and is_remote("s3://b/x")
    assert not is_remote("/work/out/serving/model/7") and not is_remote("file:///tmp/x")
    assert not is_remote(None) and not is_remote("")


def _store_with_a_run(tmp_path, run_id):
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2 as pb

    from pipeline import metadata

    store = mlmd.MetadataStore(metadata.sqlite_config(tmp_path / "metadata.sqlite"))
    run_type = store.put_context_type(pb.ContextType(name=metadata.RUN_CONTEXT))
    store.put_contexts([pb.Context(type_id=run_type, name=run_id)])
    return store


def test_the_mlflow_run_is_kept_on_the_mlmd_run_per_server(tmp_path):
    from driftline.mlmd import provenance
    from pipeline import metadata

    store = _store_with_a_run(tmp_path, "2026-12-07T10:00:00")
    provenance.record_export(store, "2026-12-07T10:00:00", "http://a:5000", "abc", "d1")
    provenance.record_export(store, "2026-12-07T10:00:00", "http://b:5000", "xyz", "d2")
    provenance.record_export(store, "2026-12-07T10:00:00", "http://a:5000", "abc", "d3")
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, "2026-12-07T10:00:00")
    assert provenance.exports_of(context) == {"http://a:5000": {"run_id": "abc", "digest": "d3"},
                                              "http://b:5000": {"run_id": "xyz", "digest": "d2"}}
    provenance.record_export(store, "no such run", "http://a:5000", "q", "d")  # nothing to annotate


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_server_that_does_not_answer_is_named_in_one_error():
    from driftline.tracking.mlflow_export import TrackerUnavailable, check_reachable

    uri = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(TrackerUnavailable) as raised:
        check_reachable(uri, timeout=2)
    assert str(raised.value).startswith(f"the MLflow tracking server at {uri} does not answer")
    check_reachable("sqlite:///tmp/not-http.db")  # a database URI has no health check


def test_auto_export_to_a_stopped_server_is_one_warning_and_mlmd_is_unchanged(tmp_path, capsys):
    from driftline.mlmd import provenance
    from driftline.tracking.mlflow_export import export_quietly
    from pipeline import metadata

    uri = f"http://127.0.0.1:{_closed_port()}"
    config = load_config(overrides={"output_dir": tmp_path, "mlflow": {"auto_export": True, "tracking_uri": uri}})
    store = _store_with_a_run(tmp_path, "2026-12-07T10:00:00")
    assert export_quietly(config, store) is None
    said = capsys.readouterr()
    lines = said.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: MLflow export to {uri} failed: ")
    assert "catches up" in lines[0] and said.out == ""
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, "2026-12-07T10:00:00")
    assert provenance.exports_of(context) == {}
    from driftline.tracking import mirror

    off = load_config(overrides={"output_dir": tmp_path})
    mirror(off, store)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("record, state, status", [
    ({"stopped": None, "drift": {"passed": True}, "nodes": {"Trainer": "complete", "Pusher": "cached"}},
     "complete", "FINISHED"),
    ({"stopped": None, "drift": {"passed": False}, "nodes": {"DriftGate": "complete"}},
     "blocked by the drift gate", "FINISHED"),
    ({"stopped": "was stopped by SIGINT", "drift": None, "nodes": {"Trainer": "canceled"}}, "stopped", "KILLED"),
    ({"stopped": None, "drift": None, "nodes": {"Transform": "complete", "Trainer": "failed"}}, "failed", "FAILED"),
    ({"stopped": None, "drift": None, "nodes": {"Transform": "complete", "Trainer": "running"}}, "under way", None),
])
def test_each_run_state_has_its_mlflow_status(record, state, status):
    from driftline.tracking.payload import STATUS, state_of

    assert state_of(record) == state and STATUS.get(state) == status
