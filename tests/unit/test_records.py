"""driftline's own MLMD records (driftline/mlmd/records.py) in a real MLMD store."""
import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from driftline.mlmd import decisions, deployments, records
from driftline.monitoring import record as monitoring
from driftline.serving.policy import Policy
from pipeline import metadata


def _store(tmp_path):
    return mlmd.MetadataStore(metadata.sqlite_config(tmp_path / "metadata.sqlite"))


def _pushed(store, version: int):
    type_id = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="PushedModel"))
    artifact = metadata_store_pb2.Artifact(type_id=type_id, uri=f"/serving/{version}")
    artifact.custom_properties["pushed"].int_value = 1
    artifact.custom_properties["pushed_version"].string_value = str(version)
    [artifact.id] = store.put_artifacts([artifact])
    return artifact


def test_a_record_round_trips_with_its_inputs_and_history_context(tmp_path):
    store = _store(tmp_path)
    kind = records.RecordType("driftline.Test", {"model": records.STRING, "n": records.INT,
                                                  "share": records.DOUBLE, "details": records.STRING},
                              context_type="driftline.tests")
    a, b = _pushed(store, 1), _pushed(store, 2)
    first = records.write(store, kind, {"model": "m", "n": 3, "share": 0.5, "details": {"x": [1]}},
                          inputs=[("one", a), ("again", a), ("two", b)], history_of="m")
    records.write(store, kind, {"model": "other", "n": 4}, inputs=[("one", a)], history_of="other")
    found = records.read(store, kind, "m")
    assert [f["execution"] for f in found] == [first]
    assert found[0]["n"] == 3 and found[0]["share"] == 0.5 and found[0]["details"] == '{"x": [1]}'
    assert found[0]["inputs"] == {a.id: "one", b.id: "two"}  # one event per artifact
    assert [f["model"] for f in records.read(store, kind, about=a.id)] == ["m", "other"]
    assert records.read(store, kind, about=b.id)[0]["execution"] == first
    context = store.get_context_by_type_and_name("driftline.tests", "m")
    assert [e.id for e in store.get_executions_by_context(context.id)] == [first]
    assert records.read(store, records.RecordType("driftline.Never"), "m") == []


def test_deployments_decisions_and_monitoring_passes_share_the_one_writer(tmp_path):
    store = _store(tmp_path)
    stable, canary = _pushed(store, 10), _pushed(store, 20)
    policy = Policy().changed("pin", "first", slots={"blue": 10, "green": None})
    policy = policy.changed("canary", "try", slots={"blue": 10, "green": 20}, canary_percent=25.0)
    deployment = deployments.record(store, "m", policy, [10, 20])
    [entry] = deployments.history(store, "m")
    assert entry["execution"] == deployment and entry["canary_percent"] == 25.0
    assert entry["stable_version"] == 10 and entry["canary_version"] == 20
    assert [d["share_percent"] for d in deployments.of_artifact(store, canary.id)] == [25.0]
    assert [d["role"] for d in deployments.of_artifact(store, stable.id)] == ["stable"]
    decision = decisions.record(store, "m", "manual", "skew", "", "canary at 25%", "20", deployment)
    [made] = decisions.history(store, "m", artifact_id=canary.id)
    assert made["execution"] == decision and made["details"] == {} and made["outcome"] == "canary at 25%"
    result = {"rows": 5, "first_timestamp": 1.0, "last_timestamp": 2.0, "judged": True, "alarms": []}
    passed = monitoring.record(store, "m", result, [("served_model", stable), ("training_statistics", stable)])
    assert [p["execution"] for p in monitoring.history(store, "m")] == [passed]
