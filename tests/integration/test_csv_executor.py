"""driftline's Arrow CSV executor against TFX's own CsvExampleGen executor, same inputs."""
import collections
import json

import pytest
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts, standard_component_specs as specs
from tfx.utils import proto_utils

from components.example_gen import executor as csv_examples
from components.errors import DataError


def _exec_properties(input_base, pattern="span-{SPAN}/*.csv", span=1, eval_buckets=10):
    output = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(splits=[
            example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=100 - eval_buckets),
            example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=eval_buckets),
        ])
    )
    inp = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="all", pattern=pattern)])
    return {
        specs.INPUT_BASE_KEY: str(input_base),
        specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(inp),
        specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(output),
        specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
        specs.OUTPUT_FILE_FORMAT_KEY: example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        "span": span,
    }


def _run(executor, tmp_path, name, props):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / name)
    # The driver substitutes the span into the pattern before the executor sees it.
    inp = example_gen_pb2.Input()
    proto_utils.json_to_proto(props[specs.INPUT_CONFIG_KEY], inp)
    inp.splits[0].pattern = inp.splits[0].pattern.replace("{SPAN}", str(props["span"]))
    props = dict(props, **{specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(inp)})
    executor.Do({}, {specs.EXAMPLES_KEY: [examples]}, props)
    return examples


def _read_splits(examples):
    """{split: Counter of deterministic serializations} of what an executor wrote."""
    out = {}
    for split in json.loads(examples.split_names):
        files = tf.io.gfile.glob(f"{examples.uri}/Split-{split}/*")
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        out[split] = collections.Counter(
            tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True)
            for r in records
        )
    return out


def _both(tmp_path, input_base, **kw):
    props = _exec_properties(input_base, **kw)
    beam = csv_executor.Executor(
        base_beam_executor.BaseBeamExecutor.Context(
            beam_pipeline_args=["--direct_running_mode=in_memory"], tmp_dir=str(tmp_path / "tmp")
        )
    )
    theirs = _run(beam, tmp_path, "csv_example_gen", props)
    ours = _run(csv_examples.Executor(), tmp_path, "arrow", props)
    return theirs, ours


def test_same_examples_in_the_same_splits_on_a_real_span(tmp_path, small_spans):
    theirs, ours = _both(tmp_path, small_spans, span=2)
    expected, got = _read_splits(theirs), _read_splits(ours)
    assert set(got) == {"train", "eval"}
    assert sum(expected["train"].values()) > 0 and sum(expected["eval"].values()) > 0
    assert got == expected
    assert ours.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    assert ours.get_string_custom_property("file_format") == "tfrecords_gzip"
    assert ours.split_names == theirs.split_names


def test_type_inference_and_empty_cells_match_csv_example_gen(tmp_path):
    span = tmp_path / "data" / "span-7"
    span.mkdir(parents=True)
    # ints with a gap, ints mixed with floats, numbers mixed with text, a quoted comma,
    # a value on a second file only.
    (span / "a.csv").write_text(
        'id,mixed,label,text,note\n'
        '1,2,x,"a, b",\n'
        ',2.5,y,plain,\n'
        '3,-4,7,,\n'
    )
    (span / "b.csv").write_text('id,mixed,label,text,note\n4,1e3,z,last,only here\n')
    theirs, ours = _both(tmp_path, tmp_path / "data", span=7, eval_buckets=50)
    assert _read_splits(ours) == _read_splits(theirs)
    merged = collections.Counter()
    for counts in _read_splits(ours).values():
        merged.update(counts)
    rows = [tf.train.Example.FromString(b).features.feature for b in merged.elements()]
    by_id = {tuple(r["id"].int64_list.value): r for r in rows}
    assert by_id[()]["mixed"].float_list.value == [2.5]
    assert list(by_id[(3,)]["label"].bytes_list.value) == [b"7"]
    assert list(by_id[(1,)]["text"].bytes_list.value) == [b"a, b"]
    assert list(by_id[(4,)]["note"].bytes_list.value) == [b"only here"]
    assert by_id[(1,)]["note"].WhichOneof("kind") == "bytes_list"
    assert len(by_id[(1,)]["note"].bytes_list.value) == 0


def test_a_ragged_row_names_the_file_and_writes_nothing(tmp_path):
    span = tmp_path / "data" / "span-1"
    span.mkdir(parents=True)
    (span / "data.csv").write_text("a,b\n1,2\n3\n")
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "out")
    props = _exec_properties(tmp_path / "data")
    with pytest.raises(DataError, match=r"span-1/data\.csv:3: 1 fields where the header has 2"):
        _run(csv_examples.Executor(), tmp_path, "out", props)
    assert not (tmp_path / "out").exists()


def test_files_with_different_columns_are_refused(tmp_path):
    span = tmp_path / "data" / "span-1"
    span.mkdir(parents=True)
    (span / "a.csv").write_text("a,b\n1,2\n")
    (span / "b.csv").write_text("a,c\n1,2\n")
    with pytest.raises(DataError, match=r"b\.csv: columns \['a', 'c'\] differ"):
        _run(csv_examples.Executor(), tmp_path, "out", _exec_properties(tmp_path / "data"))
