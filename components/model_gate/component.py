"""ModelGate: decides whether the trained model may serve, and says why with intervals.

It scores the candidate and the serving model (when there is one) on the same
evaluation examples, the eval splits of every span in the training window, takes the
label from the candidate's own transform graph (the one definition of the label), and
judges them by components/model_gate/decision.py. Its ModelBlessing is what the Pusher
reads; the predictions it judged are kept as an artifact (one row per evaluation
example) for error analysis and for monitoring's prediction drift.

TFMA's Evaluator can run beside it (`[evaluation] tfma = true`) for sliced metrics that
TFMA's own tools read; the decision is made here because TFMA's thresholds compare point values, and a
decision on a few hundred examples needs the noise taken into account.
"""
import json
import os
from dataclasses import dataclass

from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import artifact
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing, ModelEvaluation

from components.model_gate import verdict
from components import storage

from components.model_gate.scoring import score_rows, set_intervals, write_predictions


class ModelPredictions(artifact.Artifact):
    """The predictions a ModelGate judged: one row per evaluation example."""

    TYPE_NAME = verdict.PREDICTIONS_TYPE


class ModelGateSpec(types.ComponentSpec):
    PARAMETERS = {
        # JSON: the Rules of decision.py plus "samples", "seed", "label_key", "weight_key",
        # "slices" and "model_inputs" (pipeline/graph.py: gate_rules).
        "rules": ExecutionParameter(type=str),
        # Not read here: a hash of the gate's code, so that TFX's cache notices a code change.
        "code_fingerprint": ExecutionParameter(type=str),
    }
    INPUTS = {
        "model": ChannelParameter(type=Model),
        "examples": ChannelParameter(type=Examples),
        "baseline_model": ChannelParameter(type=Model, optional=True),
    }
    OUTPUTS = {
        "blessing": ChannelParameter(type=ModelBlessing),
        "predictions": ChannelParameter(type=ModelPredictions),
        # TFMA's format (tfma_format.py): what TFX's Evaluator would write, from the same rows.
        "evaluation": ChannelParameter(type=ModelEvaluation),
    }


class Executor(evaluator_executor.Executor):
    """The ModelGate's executor. It is an Evaluator executor by inheritance for one
    reason: TFX's Kubeflow v2 entrypoint turns a blessing's model ids into the runtime
    artifact names that KFP's latest-blessed-model resolver looks models up by, and it
    does so only for Evaluator executors (refactor_model_blessing). TFMA's Beam
    evaluation does not run here: the gate writes its evaluation in TFMA's format from
    the rows it scored (tfma_format.py)."""

    def Do(self, input_dict, output_dict, exec_properties):
        judge(
            model=input_dict["model"][0],
            examples=input_dict["examples"],
            baseline_model=(input_dict.get("baseline_model") or [None])[0],
            blessing=output_dict["blessing"][0],
            predictions=output_dict["predictions"][0],
            rules=exec_properties["rules"],
            evaluation=output_dict["evaluation"][0],
        )


class ModelGate(base_beam_component.BaseBeamComponent):
    """Judges the trained model against floors and the serving model (decision.py). A
    Beam component only because its executor is an Evaluator executor (see Executor)."""

    SPEC_CLASS = ModelGateSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, model, examples, rules: str, code_fingerprint: str, baseline_model=None):
        super().__init__(spec=ModelGateSpec(
            model=model, examples=examples, baseline_model=baseline_model,
            blessing=types.Channel(type=ModelBlessing),
            predictions=types.Channel(type=ModelPredictions),
            evaluation=types.Channel(type=ModelEvaluation),
            rules=rules, code_fingerprint=code_fingerprint))


@dataclass
class _Scored:
    """The evaluation rows as the gate judges them: labels, the models' scores (the
    candidate, the serving model, the reference learner), and the columns written for
    `driftline analyze`."""
    spans: object
    labels: object
    observable: object
    scores: object
    baseline: object          # None without a serving model
    columns: dict
    floor: dict
    base_rate: float
    reference: object = None  # on the judged rows only; None when off
    # Each model's operating point (components/model/operating_point.py): the candidate's,
    # and the serving model's (None without one).
    point: object = None
    baseline_point: object = None

    @property
    def thresholds(self):
        return (self.point.threshold,
                self.baseline_point.threshold if self.baseline_point is not None else self.point.threshold)


@dataclass
class _Measured:
    """Metrics with intervals, overall and on the newest span, against the baseline."""
    found: dict
    diffs: object
    newest: int
    newest_rows: object
    newest_diffs: object
    slice_diffs: object
    examples: int
    trivial: object = None
    reference: object = None  # the reference learner's intervals, or None
    calibration_error: float = float("nan")


def judge(model, examples, baseline_model, blessing, predictions, rules: str, evaluation=None) -> None:
    """Scores, measures, decides and records: the ModelGate's executor, in that order."""
    from components.model_gate import decision

    settings = json.loads(rules)
    if settings.get("kind") == "regression":
        from components.model_gate import regression_judge

        regression_judge.judge(model, examples, baseline_model, blessing, predictions, settings)
        return
    scored = _score(model, examples, baseline_model, settings)
    write_predictions(predictions.uri, scored.columns)
    # Rules recorded before the slice gate existed lack its keys: their defaults apply.
    rules_of = decision.Rules(**{k: settings[k] for k in decision.Rules.__dataclass_fields__
                                 if k in settings})
    measured = _measure(scored, settings, rules_of)
    judged = decision.decide(rules_of, measured.found, measured.examples, measured.diffs, measured.newest,
                             int(measured.newest_rows.size), measured.newest_diffs, measured.slice_diffs,
                             measured.trivial)
    _record(blessing, model, baseline_model, scored, measured, judged, settings)
    if evaluation is not None:
        _write_evaluation(evaluation, model, examples, scored, measured, settings)


def _write_evaluation(evaluation, model, examples, scored: _Scored, measured: _Measured, settings):
    """The judged rows' metrics, overall and per slice feature, in TFMA's format."""
    import numpy as np

    from components.model_gate import tfma_format

    keep = scored.observable
    threshold = scored.point.threshold
    columns = {name: np.asarray(scored.columns[name], dtype=object)[keep] for name in settings["slices"]}
    records = tfma_format.slice_records(scored.labels[keep], scored.scores[keep], columns, threshold,
                                        measured.found)
    tfma_format.write(evaluation.uri, tfma_format.eval_config(settings["label_key"], settings["slices"], threshold),
                      ",".join(e.uri for e in examples), model.uri, records)


def _score(model, examples, baseline_model, settings) -> _Scored:
    rows = score_rows(model, examples, baseline_model, settings)
    return _Scored(rows.spans, rows.labels, rows.judged, rows.scores, rows.baseline, rows.columns, rows.train.floor,
                   rows.train.base_rate, rows.reference, rows.candidate.operating_point,
                   rows.serving.operating_point if rows.serving else None)


def _measure(scored: _Scored, settings, rules_of) -> _Measured:
    import numpy as np

    from components.model_gate import metrics

    # Judged on the rows whose label can be known (all rows when asked for every row).
    keep = scored.observable
    spans, labels, scores = scored.spans[keep], scored.labels[keep], scored.scores[keep]
    baseline = scored.baseline[keep] if scored.baseline is not None else None
    confidence, samples, seed = settings["confidence"], settings["samples"], settings["seed"]
    newest = int(spans.max()) if spans.size else -1
    newest_rows = np.arange(labels.size)[spans == newest]
    resampled = metrics.Resamples(labels.size, samples, seed)
    resampled_newest = metrics.Resamples(newest_rows.size, samples, seed + 1)
    threshold = scored.point.threshold
    found = metrics.intervals(labels, scores, resampled, confidence, threshold)
    trivial = _trivial(labels, scores, scored.base_rate, resampled, confidence, threshold)
    # The reference learner decides at its own best: its F1 is not what it is shown for.
    reference = (metrics.intervals(labels, scored.reference, resampled, confidence)
                 if scored.reference is not None else None)
    diffs = newest_diffs = slice_diffs = None
    if baseline is not None:
        diffs = metrics.paired_differences(labels, scores, baseline, resampled, confidence, scored.thresholds)
        newest_diffs = metrics.paired_differences(
            labels[newest_rows], scores[newest_rows], baseline[newest_rows], resampled_newest, confidence,
            scored.thresholds)
        if rules_of.max_slice_f1_drop is not None:
            from components.analysis import slices

            judged_columns = {name: np.asarray(scored.columns[name])[keep] for name in settings["slices"]}
            slice_diffs = [(piece.name, diff) for piece, diff in slices.f1_drops(
                labels, scores, baseline, judged_columns, [(name,) for name in settings["slices"]],
                rules_of.min_slice_examples, confidence, samples, seed, scored.thresholds)]
    return _Measured(found, diffs, newest, newest_rows, newest_diffs, slice_diffs, int(labels.size), trivial,
                     reference, metrics.calibration_error(labels, scores))


def _trivial(labels, scores, base_rate: float, resampled, confidence: float, threshold: float):
    """The constant predictor (the training base rate for every row) and always "yes",
    on the same resampled rows as the candidate (deciding at its `threshold`)."""
    import numpy as np

    from components.model_gate import metrics
    from components.model_gate.decision import Trivial

    constant = np.full(labels.size, base_rate)
    yes = np.ones(labels.size)
    # Always "yes" answers yes at any threshold; the constant's probabilities are compared.
    lift = metrics.paired_differences(labels, scores, constant, resampled, confidence, (threshold, threshold))
    f1_lift = metrics.paired_differences(labels, scores, yes, resampled, confidence,
                                         (threshold, metrics.THRESHOLD))["f1_score"]
    return Trivial(base_rate, metrics.all_metrics(labels, constant),
                   {m: lift[m] for m in ("auc", "log_loss", "brier")},
                   metrics.all_metrics(labels, yes)["f1_score"], f1_lift)


def _record(blessing, model, baseline_model, scored: _Scored, measured: _Measured, judged, settings):
    """The verdict as the blessing's properties (what MLMD and the views read), its
    report file, and TFX's BLESSED / NOT_BLESSED marker."""
    confidence = settings["confidence"]
    labels = scored.labels[scored.observable]
    blessing.set_int_custom_property(verdict.BLESSED, int(judged.blessed))
    blessing.set_int_custom_property(verdict.CURRENT_MODEL_ID, model.id)
    blessing.set_string_custom_property(verdict.CURRENT_MODEL, model.uri)
    if baseline_model is not None:
        blessing.set_int_custom_property(verdict.BASELINE_MODEL_ID, baseline_model.id)
        blessing.set_string_custom_property(verdict.BASELINE_MODEL, baseline_model.uri)
    blessing.set_int_custom_property(verdict.EXAMPLES, measured.examples)
    blessing.set_int_custom_property(verdict.POSITIVES, int(labels.sum()))
    blessing.set_int_custom_property(verdict.NEWEST_SPAN, measured.newest)
    blessing.set_int_custom_property(verdict.NEWEST_EXAMPLES, int(measured.newest_rows.size))
    blessing.set_float_custom_property(verdict.CONFIDENCE, confidence)
    blessing.set_int_custom_property(verdict.EVAL_ROWS, int(scored.observable.size))
    blessing.set_string_custom_property(verdict.NOISE_FLOOR, json.dumps(scored.floor))
    blessing.set_string_custom_property(verdict.CHECKS, json.dumps([c.to_json() for c in judged.checks]))
    blessing.set_string_custom_property(verdict.WARNINGS, json.dumps(judged.warnings))
    set_intervals(blessing, verdict.METRIC, verdict.LOW, verdict.HIGH, measured.found)
    if measured.diffs is not None:
        set_intervals(blessing, verdict.DIFF, verdict.DIFF_LOW, verdict.DIFF_HIGH, measured.diffs)
    blessing.set_string_custom_property(verdict.TRIVIAL, json.dumps(measured.trivial.to_json()))
    blessing.set_int_custom_property(verdict.REQUIRED, int(settings.get("beat_constant", True)))
    blessing.set_float_custom_property(verdict.CALIBRATION_ERROR, measured.calibration_error)
    blessing.set_float_custom_property(verdict.THRESHOLD, scored.point.threshold)
    blessing.set_string_custom_property(verdict.OPERATING_POINT, scored.point.to_json())
    if scored.baseline_point is not None:
        blessing.set_float_custom_property(verdict.BASELINE_THRESHOLD, scored.baseline_point.threshold)
        blessing.set_string_custom_property(verdict.BASELINE_OPERATING_POINT, scored.baseline_point.to_json())
    if measured.reference is not None:
        set_intervals(blessing, verdict.REFERENCE, verdict.REFERENCE_LOW, verdict.REFERENCE_HIGH,
                       measured.reference)

    def as_json(found):
        return None if found is None else {k: v.to_json() for k, v in found.items()}

    report = {"decision": judged.to_json(), "examples": measured.examples,
              "evaluation_rows": int(scored.observable.size), "noise_floor": scored.floor,
              "newest_span": measured.newest, "newest_span_examples": int(measured.newest_rows.size),
              "confidence": confidence, "bootstrap_samples": settings["samples"],
              "metrics": as_json(measured.found), "diffs": as_json(measured.diffs),
              "newest_span_diffs": as_json(measured.newest_diffs),
              "trivial": measured.trivial.to_json(), "reference": as_json(measured.reference),
              "calibration_error": measured.calibration_error,
              "operating_point": json.loads(scored.point.to_json()),
              "baseline_threshold": scored.baseline_point.threshold if scored.baseline_point else None}
    storage.makedirs(blessing.uri)
    storage.write_text(os.path.join(blessing.uri, verdict.JUDGEMENT_FILE), json.dumps(report, indent=2))
    # The marker files TFX's own Evaluator writes, for tools that look for them.
    storage.write_text(os.path.join(blessing.uri, "BLESSED" if judged.blessed else "NOT_BLESSED"), "")
