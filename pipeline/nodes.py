"""Node ids and output keys of the graph: the names every reader of a run uses.

Kept apart from graph.py, which imports TFX (and with it TensorFlow), so that the CLI's
fast paths (lineage, the up-to-date check, error messages) can name nodes without it.
"""

EXAMPLE_GEN_PREFIX = "CsvExampleGen_span"
IMPORT_SCHEMA_GEN = "ImportSchemaGen"
STATISTICS_GEN = "StatisticsGen"
STATISTICS_GEN_PREVIOUS = "StatisticsGen_previous"
SCHEMA_GEN = "SchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
BLESSED_STATISTICS_RESOLVER = "blessed_statistics_resolver"
DRIFT_GATE = "DriftGate"
ANALYZER_CACHE_RESOLVER = "analyzer_cache_resolver"
TRANSFORM = "Transform"
TRAINER = "Trainer"
BASELINE_MODEL_RESOLVER = "baseline_model_resolver"
EVALUATOR = "Evaluator"
MODEL_GATE = "ModelGate"
PUSHER = "Pusher"

# Every node id but the per-span ExampleGens.
FIXED = [IMPORT_SCHEMA_GEN, STATISTICS_GEN, STATISTICS_GEN_PREVIOUS, SCHEMA_GEN, EXAMPLE_VALIDATOR,
         BLESSED_STATISTICS_RESOLVER, DRIFT_GATE, ANALYZER_CACHE_RESOLVER, TRANSFORM, TRAINER,
         BASELINE_MODEL_RESOLVER, EVALUATOR, MODEL_GATE, PUSHER]

# Nodes under the drift gate's condition: absent from a run the gate stopped. The
# Evaluator too, when the config includes it (`[evaluation] tfma`).
GATED_NODES = [TRANSFORM, TRAINER, BASELINE_MODEL_RESOLVER, MODEL_GATE, PUSHER]


def gated_nodes(tfma: bool) -> list:
    return GATED_NODES + [EVALUATOR] if tfma else list(GATED_NODES)
RESOLVERS = [BLESSED_STATISTICS_RESOLVER, ANALYZER_CACHE_RESOLVER, BASELINE_MODEL_RESOLVER]

# Output keys readers look up (TFX's standard names, and the DriftGate's).
EXAMPLES = "examples"
STATISTICS = "statistics"
SCHEMA = "schema"
ANOMALIES = "anomalies"
REPORT = "report"
MODEL = "model"
EVALUATION = "evaluation"
BLESSING = "blessing"
PREDICTIONS = "predictions"
PUSHED_MODEL = "pushed_model"


def example_gen(span: int) -> str:
    return f"{EXAMPLE_GEN_PREFIX}{span}"
