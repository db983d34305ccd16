"""The in-memory StatisticsGen executor against TFX's own (Beam) executor, same inputs:
the statistics every reader uses must be the same."""
import math

import pytest
import tensorflow_data_validation as tfdv
from tfx.components.statistics_gen import executor as tfx_statistics
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts, standard_component_specs as specs
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.drift_gate.comparison import compare, load_statistics
from components.example_gen import executor as csv_examples
from components.statistics.executor import Executor as InMemory
from driftline.schema.check import load_schema
from pipeline.config import PROJECT_ROOT

from test_csv_executor import _exec_properties, _run

SCHEMA = PROJECT_ROOT / "schemas" / "schema.pbtxt"


@pytest.fixture(scope="module")
def both(embedded_spans, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stats")
    examples = _run(csv_examples.Executor(), tmp, "examples", _exec_properties(embedded_spans, span=3,
                                                                                eval_buckets=20))
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp / "schema")
    (tmp / "schema").mkdir()
    (tmp / "schema" / "schema.pbtxt").write_text(SCHEMA.read_text())
    found = {}
    for name, executor in (
            ("beam", tfx_statistics.Executor(base_beam_executor.BaseBeamExecutor.Context(
                beam_pipeline_args=["--direct_running_mode=in_memory"], tmp_dir=str(tmp / "tmp")))),
            ("memory", InMemory())):
        statistics = standard_artifacts.ExampleStatistics()
        statistics.uri = str(tmp / name)
        executor.Do({specs.EXAMPLES_KEY: [examples], specs.SCHEMA_KEY: [schema]},
                    {specs.STATISTICS_KEY: [statistics]}, {})
        found[name] = statistics
    return found


def _features(statistics):
    out = {}
    for split in load_statistics(statistics.uri):
        for feature in split.datasets[0].features:
            out.setdefault(feature.path.step[0], []).append(feature)
    return out


def test_same_splits_examples_and_artifact_properties(both):
    beam, memory = both["beam"], both["memory"]
    assert memory.split_names == beam.split_names
    assert [s.datasets[0].num_examples for s in load_statistics(memory.uri)] == \
        [s.datasets[0].num_examples for s in load_statistics(beam.uri)]
    assert memory.get_json_value_custom_property("sample_rate_by_split") == \
        beam.get_json_value_custom_property("sample_rate_by_split")


def test_categorical_counts_are_identical_and_numeric_moments_agree(both):
    beam, memory = _features(both["beam"]), _features(both["memory"])
    assert beam.keys() == memory.keys()
    for name in beam:
        for b, m in zip(beam[name], memory[name]):
            assert b.type == m.type and b.WhichOneof("stats") == m.WhichOneof("stats"), name
            if b.HasField("string_stats"):
                assert b.string_stats.unique == m.string_stats.unique, name
                assert {x.label: x.sample_count for x in b.string_stats.rank_histogram.buckets} == \
                       {x.label: x.sample_count for x in m.string_stats.rank_histogram.buckets}, name
                assert b.string_stats.common_stats == m.string_stats.common_stats, name
            else:
                bs, ms = b.num_stats, m.num_stats
                assert bs.common_stats == ms.common_stats, name
                for field in ("mean", "std_dev", "min", "max", "median", "num_zeros"):
                    assert math.isclose(getattr(bs, field), getattr(ms, field), rel_tol=1e-9, abs_tol=1e-9), \
                        (name, field)


def test_every_reader_gets_the_same_answer(both):
    schema = load_schema(SCHEMA)
    beam, memory = load_statistics(both["beam"].uri), load_statistics(both["memory"].uri)
    # The drift gate's distances (memory against beam: every one zero).
    assert all(f.distance in (None, 0.0) for f in compare(memory, beam, schema).features
               if f.kind == "categorical")
    numeric = {f.name: f.distance for f in compare(memory, beam, schema).features if f.kind == "numeric"}
    assert all(d is None or d < 1e-9 for d in numeric.values()), numeric
    # ExampleValidator's anomalies and SchemaGen's inferred schema.
    for b, m in zip(beam, memory):
        assert tfdv.validate_statistics(m, schema) == tfdv.validate_statistics(b, schema)
        assert tfdv.infer_schema(m) == tfdv.infer_schema(b)
