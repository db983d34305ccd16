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

from tfx import types
from tfx.components.evaluator import executor as evaluator_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import artifact
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing

from components.model_gate import verdict
from components import storage
from components.examples_io import decode, input_hashes, raw_columns, records

BATCH = 1024
NOISE_FLOOR_CHUNK = 65536


class ModelPredictions(artifact.Artifact):
    """The predictions a ModelGate judged: one row per evaluation example."""

    TYPE_NAME = verdict.PREDICTIONS_TYPE


class _Scorer:
    """A SavedModel's signatures, called in batches of serialized examples."""

    def __init__(self, model: artifact.Artifact):
        import tensorflow as tf
        from tfx.utils import path_utils

        self.loaded = tf.saved_model.load(path_utils.serving_model_path(model.uri))

    def _batches(self, signature, records, keys):
        """{key: one value per record} of a signature's outputs, in one pass."""
        import numpy as np
        import tensorflow as tf

        function = self.loaded.signatures[signature]
        parts = {key: [] for key in keys}
        for start in range(0, len(records), BATCH):
            out = function(examples=tf.constant(records[start:start + BATCH]))
            for key in keys:
                parts[key].append(np.asarray(out[key]).reshape(-1))
        return {key: np.concatenate(found) if found else np.zeros(0) for key, found in parts.items()}

    def probabilities(self, records):
        return self._batches("serving_default", records, ["probabilities"])["probabilities"]

    def labels(self, records, settings):
        """(label, in the judged population) per record, from the transform graph."""
        import numpy as np

        weight_key = settings["weight_key"]
        found = self._batches("transform_features", records,
                              [settings["label_key"]] + ([weight_key] if weight_key else []))
        labels = found[settings["label_key"]].astype(np.int64)
        judged = found[weight_key] > 0 if weight_key else np.ones(labels.size, dtype=bool)
        return labels, judged


def _write_predictions(directory: str, columns: dict):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), buffer)
    storage.makedirs(directory)
    storage.write_bytes(os.path.join(directory, verdict.PREDICTIONS_FILE), buffer.getvalue().to_pybytes())


def _set_intervals(target, prefix_value, prefix_low, prefix_high, found):
    for name, interval in found.items():
        for prefix, value in ((prefix_value, interval.value), (prefix_low, interval.low),
                              (prefix_high, interval.high)):
            target.set_float_custom_property(prefix + name, float(value))


def _noise_floor(scorer: _Scorer, examples, settings, eval_keys, eval_labels, eval_judged) -> dict:
    """The noise floor over every split of the window, on the rows judged. The eval
    split's input hashes and labels come from the judgement; the train split is read in
    chunks, so memory stays flat however large the window."""
    import itertools

    import numpy as np

    from components.model_gate.noise_floor import noise_floor

    keys, labels = [eval_keys[eval_judged]], [eval_labels[eval_judged]]
    train = (record for _, record in records(examples, "train"))
    while True:
        chunk = list(itertools.islice(train, NOISE_FLOOR_CHUNK))
        if not chunk:
            break
        chunk_labels, judged = scorer.labels(chunk, settings)
        keys.append(input_hashes(decode(chunk), settings["model_inputs"])[judged])
        labels.append(chunk_labels[judged])
    return noise_floor(np.concatenate(keys).tolist(), np.concatenate(labels))


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
    }


class Executor(evaluator_executor.Executor):
    """The ModelGate's executor. It is an Evaluator executor by inheritance for one
    reason: TFX's Kubeflow v2 entrypoint turns a blessing's model ids into the runtime
    artifact names that KFP's latest-blessed-model resolver looks models up by, and it
    does so only for Evaluator executors (refactor_model_blessing). Nothing of TFMA's
    evaluation runs here."""

    def Do(self, input_dict, output_dict, exec_properties):
        judge(
            model=input_dict["model"][0],
            examples=input_dict["examples"],
            baseline_model=(input_dict.get("baseline_model") or [None])[0],
            blessing=output_dict["blessing"][0],
            predictions=output_dict["predictions"][0],
            rules=exec_properties["rules"],
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
            rules=rules, code_fingerprint=code_fingerprint))


def judge(model, examples, baseline_model, blessing, predictions, rules: str) -> None:
    import numpy as np

    from components.model_gate import decision, metrics

    settings = json.loads(rules)
    evaluated = list(records(examples, "eval"))
    spans = np.asarray([span for span, _ in evaluated], dtype=np.int64)
    serialized = [record for _, record in evaluated]
    candidate = _Scorer(model)
    labels, observable = candidate.labels(serialized, settings)
    scores = candidate.probabilities(serialized)
    baseline = (_Scorer(baseline_model).probabilities(serialized)
                if baseline_model is not None else None)

    decoded = decode(serialized)
    columns = {"span": spans, "label": labels, "observable": observable, "candidate": scores}
    if baseline is not None:
        columns["baseline"] = baseline
    # Every raw input, so that `driftline analyze` can slice by any of them.
    columns.update(raw_columns(decoded, list(dict.fromkeys(
        list(settings["slices"]) + list(settings.get("model_inputs", []))))))
    _write_predictions(predictions.uri, columns)
    floor = _noise_floor(candidate, examples, settings,
                         input_hashes(decoded, settings["model_inputs"]), labels, observable)

    # Judged on the rows whose label can be known (all rows when asked for every row).
    spans, labels, scores = spans[observable], labels[observable], scores[observable]
    if baseline is not None:
        baseline = baseline[observable]

    confidence, samples, seed = settings["confidence"], settings["samples"], settings["seed"]
    newest = int(spans.max()) if spans.size else -1
    rows = np.arange(labels.size)
    newest_rows = rows[spans == newest]
    resampled = metrics.resample_indices(labels.size, samples, seed)
    resampled_newest = metrics.resample_indices(newest_rows.size, samples, seed + 1)
    found = metrics.intervals(labels, scores, resampled, confidence)
    diffs = newest_diffs = None
    if baseline is not None:
        diffs = metrics.paired_differences(labels, scores, baseline, resampled, confidence)
        newest_diffs = metrics.paired_differences(
            labels[newest_rows], scores[newest_rows], baseline[newest_rows], resampled_newest, confidence)
    # Rules recorded before the slice gate existed lack its keys: their defaults apply.
    rules_of = decision.Rules(**{k: settings[k] for k in decision.Rules.__dataclass_fields__
                                 if k in settings})
    slice_diffs = None
    if baseline is not None and rules_of.max_slice_f1_drop is not None:
        from components.analysis import slices

        judged_columns = {name: np.asarray(columns[name])[observable] for name in settings["slices"]}
        slice_diffs = [(piece.name, diff) for piece, diff in slices.f1_drops(
            labels, scores, baseline, judged_columns, [(name,) for name in settings["slices"]],
            rules_of.min_slice_examples, confidence, samples, seed)]
    judged = decision.decide(rules_of, found, int(labels.size), diffs, newest, int(newest_rows.size),
                             newest_diffs, slice_diffs)

    blessing.set_int_custom_property(verdict.BLESSED, int(judged.blessed))
    blessing.set_int_custom_property(verdict.CURRENT_MODEL_ID, model.id)
    blessing.set_string_custom_property(verdict.CURRENT_MODEL, model.uri)
    if baseline_model is not None:
        blessing.set_int_custom_property(verdict.BASELINE_MODEL_ID, baseline_model.id)
        blessing.set_string_custom_property(verdict.BASELINE_MODEL, baseline_model.uri)
    blessing.set_int_custom_property(verdict.EXAMPLES, int(labels.size))
    blessing.set_int_custom_property(verdict.POSITIVES, int(labels.sum()))
    blessing.set_int_custom_property(verdict.NEWEST_SPAN, newest)
    blessing.set_int_custom_property(verdict.NEWEST_EXAMPLES, int(newest_rows.size))
    blessing.set_float_custom_property(verdict.CONFIDENCE, confidence)
    blessing.set_int_custom_property(verdict.EVAL_ROWS, int(observable.size))
    blessing.set_string_custom_property(verdict.NOISE_FLOOR, json.dumps(floor))
    blessing.set_string_custom_property(verdict.CHECKS, json.dumps([c.to_json() for c in judged.checks]))
    blessing.set_string_custom_property(verdict.WARNINGS, json.dumps(judged.warnings))
    _set_intervals(blessing, verdict.METRIC, verdict.LOW, verdict.HIGH, found)
    if diffs is not None:
        _set_intervals(blessing, verdict.DIFF, verdict.DIFF_LOW, verdict.DIFF_HIGH, diffs)

    report = {"decision": judged.to_json(), "examples": int(labels.size),
              "evaluation_rows": int(observable.size), "noise_floor": floor, "newest_span": newest,
              "newest_span_examples": int(newest_rows.size), "confidence": confidence,
              "bootstrap_samples": samples, "metrics": {k: v.to_json() for k, v in found.items()},
              "diffs": None if diffs is None else {k: v.to_json() for k, v in diffs.items()},
              "newest_span_diffs": None if newest_diffs is None else
              {k: v.to_json() for k, v in newest_diffs.items()}}
    storage.makedirs(blessing.uri)
    storage.write_text(os.path.join(blessing.uri, verdict.JUDGEMENT_FILE), json.dumps(report, indent=2))
    # The marker files TFX's own Evaluator writes, for tools that look for them.
    storage.write_text(os.path.join(blessing.uri, "BLESSED" if judged.blessed else "NOT_BLESSED"), "")
