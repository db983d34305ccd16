"""What both ModelGate executors (a classifier's, component.py; a regression task's,
regression_judge.py) share: a SavedModel scored in batches, the one pass over the train
split, and how predictions and intervals are written."""
import os
from dataclasses import dataclass

from components import storage
from components.examples_io import DECODE_CHUNK, decode, input_hashes, raw_columns, read_columns, records
from components.model_gate import verdict

BATCH = 1024


class Scorer:
    """A SavedModel's signatures, called in batches of serialized examples."""

    def __init__(self, model):
        import tensorflow as tf
        from tfx.utils import path_utils

        from components.model import operating_point

        directory = path_utils.serving_model_path(model.uri)
        self.loaded = tf.saved_model.load(directory)
        self.operating_point = operating_point.read(directory)

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

    def probabilities(self, records, output: str = "probabilities"):
        """The serving signature's answer per record: a probability, or for a regression
        task (`output` "predictions") the predicted number."""
        return self._batches("serving_default", records, [output])[output]

    def labels(self, records, settings):
        """(label, in the judged population) per record, from the transform graph."""
        import numpy as np

        weight_key = settings["weight_key"]
        found = self._batches("transform_features", records,
                              [settings["label_key"]] + ([weight_key] if weight_key else []))
        labels = found[settings["label_key"]].astype(
            np.float64 if settings.get("kind") == "regression" else np.int64)
        judged = found[weight_key] > 0 if weight_key else np.ones(labels.size, dtype=bool)
        return labels, judged


def write_predictions(directory: str, columns: dict):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), buffer)
    storage.makedirs(directory)
    storage.write_bytes(os.path.join(directory, verdict.PREDICTIONS_FILE), buffer.getvalue().to_pybytes())


def set_intervals(target, prefix_value, prefix_low, prefix_high, found):
    for name, interval in found.items():
        for prefix, value in ((prefix_value, interval.value), (prefix_low, interval.low),
                              (prefix_high, interval.high)):
            target.set_float_custom_property(prefix + name, float(value))


# The reference learner trains on at most this many train rows: enough to show what the
# inputs allow, bounded in time and memory however large the window.
REFERENCE_ROWS = 200_000


@dataclass
class Train:
    """What the gate reads from the train split: the noise floor, the base rate the
    constant predicts, and the rows the reference learner learns from."""
    floor: dict
    base_rate: float
    columns: dict
    labels: object


def read_train(scorer: Scorer, examples, settings, eval_keys, eval_labels, eval_judged) -> Train:
    """One pass over the window's train split, in chunks, so memory stays flat however
    large the window (the reference learner's rows are capped at REFERENCE_ROWS). The
    noise floor counts the judged rows of every split: the eval split's input hashes
    and labels come from the judgement."""
    import itertools

    import numpy as np

    from components.model_gate.noise_floor import noise_floor

    keys, labels = [eval_keys[eval_judged]], [eval_labels[eval_judged]]
    columns, kept = {name: [] for name in settings["model_inputs"]}, 0
    train = (record for _, record in records(examples, "train"))
    while True:
        chunk = list(itertools.islice(train, DECODE_CHUNK))
        if not chunk:
            break
        chunk_labels, judged = scorer.labels(chunk, settings)
        decoded = decode(chunk)
        keys.append(input_hashes(decoded, settings["model_inputs"])[judged])
        labels.append(chunk_labels[judged])
        take = np.flatnonzero(judged)[:max(0, REFERENCE_ROWS - kept)]
        if settings.get("reference", True) and take.size:
            for name, values in raw_columns(decoded, settings["model_inputs"]).items():
                columns[name].extend(values[i] for i in take)
            kept += take.size
    # labels[0] is the eval split's; the rest, chunk by chunk, the train split's.
    train_labels = np.concatenate(labels[1:]) if len(labels) > 1 else np.zeros(0, dtype=np.int64)
    base_rate = float(train_labels.mean()) if train_labels.size else 0.5
    # Rows that share every input but not the label bound a classifier's error; a number
    # differs between such rows by degree, which this count does not measure.
    floor = ({} if settings.get("kind") == "regression" else
             noise_floor(np.concatenate(keys), np.concatenate(labels)))
    return Train(floor, base_rate, columns, train_labels[:kept])




@dataclass
class Rows:
    """The evaluation rows as either gate scores them: every row of the eval splits, the
    ones whose label can be known marked `judged`, and the columns kept for analysis."""
    spans: object
    labels: object
    judged: object
    scores: object
    baseline: object          # the serving model's answers, or None
    columns: dict
    train: Train
    reference: object         # the reference learner's answers on the judged rows, or None
    candidate: Scorer
    serving: object           # the serving model's Scorer, or None


def score_rows(model, examples, baseline_model, settings, output: str = "probabilities") -> Rows:
    """The candidate, the serving model and the reference learner on the window's
    evaluation rows, with the labels from the candidate's own transform graph."""
    import numpy as np

    evaluated = list(records(examples, "eval"))
    spans = np.asarray([span for span, _ in evaluated], dtype=np.int64)
    serialized = [record for _, record in evaluated]
    candidate = Scorer(model)
    labels, judged = candidate.labels(serialized, settings)
    scores = candidate.probabilities(serialized, output)
    serving = Scorer(baseline_model) if baseline_model is not None else None
    baseline = serving.probabilities(serialized, output) if serving is not None else None
    columns = {"span": spans, "label": labels, "observable": judged, "candidate": scores}
    if baseline is not None:
        columns["baseline"] = baseline
    # Every raw input, so that `driftline analyze` can slice by any of them.
    raw, keys = read_columns(serialized, list(dict.fromkeys(
        list(settings["slices"]) + list(settings.get("model_inputs", [])))), settings["model_inputs"])
    columns.update(raw)
    train = read_train(candidate, examples, settings, keys, labels, judged)
    reference = None
    if settings.get("reference", True) and train.labels.size:
        from components.model_gate import reference as reference_learner

        learn = reference_learner.predictions if settings.get("kind") == "regression" else \
            reference_learner.probabilities
        reference = learn(train.columns, train.labels, {name: [v for v, keep in zip(columns[name], judged) if keep]
                                                        for name in settings["model_inputs"]}, settings["seed"])
    return Rows(spans, labels, judged, scores, baseline, columns, train, reference, candidate, serving)
