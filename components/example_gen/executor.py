"""An ExampleGen executor that turns a span's CSV files into tf.Examples without Beam.

CsvExampleGen parses CSV line by line in Python inside a Beam pipeline, and starts that
pipeline for each span. This executor reads with Arrow's C++ CSV reader and encodes with
tfx_bsl's C++ tf.Example encoder, and writes what CsvExampleGen writes, so every
downstream component reads it unchanged:

- column types inferred the same way (csv_reader: over all of the span's files); a
  column with no value at all is written as a feature with no kind;
- an empty cell is a feature with an empty value list, not an absent feature;
- the bytes are those of CsvExampleGen's deterministic serialization, and the split is
  TFX's own partition function applied to them, so a row lands in the same split;
- gzipped TFRecord files under Split-<name>/, payload and file format recorded.

It runs in the executor's own process, one span at a time, and holds one span in memory:
for spans far beyond what one machine holds, CsvExampleGen on a distributed Beam runner is
the tool (`example_gen = "beam"` in the config).
"""
import os
from typing import Any, Dict, List

import pyarrow as pa
import tensorflow as tf
from tfx import types
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.base_example_gen_executor import _PartitionFn
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils
from tfx_bsl.coders import example_coder

from components.example_gen.csv_reader import read_span, span_files, typed_batch

# Rows per encoded and written batch: bounds the serialized copies held at once.
BATCH_ROWS = 65536


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int):
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            return value, pos


def canonical_bytes(kindless: List[str] = ()):
    """A function giving an encoded example the bytes of CsvExampleGen's deterministic
    serialization: map entries sorted by feature name (the C++ encoder emits them in its
    own order), and each `kindless` feature's empty int64 list rewritten to a Feature with
    no kind. The hash split is computed on these bytes, so a row lands where CsvExampleGen
    puts it."""
    bare = {}
    for name in kindless:
        key = b"\n" + _varint(len(name.encode())) + name.encode()
        bare[name.encode()] = b"\n" + _varint(len(key) + 2) + key + b"\x12\x00"

    def rewrite(example: bytes) -> bytes:
        # Example: field 1 (Features) = repeated field 1 (map entry: key 1, value 2).
        _, pos = _read_varint(example, 1)
        entries = []
        end = len(example)
        while pos < end:
            length, body = _read_varint(example, pos + 1)
            klen, kstart = _read_varint(example, body + 1)
            key = example[kstart:kstart + klen]
            entries.append((key, bare.get(key) or example[pos:body + length]))
            pos = body + length
        entries.sort()
        features = b"".join(e for _, e in entries)
        return b"\n" + _varint(len(features)) + features

    return rewrite


def encode(table: pa.Table):
    """Serialized tf.Examples of the table's rows, in order, BATCH_ROWS at a time."""
    names = sorted(table.column_names)
    batch = typed_batch(table)
    rewrite = canonical_bytes([n for n in names if table.column(n).null_count == len(table)])
    encoder = example_coder.RecordBatchToExamplesEncoder()
    for start in range(0, batch.num_rows, BATCH_ROWS):
        yield from map(rewrite, encoder.encode(batch.slice(start, BATCH_ROWS)))


class Executor(base_executor.BaseExecutor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        if len(input_config.splits) != 1 or not output_config.split_config.splits:
            raise ValueError("driftline's CSV executor takes one input split and hash-split outputs")
        split_names = example_gen_utils.generate_output_split_names(input_config, output_config)
        split_config = output_config.split_config
        boundaries, total = [], 0
        for split in split_config.splits:
            total += split.hash_buckets
            boundaries.append(total)

        files = span_files(
            exec_properties[standard_component_specs.INPUT_BASE_KEY],
            input_config.splits[0].pattern,
            exec_properties.get(example_gen_utils.SPAN_PROPERTY_NAME, 0),
        )
        examples = encode(read_span(files))

        examples_artifact = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        examples_artifact.split_names = artifact_utils.encode_split_names(split_names)
        writers = []
        for name in split_names:
            split_dir = artifact_utils.get_split_uri([examples_artifact], name)
            tf.io.gfile.makedirs(split_dir)
            writers.append(
                tf.io.TFRecordWriter(
                    os.path.join(split_dir, "data_tfrecord-00000-of-00001.gz"), options="GZIP"
                )
            )
        try:
            for serialized in examples:
                index = _PartitionFn(serialized, len(boundaries), boundaries, split_config)
                writers[index].write(serialized)
        finally:
            for writer in writers:
                writer.close()

        examples_utils.set_payload_format(examples_artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
        examples_utils.set_file_format(
            examples_artifact, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP)
        )
