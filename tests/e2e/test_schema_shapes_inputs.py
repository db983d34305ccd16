"""The schema shapes the model: a column dropped from the data and its feature from the
schema is gone from the model's inputs, from its serving signature and from what the
server accepts, with no code edited."""
import csv

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline.config import PROJECT_ROOT
from serving_helpers import Served

pytestmark = pytest.mark.e2e

DROPPED = "company"
MODEL = "taxi_big_tipper"


def _without_column(source_root, target_root):
    for span_dir in sorted(source_root.glob("span-*")):
        (target_root / span_dir.name).mkdir(parents=True)
        with open(span_dir / "data.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        with open(target_root / span_dir.name / "data.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, [c for c in rows[0] if c != DROPPED], lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: v for k, v in row.items() if k != DROPPED} for row in rows)


def _schema_without(path):
    schema = text_format.Parse((PROJECT_ROOT / "schemas" / "schema.pbtxt").read_text(), schema_pb2.Schema())
    kept = [f for f in schema.feature if f.name != DROPPED]
    del schema.feature[:]
    schema.feature.extend(kept)
    domains = [d for d in schema.string_domain if d.name != DROPPED]
    del schema.string_domain[:]
    schema.string_domain.extend(domains)
    path.write_text(text_format.MessageToString(schema))


@pytest.fixture(scope="module")
def dropped(small_spans, tmp_path_factory, driftline):
    work = tmp_path_factory.mktemp("dropped")
    _without_column(small_spans, work / "data")
    _schema_without(work / "schema.pbtxt")
    config = work / "driftline.toml"
    config.write_text(f'data_root = "{work / "data"}"\noutput_dir = "{work / "out"}"\n'
                      f'schema_file = "{work / "schema.pbtxt"}"\n')
    check = driftline("schema", "check", "--config", config, cwd=work)
    run = driftline("run", "--fast", "--config", config, cwd=work)
    return {"work": work, "config": config, "check": check, "run": run}


def test_schema_check_says_the_feature_is_no_input(dropped):
    proc = dropped["check"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    inputs = proc.stdout.split("model inputs (13): ")[1].splitlines()[0]
    assert "payment_type (vocabulary:100)" in inputs and DROPPED not in inputs


def _parsed_names(saved_model) -> set:
    """Every short text constant of the serving signature's graph and the functions it
    calls: the feature names its tf.Example parser reads are among them."""
    import tensorflow as tf

    graph = tf.saved_model.load(str(saved_model)).signatures["serving_default"].graph.as_graph_def()
    found = set()
    for node in list(graph.node) + [n for f in graph.library.function for n in f.node_def]:
        if node.op == "Const" and node.attr["value"].tensor.dtype == tf.string.as_datatype_enum:
            found.update(v.decode("utf-8", "replace") for v in tf.make_ndarray(node.attr["value"].tensor).reshape(-1))
    return found


def test_the_pushed_model_reads_no_such_input(dropped):
    assert dropped["run"].returncode == 0, dropped["run"].stdout + dropped["run"].stderr
    pushed = next((dropped["work"] / "out" / "serving" / MODEL).iterdir())
    names = _parsed_names(pushed)
    assert {"payment_type", "fare", "trip_start_hour"} <= names and DROPPED not in names


def test_the_server_refuses_a_request_carrying_it(dropped):
    server = Served(dropped["config"], dropped["work"])
    try:
        server.wait(versions=1)
        ride = {"fare": 12.5, "trip_miles": 2.0, "trip_seconds": 600, "payment_type": "Credit Card",
                "trip_start_hour": 9, "trip_start_day": 3, "trip_start_month": 5}
        status, answer, _ = server.post(f"/v1/models/{MODEL}:classify", {"examples": [ride]})
        assert status == 200, answer
        status, answer, _ = server.post(f"/v1/models/{MODEL}:classify",
                                        {"examples": [{**ride, DROPPED: "Flash Cab"}]})
        assert status == 400 and f"feature '{DROPPED}' is not a serving feature of the schema" in answer["error"]
    finally:
        server.stop()
