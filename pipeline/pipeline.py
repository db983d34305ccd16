"""create_pipeline(config): the only definition of driftline's graph, used by every runner."""
import hashlib
from pathlib import Path

import tensorflow_model_analysis as tfma
# Components are imported from their modules: `tfx.v1` also imports the Google Cloud
# extensions, which costs about 25 s of start-up on every run.
from tfx.components import (
    Evaluator,
    ExampleValidator,
    Pusher,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.experimental.conditionals.conditional import Cond
from tfx.orchestration import metadata as tfx_metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, range_config_pb2, trainer_pb2
from tfx.types import Channel, channel_utils, standard_artifacts

from components import csv_examples
from components import features as F
from components.baseline import PreviousBlessedModelStrategy
from components.transform_cache import CACHE_KEY, EXAMPLES_PREFIX, PreviousAnalysisCacheStrategy
from components.drift.baseline import BlessedTrainingStatisticsStrategy
from components.drift.component import DriftGate
from pipeline.spans import previous_span, resolve_span, source_files, training_window
from pipeline.config import PROJECT_ROOT, Config
from pipeline.errors import ConfigError

PREPROCESSING_FN = "components.transform.preprocessing_fn"
RUN_FN = "components.trainer.run_fn"
# The modules whose code the executors run. TFX's cache key sees exec properties, not
# code, so each executor gets a content hash of its code: editing a feature re-runs
# Transform and Trainer, editing the drift code re-runs the gate.
CODE_MODULES = ["components/features.py", "components/transform.py", "components/trainer.py"]
DRIFT_MODULES = [
    "components/drift/comparators.py",
    "components/drift/compare.py",
    "components/drift/component.py",
    "components/drift/report.py",
    "components/schema_tools.py",
]

EXAMPLE_GEN_PREFIX = "CsvExampleGen_span"


def code_fingerprint(modules=CODE_MODULES) -> str:
    digest = hashlib.sha256()
    for name in modules:
        digest.update(name.encode())
        digest.update((PROJECT_ROOT / name).read_bytes())
    return digest.hexdigest()


def schema_snapshot(config: Config) -> Path:
    """A copy of the curated schema at a path named by its content hash.

    ImportSchemaGen's cache key is the file's path, not its content: importing from a
    content-addressed copy makes an edited schema re-import (and re-validate), and the
    path recorded in MLMD names exactly the contract a run used.
    """
    content = Path(config.schema_file).read_bytes()
    digest = hashlib.sha256(content).hexdigest()[:16]
    target = config.output_dir / "schemas" / digest / Path(config.schema_file).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(content)
        tmp.replace(target)
    return target


def schema_location(config: Config) -> str:
    """The curated schema as the executor will read it: a content-addressed copy, on this
    machine or (for a cluster) inside the image, where the Dockerfile puts it."""
    if config.on_cluster:
        from pipeline.kubeflow import image_schema_path

        return image_schema_path(config.schema_file)
    return str(schema_snapshot(config))


def _source_config(config: Config, span: int) -> example_gen_pb2.CustomConfig:
    from google.protobuf import struct_pb2

    facts = struct_pb2.Struct()
    facts.update({"span": span, "source_sha256": source_files(config, span)})
    custom = example_gen_pb2.CustomConfig()
    custom.custom_config.Pack(facts)
    return custom


def _example_gen(config: Config, span: int):
    # A CSV executor behind FileBasedExampleGen, which takes a custom_config: the files'
    # content hashes become an exec property, so MLMD records exactly which bytes were
    # ingested and a changed file re-ingests even if its size and mtime match.
    if config.example_gen == "beam":
        spec = executor_spec.BeamExecutorSpec(csv_executor.Executor)
    else:
        spec = executor_spec.ExecutorClassSpec(csv_examples.Executor)
    return FileBasedExampleGen(
        custom_executor_spec=spec,
        custom_config=_source_config(config, span),
        input_base=config.data_uri,
        input_config=example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name="all", pattern=f"span-{{SPAN}}/*.csv")]
        ),
        output_config=example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=100 - config.eval_percent),
                    example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=config.eval_percent),
                ]
            )
        ),
        range_config=range_config_pb2.RangeConfig(
            static_range=range_config_pb2.StaticRange(start_span_number=span, end_span_number=span)
        ),
    ).with_id(f"{EXAMPLE_GEN_PREFIX}{span}")


def eval_config(config: Config) -> tfma.EvalConfig:
    """Metrics on every slice; the blessing thresholds judge the overall slice only,
    since a slice with no positive trips has no AUC to speak of."""
    e = config.evaluation
    overall = [tfma.SlicingSpec()]
    auc = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": e.min_auc}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -e.max_auc_drop},
        ),
    )
    f1 = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": e.min_f1})
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=F.LABEL_KEY,
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=overall + [tfma.SlicingSpec(feature_keys=[key]) for key in e.slice_features],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(
                        class_name="AUC",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(slicing_specs=overall, threshold=auc)
                        ],
                    ),
                    tfma.MetricConfig(
                        class_name="F1Score",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(slicing_specs=overall, threshold=f1)
                        ],
                    ),
                    tfma.MetricConfig(class_name="Precision"),
                    tfma.MetricConfig(class_name="Recall"),
                    tfma.MetricConfig(class_name="BinaryAccuracy"),
                    tfma.MetricConfig(class_name="ExampleCount"),
                ]
            )
        ],
    )


def _baseline_model_resolver(config: Config, trainer):
    if config.on_cluster:
        # KFP v2 resolver tasks implement only TFX's own strategies: the newest blessed
        # model, which on an unchanged re-run is the candidate itself.
        from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
            LatestBlessedModelStrategy,
        )

        strategy, extra = LatestBlessedModelStrategy, {}
    else:
        strategy, extra = PreviousBlessedModelStrategy, {"candidate": trainer.outputs["model"]}
    return Resolver(
        strategy_class=strategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
        **extra,
    ).with_id("baseline_model_resolver")


def _analyzer_cache_resolver(config: Config, example_gens: dict):
    """The analyzer cache of the run before, for a multi-span window on this machine.

    On a cluster the window is one span (nothing to reuse) and KFP v2 resolvers run
    only TFX's own strategies, so there is none.
    """
    if config.on_cluster or len(example_gens) == 1:
        return None
    return Resolver(
        strategy_class=PreviousAnalysisCacheStrategy,
        **{CACHE_KEY: Channel(type=standard_artifacts.TransformCache)},
        **{f"{EXAMPLES_PREFIX}{s}": g.outputs["examples"] for s, g in example_gens.items()},
    ).with_id("analyzer_cache_resolver")


def _with_resources(config: Config, components: list) -> list:
    """Per-node CPU and memory limits for a cluster (KFP reads them from platform_config)."""
    if not config.on_cluster or not config.kubeflow.resources:
        return components
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec
    for component in components:
        limits = config.kubeflow.resources.get(component.id)
        if limits:
            component.with_platform_config(spec(**{k: float(v) for k, v in limits.items()}))
    return components


def create_pipeline(config: Config) -> tfx_pipeline.Pipeline:
    if config.on_cluster and config.drift.baseline == "blessed":
        raise ConfigError("on Kubeflow the drift baseline is the previous span: KFP v2 "
                          "resolvers cannot run driftline's blessed-statistics strategy")
    span = resolve_span(config)
    window = training_window(config, span)
    fingerprint = code_fingerprint()

    example_gens = {s: _example_gen(config, s) for s in window}
    current = example_gens[span]
    curated_schema = ImportSchemaGen(schema_file=schema_location(config))
    # With the schema, integer features it marks categorical get value counts, which the
    # drift gate compares as categories.
    statistics_gen = StatisticsGen(
        examples=current.outputs["examples"], schema=curated_schema.outputs["schema"]
    )
    # Inferred schema: kept for comparison with the curated contract, never used to validate.
    schema_gen = SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"],
        schema=curated_schema.outputs["schema"],
    )

    # Baselines for the drift gate: the previous span's statistics (computed in-graph, so
    # even a first run has one) and, when asked for, those of the blessed model's data.
    data_nodes = []
    gate_inputs = {}
    before = previous_span(config, span)
    if before is not None:
        previous_gen = example_gens.get(before) or _example_gen(config, before)
        previous_stats = StatisticsGen(
            examples=previous_gen.outputs["examples"], schema=curated_schema.outputs["schema"]
        ).with_id("StatisticsGen_previous")
        if before not in example_gens:
            data_nodes.append(previous_gen)
        data_nodes.append(previous_stats)
        gate_inputs["previous_statistics"] = previous_stats.outputs["statistics"]
    if config.drift.baseline == "blessed":
        blessed_stats = Resolver(
            strategy_class=BlessedTrainingStatisticsStrategy,
            statistics=Channel(type=standard_artifacts.ExampleStatistics),
            examples=Channel(type=standard_artifacts.Examples),
            model=Channel(type=standard_artifacts.Model),
            model_blessing=Channel(type=standard_artifacts.ModelBlessing),
            current=statistics_gen.outputs["statistics"],
        ).with_id("blessed_statistics_resolver")
        data_nodes.append(blessed_stats)
        gate_inputs["blessed_statistics"] = blessed_stats.outputs["statistics"]
        gate_inputs["blessed_examples"] = blessed_stats.outputs["examples"]
    drift_gate = DriftGate(
        statistics=statistics_gen.outputs["statistics"],
        schema=curated_schema.outputs["schema"],
        anomalies=example_validator.outputs["anomalies"],
        baseline=config.drift.baseline,
        gate=config.drift.gate,
        current_span=span,
        previous_span=-1 if before is None else before,
        code_fingerprint=code_fingerprint(DRIFT_MODULES),
        **gate_inputs,
    )

    cache_resolver = _analyzer_cache_resolver(config, example_gens)
    if cache_resolver is not None:
        data_nodes.append(cache_resolver)

    # The gate: nothing below runs unless the drift gate passed this span.
    with Cond(drift_gate.outputs["report"].future()[0].custom_property("passed") == 1):
        window_examples = (
            current.outputs["examples"]
            if len(example_gens) == 1
            else channel_utils.union([g.outputs["examples"] for g in example_gens.values()])
        )
        transform = Transform(
            examples=window_examples,
            schema=curated_schema.outputs["schema"],
            preprocessing_fn=PREPROCESSING_FN,
            custom_config={"code_fingerprint": fingerprint},
            # Analyses of the spans the previous run's window shared with this one.
            analyzer_cache=cache_resolver.outputs[CACHE_KEY] if cache_resolver else None,
            # Transform's own statistics duplicate StatisticsGen's and cost a Beam pass.
            disable_statistics=True,
            # Graph mode skips tf.function tracing of the preprocessing_fn per input span.
            force_tf_compat_v1=True,
        )
        t = config.training
        trainer = Trainer(
            run_fn=RUN_FN,
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=curated_schema.outputs["schema"],
            train_args=trainer_pb2.TrainArgs(num_steps=t.train_steps),
            eval_args=trainer_pb2.EvalArgs(num_steps=t.eval_steps),
            custom_config={
                "code_fingerprint": fingerprint,
                "hparams": {
                    "hidden_units": list(t.hidden_units),
                    "learning_rate": t.learning_rate,
                    "batch_size": t.batch_size,
                },
            },
        )
        baseline = _baseline_model_resolver(config, trainer)
        evaluator = Evaluator(
            examples=current.outputs["examples"],
            model=trainer.outputs["model"],
            baseline_model=baseline.outputs["model"],
            eval_config=eval_config(config),
        )
        # The Pusher pushes only a blessed model: it reads the blessing itself and records
        # pushed=0 otherwise. A nested Cond on the blessing would say the same in the
        # graph, but TFX 1.16 then fails the Pusher's input resolution (the predicate
        # reads a blessing that does not exist) whenever the gate skipped the Evaluator.
        pusher = Pusher(
            model=trainer.outputs["model"],
            model_blessing=evaluator.outputs["blessing"],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(
                    base_directory=str(config.serving_dir)
                )
            ),
        )

    return tfx_pipeline.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=str(config.pipeline_root),
        components=_with_resources(config, [
            *example_gens.values(),
            statistics_gen,
            schema_gen,
            curated_schema,
            example_validator,
            *data_nodes,
            drift_gate,
            transform,
            trainer,
            baseline,
            evaluator,
            pusher,
        ]),
        enable_cache=True,
        # On a cluster, Kubeflow connects every task to its own MLMD.
        metadata_connection_config=None if config.on_cluster else
        tfx_metadata.sqlite_metadata_connection_config(str(config.metadata_path)),
        beam_pipeline_args=list(config.kubeflow.beam_args) if config.on_cluster else config.beam.args(),
    )
