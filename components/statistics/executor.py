"""A StatisticsGen executor that computes TFDV statistics in this process, without Beam.

TFX's StatisticsGen starts a Beam pipeline per node, whose fixed cost is most of the
node's time on spans of a few thousand rows. This executor decodes the examples with
the same TFXIO decoder (tfx_bsl's), runs TFDV's own statistics generators in memory
(`generate_statistics_in_memory`, the generators the Beam path combines), and writes
the same artifact: one FeatureStats.pb per split, the split names, span and sample
rates. tests/integration/test_statistics_executor.py compares it with TFX's executor on
real spans: categorical counts identical, numeric moments to 1e-9, every downstream
reader's result the same.

It holds a split in memory, so the config chooses it (`statistics = "memory"`, the
default) or TFX's executor (`"beam"`) for spans beyond one machine.
"""
import json
import os
from typing import Any, Dict, List

from tfx import types
from tfx.components.statistics_gen import component as statistics_gen_component
from tfx.components.statistics_gen.executor import DEFAULT_FILE_NAME, SAMPLE_RATE_BY_SPLIT_PROPERTY_NAME
from tfx.components.util import tfxio_utils
from tfx.dsl.components.base import base_beam_executor, executor_spec
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, json_utils

from components import storage

_BATCH_ROWS = 65536


def split_batch(examples, split: str):
    """Every example of one split as one Arrow RecordBatch, decoded as TFX decodes them
    (None for a split with no example)."""
    import pyarrow as pa
    from tfx_bsl.tfxio import dataset_options

    tfxio = tfxio_utils.get_split_tfxio(examples=[examples], split=split,
                                        telemetry_descriptors=["driftline", "StatisticsGen"])
    batches = [b for b in tfxio.RecordBatches(dataset_options.RecordBatchesOptions(
        batch_size=_BATCH_ROWS, shuffle=False, num_epochs=1)) if b.num_rows]
    if not batches:
        return None
    table = pa.Table.from_batches(batches).combine_chunks()
    return table.to_batches(max_chunksize=table.num_rows)[0]


class Executor(base_beam_executor.BaseBeamExecutor):
    """StatisticsGen's executor contract (inputs, outputs, exec properties), in memory.
    A Beam executor by type only, as the component it stands in for is a Beam component."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
        import tensorflow_data_validation as tfdv
        from tensorflow_data_validation.statistics import stats_impl
        from tensorflow_metadata.proto.v0 import statistics_pb2

        examples = artifact_utils.get_single_instance(input_dict[standard_component_specs.EXAMPLES_KEY])
        exclude = json.loads(exec_properties.get(standard_component_specs.EXCLUDE_SPLITS_KEY) or "null") or []
        splits = [s for s in artifact_utils.decode_split_names(examples.split_names) if s not in exclude]
        statistics = artifact_utils.get_single_instance(output_dict[standard_component_specs.STATISTICS_KEY])
        statistics.split_names = artifact_utils.encode_split_names(splits)
        statistics.span = examples.span

        options = tfdv.StatsOptions()
        if exec_properties.get(standard_component_specs.STATS_OPTIONS_JSON_KEY):
            options = tfdv.StatsOptions.from_json(exec_properties[standard_component_specs.STATS_OPTIONS_JSON_KEY])
        if options.sample_rate not in (None, 1.0):
            raise ValueError("the in-memory StatisticsGen computes exact statistics: set no sample_rate, "
                             "or use TFX's StatisticsGen")
        if input_dict.get(standard_component_specs.SCHEMA_KEY):
            options.schema = io_utils.SchemaReader().read(io_utils.get_only_uri_in_dir(
                artifact_utils.get_single_uri(input_dict[standard_component_specs.SCHEMA_KEY])))
        statistics.set_json_value_custom_property(
            SAMPLE_RATE_BY_SPLIT_PROPERTY_NAME, json_utils.dumps({split: 1.0 for split in splits}))

        for split in splits:
            batch = split_batch(examples, split)
            if batch is None:  # what TFDV's Beam path writes for no input
                computed = statistics_pb2.DatasetFeatureStatisticsList(
                    datasets=[statistics_pb2.DatasetFeatureStatistics(num_examples=0)])
            else:
                computed = stats_impl.generate_statistics_in_memory(batch, options)
            directory = artifact_utils.get_split_uri([statistics], split)
            storage.makedirs(directory)
            storage.write_bytes(os.path.join(directory, DEFAULT_FILE_NAME), computed.SerializeToString())


class StatisticsGen(statistics_gen_component.StatisticsGen):
    """TFX's StatisticsGen with the in-memory executor."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
