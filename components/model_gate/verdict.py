"""What the ModelGate records on its ModelBlessing, and how readers get it back.

The writer (component.py) and every reader (the run summary, lineage, rollout checks)
use these names. The blessing carries TFX's own properties too (`blessed`,
`current_model_id`), which the Pusher and the baseline resolvers read.
"""
import json

from components.model import operating_point
from components.properties import custom_property

PREDICTIONS_TYPE = "components.ModelPredictions"
JUDGEMENT_FILE = "judgement.json"
PREDICTIONS_FILE = "predictions.parquet"

BLESSED = "blessed"
KIND = "task_kind"                # "regression"; absent on a binary task's blessing
CURRENT_MODEL_ID = "current_model_id"
CURRENT_MODEL = "current_model"
BASELINE_MODEL_ID = "baseline_model_id"
BASELINE_MODEL = "baseline_model"
EXAMPLES = "eval_examples"      # the rows judged: those whose label can be known
EVAL_ROWS = "eval_rows"          # every row of the evaluation splits
NOISE_FLOOR = "noise_floor"      # JSON: components/model_gate/noise_floor.py
POSITIVES = "eval_positives"
NEWEST_SPAN = "newest_span"
NEWEST_EXAMPLES = "newest_span_examples"
CONFIDENCE = "confidence"
CHECKS = "checks"          # JSON list of {name, passed, text}
WARNINGS = "warnings"      # JSON list of text
METRIC = "metric."         # + name: the candidate's value on the whole evaluation set
LOW, HIGH = "metric_low.", "metric_high."
DIFF, DIFF_LOW, DIFF_HIGH = "diff.", "diff_low.", "diff_high."
# JSON: the constant predictor and always "yes" on the judged rows (decision.Trivial).
TRIVIAL = "trivial_baselines"
REQUIRED = "baselines_required"  # 1 unless a quick mode only reports them
CALIBRATION_ERROR = "calibration_error"  # expected calibration error on the judged rows, 10 bins
# The candidate's operating threshold (F1, precision and recall decide at it), the JSON of
# how it was chosen (components/model/operating_point.py), and the serving model's.
THRESHOLD = "operating_threshold"
OPERATING_POINT = "operating_point"
BASELINE_THRESHOLD = "baseline_operating_threshold"
BASELINE_OPERATING_POINT = "baseline_operating_point"
# The reference learner's metrics on the judged rows (components/model_gate/reference.py).
REFERENCE, REFERENCE_LOW, REFERENCE_HIGH = "reference.", "reference_low.", "reference_high."


_property = custom_property


def _by_prefix(artifact, prefix):
    return {k[len(prefix):]: _property(artifact, k) for k in artifact.custom_properties
            if k.startswith(prefix)}


def read(artifact) -> dict:
    """The gate's judgement as recorded on a ModelBlessing (an MLMD Artifact proto); a
    blessing from another producer reads as {"blessed": ..., "metrics": {}}."""
    values, lows, highs = (_by_prefix(artifact, p) for p in (METRIC, LOW, HIGH))
    diffs, diff_lows, diff_highs = (_by_prefix(artifact, p) for p in (DIFF, DIFF_LOW, DIFF_HIGH))
    refs, ref_lows, ref_highs = (_by_prefix(artifact, p) for p in (REFERENCE, REFERENCE_LOW, REFERENCE_HIGH))
    return {
        "blessed": _property(artifact, BLESSED) == 1,
        "kind": _property(artifact, KIND) or "binary",
        "model_id": _property(artifact, CURRENT_MODEL_ID),
        "baseline_model_id": _property(artifact, BASELINE_MODEL_ID),
        "examples": _property(artifact, EXAMPLES),
        "evaluation_rows": _property(artifact, EVAL_ROWS),
        "noise_floor": json.loads(_property(artifact, NOISE_FLOOR) or "null"),
        "positives": _property(artifact, POSITIVES),
        "newest_span": _property(artifact, NEWEST_SPAN),
        "newest_span_examples": _property(artifact, NEWEST_EXAMPLES),
        "confidence": _property(artifact, CONFIDENCE),
        "metrics": {m: {"value": v, "low": lows.get(m), "high": highs.get(m)} for m, v in values.items()},
        "diffs": {m: {"value": v, "low": diff_lows.get(m), "high": diff_highs.get(m)}
                  for m, v in diffs.items()},
        "trivial": json.loads(_property(artifact, TRIVIAL) or "null"),
        "baselines_required": _property(artifact, REQUIRED) != 0,
        "calibration_error": _property(artifact, CALIBRATION_ERROR),
        "operating_threshold": operating_point.recorded(artifact, OPERATING_POINT, THRESHOLD),
        "operating_point": json.loads(_property(artifact, OPERATING_POINT) or "null"),
        "baseline_threshold": operating_point.recorded(artifact, BASELINE_OPERATING_POINT, BASELINE_THRESHOLD),
        "reference": {m: {"value": v, "low": ref_lows.get(m), "high": ref_highs.get(m)} for m, v in refs.items()},
        "checks": json.loads(_property(artifact, CHECKS) or "[]"),
        "warnings": json.loads(_property(artifact, WARNINGS) or "[]"),
    }
