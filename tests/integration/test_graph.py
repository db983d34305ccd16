"""The graph create_pipeline builds: nodes, window, the gate's place, schema snapshots."""
from pipeline.config import load_config
from pipeline.graph import create_pipeline as create
from pipeline.inputs import gather, local_schema_path, write_schema_snapshot


def _config(tmp_path, small_spans, **overrides):
    return load_config(overrides={"data_root": small_spans, "output_dir": tmp_path, **overrides})


def create_pipeline(config):
    return create(config, gather(config))


def _ids(pipeline):
    return [c.id for c in pipeline.components]


def test_window_and_nodes_for_a_span(tmp_path, small_spans):
    pipeline = create_pipeline(_config(tmp_path, small_spans, span=3, window=2))
    ids = _ids(pipeline)
    assert [i for i in ids if i.startswith("CsvExampleGen")] == ["CsvExampleGen_span2", "CsvExampleGen_span3"]
    for node in ["StatisticsGen", "StatisticsGen_previous", "ExampleValidator", "DriftGate",
                 "Transform", "Trainer", "ModelGate", "Pusher", "blessed_statistics_resolver"]:
        assert node in ids
    assert "Evaluator" not in ids  # TFMA's Evaluator only when asked for


def test_latest_span_and_whole_history_by_default(tmp_path, small_spans):
    ids = _ids(create_pipeline(_config(tmp_path, small_spans)))
    assert [i for i in ids if i.startswith("CsvExampleGen")] == [
        f"CsvExampleGen_span{s}" for s in (1, 2, 3, 4)]


def test_training_waits_for_the_gate_and_pushing_for_the_blessing(tmp_path, small_spans):
    pipeline = create_pipeline(_config(tmp_path, small_spans, span=2))
    nodes = {c.id: c for c in pipeline.components}
    assert "DriftGate" in {n.id for n in nodes["Transform"].upstream_nodes}
    assert "ModelGate" in {n.id for n in nodes["Pusher"].upstream_nodes}


def test_transform_reads_the_analyzer_cache_only_for_a_multi_span_window(tmp_path, small_spans):
    config = _config(tmp_path, small_spans, span=3, window=2, analyzer_cache=True)
    nodes = {c.id: c for c in create_pipeline(config).components}
    assert "analyzer_cache_resolver" in {n.id for n in nodes["Transform"].upstream_nodes}
    resolver_inputs = set(nodes["analyzer_cache_resolver"].inputs)
    assert resolver_inputs == {"cache", "examples_2", "examples_3"}
    assert "updated_analyzer_cache" in nodes["Transform"].outputs
    single = _ids(create_pipeline(_config(tmp_path, small_spans, span=3, window=1, analyzer_cache=True)))
    assert "analyzer_cache_resolver" not in single


def test_the_analyzer_cache_is_off_unless_the_config_keeps_one(tmp_path, small_spans):
    nodes = {c.id: c for c in create_pipeline(_config(tmp_path, small_spans, span=3, window=2)).components}
    assert "analyzer_cache_resolver" not in nodes
    assert "updated_analyzer_cache" not in nodes["Transform"].outputs


def test_example_gen_engine_is_a_choice(tmp_path, small_spans):
    from components.example_gen import executor as csv_examples

    def executor(engine):
        config = _config(tmp_path, small_spans, span=2, window=1)
        config.example_gen = engine
        gen = {c.id: c for c in create_pipeline(config).components}["CsvExampleGen_span2"]
        return gen.executor_spec.executor_class

    assert executor("arrow") is csv_examples.Executor
    assert executor("beam").__module__ == "tfx.components.example_gen.csv_example_gen.executor"


def test_first_span_has_no_previous_statistics(tmp_path, small_spans):
    ids = _ids(create_pipeline(_config(tmp_path, small_spans, span=1)))
    assert "StatisticsGen_previous" not in ids


def test_previous_baseline_mode_has_no_blessed_resolver(tmp_path, small_spans):
    config = _config(tmp_path, small_spans)
    config.drift.baseline = "previous"
    assert "blessed_statistics_resolver" not in _ids(create_pipeline(config))


def test_schema_snapshot_is_content_addressed(tmp_path, small_spans):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "fare" type: FLOAT }\nfeature { name: "tips" type: FLOAT }\n')
    config = _config(tmp_path, small_spans, schema_file=schema)
    # A task this two-feature schema can hold: its label reads tips, its one input is fare.
    config.task.label, config.task.known_when, config.task.ignore, config.task.treat = "tips > 1", "", [], {}
    first = local_schema_path(config)
    assert gather(config).schema_uri == str(first) and not first.exists()  # gathering writes nothing
    write_schema_snapshot(config, gather(config))
    assert local_schema_path(config) == first and first.read_text() == schema.read_text()
    schema.write_text('feature { name: "fare" type: INT }\nfeature { name: "tips" type: FLOAT }\n')
    second = local_schema_path(config)
    write_schema_snapshot(config, gather(config))
    assert second != first and second.read_text() == schema.read_text()
    # The graph imports exactly the snapshot the inputs name.
    imported = {c.id: c for c in create_pipeline(config).components}["ImportSchemaGen"]
    assert imported.exec_properties["schema_file"] == str(second)


def test_exactly_the_gated_nodes_sit_under_the_gate(tmp_path, small_spans):
    from tfx.dsl.experimental.conditionals.conditional import get_predicates

    from pipeline.nodes import GATED_NODES

    pipeline = create_pipeline(_config(tmp_path, small_spans, span=3))
    gated = {c.id for c in pipeline.components
             if get_predicates(c, pipeline.dsl_context_registry)}
    # `driftline lineage runs` reports these as skipped when the gate stops a run.
    assert gated == set(GATED_NODES)
    config = _config(tmp_path, small_spans, span=3)
    config.evaluation.tfma = True
    pipeline = create_pipeline(config)
    gated = {c.id for c in pipeline.components if get_predicates(c, pipeline.dsl_context_registry)}
    assert gated == set(GATED_NODES) | {"Evaluator"}


def test_example_gens_record_the_hash_of_the_bytes_they_ingest(tmp_path, small_spans):
    import hashlib
    import json

    from google.protobuf import json_format, struct_pb2
    from tfx.proto import example_gen_pb2

    pipeline = create_pipeline(_config(tmp_path, small_spans, span=3, window=2))
    for span in (2, 3):
        node = next(c for c in pipeline.components if c.id == f"CsvExampleGen_span{span}")
        custom = node.exec_properties["custom_config"]
        if isinstance(custom, str):
            custom = json_format.Parse(custom, example_gen_pb2.CustomConfig())
        facts = struct_pb2.Struct()
        assert custom.custom_config.Unpack(facts)
        data = (small_spans / f"span-{span}" / "data.csv").read_bytes()
        assert json.loads(json_format.MessageToJson(facts)) == {
            "span": span, "source_sha256": {"data.csv": hashlib.sha256(data).hexdigest()}}


_IMPORT_THE_RUNNER = """
import json, sys
import pipeline.graph
from tfx.orchestration.local import local_dag_runner
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("keras_tuner", "kubernetes")
                        or m.startswith(("tfx.components.bulk_inferrer", "tfx.components.tuner",
                                         "tfx.components.infra_validator")))))
"""


def test_a_pipeline_process_loads_only_the_components_the_graph_uses():
    # tfx/components/__init__.py would import all of TFX's components (the Tuner brings
    # keras_tuner and Keras 3, the InfraValidator the Kubernetes client), and TFX's
    # resolvers import that package in every run: components/tfx_components.py.
    import json
    import subprocess
    import sys

    from pipeline.config import PROJECT_ROOT

    proc = subprocess.run([sys.executable, "-c", _IMPORT_THE_RUNNER], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
