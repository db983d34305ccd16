"""`driftline kubeflow compile`: the compiled KFP v2 spec is the local graph, checked with
the kfp SDK and the pipeline-spec protos."""
import json

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from driftline.kubeflow import client as kubeflow_client
from pipeline import kubeflow_runner
from pipeline.config import PROJECT_ROOT, load_config
from pipeline.inputs import schema_digest
from components.errors import DriftlineError
from pipeline.errors import ConfigError

IMAGE = "registry.example.com/driftline:test"
BEAM_ARGS = ["--runner=FlinkRunner", "--flink_master=flink.example.com:8081", "--parallelism=4"]
# TFX's latest-blessed-model resolver compiles to two KFP resolver tasks; its consumers
# depend on the one that yields the model.
RESOLVER_TASKS = {"baseline_model_resolver": ["baseline_model_resolver-model-blessing-resolver",
                                              "baseline_model_resolver-model-resolver"]}
RESOLVER_OUTPUT = {"baseline_model_resolver": "baseline_model_resolver-model-resolver"}


def _settings(window=1, **kubeflow):
    values = {"image": IMAGE, "pipeline_root": "gs://bucket/driftline/root",
              "data_root": "gs://bucket/driftline/taxi", "serving_dir": "gs://bucket/driftline/serving",
              "beam_args": BEAM_ARGS}
    values.update(kubeflow)
    lines = ["span = 3", f"window = {window}", "[kubeflow]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
    lines += ["[kubeflow.resources.Trainer]", "cpu_limit = 2.0", "memory_limit = 8.0"]
    return "\n".join(lines) + "\n"


def _config(tmp_path, window=1, **kubeflow):
    path = tmp_path / "kubeflow.toml"
    path.write_text(_settings(window, **kubeflow))
    return load_config(path, overrides={"output_dir": tmp_path / "out"})


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("kfp")
    config = _config(tmp_path)
    first = kubeflow_runner.compile_spec(config, tmp_path / "a" / "driftline.yaml")
    second = kubeflow_runner.compile_spec(config, tmp_path / "b" / "driftline.yaml")
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(yaml.safe_load(first.read_text()), spec, ignore_unknown_fields=False)
    from pipeline.graph import create_pipeline
    from pipeline.inputs import gather

    cluster = kubeflow_runner.for_cluster(config)
    local = create_pipeline(cluster, gather(cluster))
    return {"path": first, "again": second, "spec": spec, "local": local, "tmp": tmp_path,
            "config": config}


def _tasks_for(node_id):
    return RESOLVER_TASKS.get(node_id, [node_id])


def test_the_kfp_sdk_loads_the_spec(compiled):
    from kfp import components

    loaded = components.load_component_from_file(str(compiled["path"]))
    assert loaded.name == "driftline"


def test_every_local_node_is_a_task_with_the_same_upstream(compiled):
    tasks = compiled["spec"].root.dag.tasks
    local = {c.id: c for c in compiled["local"].components}
    expected = {t for node in local for t in _tasks_for(node)}
    assert set(tasks) == expected
    for node_id, component in local.items():
        if node_id in RESOLVER_TASKS:  # an MLMD query: no upstream tasks
            assert all(not tasks[t].dependent_tasks for t in RESOLVER_TASKS[node_id])
            continue
        upstream = {RESOLVER_OUTPUT.get(n.id, n.id) for n in component.upstream_nodes}
        assert set(tasks[node_id].dependent_tasks) == upstream, node_id


def test_every_executor_uses_the_image_and_the_beam_args(compiled):
    from tfx.dsl.components.base.base_beam_component import BaseBeamComponent

    executors = json_format.MessageToDict(compiled["spec"].deployment_spec)["executors"]
    local = {c.id: c for c in compiled["local"].components}
    for node_id, component in local.items():
        if node_id in RESOLVER_TASKS:
            continue
        container = executors[f"{node_id}_executor"]["container"]
        assert container["image"] == IMAGE, node_id
        if isinstance(component, BaseBeamComponent):
            args = container["args"]
            assert args[-len(BEAM_ARGS):] == BEAM_ARGS, node_id
    beam = [i for i, c in local.items() if isinstance(c, BaseBeamComponent)]
    assert {"Transform", "ModelGate", "StatisticsGen", "CsvExampleGen_span3"} <= set(beam)
    trainer = executors["Trainer_executor"]
    assert trainer["container"]["resources"] == {"cpuLimit": 2.0, "memoryLimit": 8.0}


def test_no_task_refers_to_a_local_path(compiled):
    text = compiled["path"].read_text()
    for local in (str(PROJECT_ROOT), str(compiled["tmp"]), "/home/", "/tmp/"):
        assert local not in text, local
    assert "gs://bucket/driftline/taxi" in text and "gs://bucket/driftline/serving" in text
    digest = schema_digest(PROJECT_ROOT / "schemas" / "schema.pbtxt")
    assert f"/driftline/schema-snapshots/{digest}/schema.pbtxt" in text
    assert "components.model.preprocessing.preprocessing_fn" in text and "components.model.trainer.run_fn" in text


def test_the_gate_condition_holds_in_the_compiled_graph(compiled):
    from pipeline.nodes import GATED_NODES

    tasks = compiled["spec"].root.dag.tasks
    gate = "(inputs.artifacts['_DriftGate.report'].artifacts[0].metadata['passed'] == 1.0)"
    for name, task in tasks.items():
        if name in GATED_NODES:
            assert task.trigger_policy.condition == gate, name
            assert "DriftGate" in task.dependent_tasks
            assert "_DriftGate.report" in task.inputs.artifacts
        elif name.startswith("baseline_model_resolver-"):
            # A KFP resolver task only queries MLMD; what consumes it is gated.
            assert task.trigger_policy.condition == ""
        else:
            assert task.trigger_policy.condition == "", name
    # The Pusher pushes only what the ModelGate blessed: it reads the blessing.
    pusher_inputs = tasks["Pusher"].inputs.artifacts
    assert pusher_inputs["model_blessing"].task_output_artifact.producer_task == "ModelGate"


def test_compiling_twice_gives_the_same_spec(compiled):
    assert compiled["path"].read_bytes() == compiled["again"].read_bytes()


@pytest.mark.parametrize("change, message", [
    ({"image": None}, "kubeflow.image is not set"),
    ({"pipeline_root": "/srv/driftline"}, "kubeflow.pipeline_root = '/srv/driftline' is a local path"),
    ({"serving_dir": "output/serving"}, "kubeflow.serving_dir = 'output/serving' is a local path"),
])
def test_bad_config_is_rejected_with_a_clear_message(tmp_path, change, message):
    config = _config(tmp_path, **change)
    with pytest.raises(ConfigError, match="cannot compile for Kubeflow") as caught:
        kubeflow_runner.compile_spec(config, tmp_path / "spec.yaml")
    assert message in str(caught.value)
    assert not (tmp_path / "spec.yaml").exists()


def test_a_training_window_of_several_spans_is_refused_with_the_reason(tmp_path):
    config = _config(tmp_path, window=2)
    with pytest.raises(ConfigError, match="window = 2: on Kubeflow a run trains on one span"):
        kubeflow_runner.compile_spec(config, tmp_path / "spec.yaml")


def test_resources_for_a_node_the_graph_lacks(tmp_path):
    config = _config(tmp_path)
    config.kubeflow.resources["Trainr"] = {"cpu_limit": 1.0}
    with pytest.raises(ConfigError, match="'Trainr', which the graph does not have"):
        kubeflow_runner.compile_spec(config, tmp_path / "spec.yaml")


def test_submit_to_an_unreachable_host_is_one_readable_error(compiled):
    with pytest.raises(DriftlineError, match="Kubeflow at http://127.0.0.1:9 did not take the run"):
        kubeflow_client.submit(compiled["path"], "http://127.0.0.1:9", "driftline", compiled["config"])


def test_submit_to_a_host_that_rejects_the_spec_says_why(compiled):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Rejecting(BaseHTTPRequestHandler):
        """Healthy, then refuses every request, as an API server refusing a spec does."""

        def _reject(self):
            healthy = "healthz" in self.path
            body = b"{}" if healthy else b'{"error": "pipeline spec is invalid", "code": 3}'
            self.send_response(200 if healthy else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reject

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Rejecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(DriftlineError, match=f"Kubeflow at {host} did not take the run: HTTP 400"):
            kubeflow_client.submit(compiled["path"], host, "driftline", compiled["config"])
    finally:
        server.shutdown()
