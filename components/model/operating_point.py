"""The model's operating threshold: the probability at or above which it answers "yes".

It is chosen once, by the Trainer, on the held-out part of the train split (rows the
ModelGate never judges), so that the gate's F1 is not measured on the rows the threshold
was fitted to. It travels inside the SavedModel (`FILE`, under assets.extra, which a push
copies with the model and TF Serving ignores) and is recorded on the Model artifact in
MLMD (`PROPERTY`). Every reader that turns a probability into a decision reads it from
there: the gate's F1, precision and recall, `:classify` in the server, online F1 in
monitoring and the canary's analysis, `driftline analyze`.

Plain Python and NumPy: readers that never load TensorFlow (monitoring) use it too.
"""
import json
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from components.properties import custom_property

FILE = "assets.extra/driftline_operating_point.json"
PROPERTY = "operating_threshold"
DETAILS = "operating_point"
# A model without a chosen threshold (pushed before it was chosen, or from a holdout
# with one class only) decides at one half.
DEFAULT = 0.5
RULES = ("f1", "precision", "recall", "fixed")


@dataclass
class OperatingPoint:
    threshold: float
    rule: str                  # "f1", "precision", "recall", or "default"
    target: Optional[float]    # the precision or recall asked for
    rows: int                  # the held-out rows it was chosen on
    precision: float = float("nan")
    recall: float = float("nan")
    f1_score: float = float("nan")
    note: str = ""

    def text(self) -> str:
        if self.rule == "default":
            return f"{self.threshold:.3f} (the default: {self.note})" if self.note else f"{self.threshold:.3f}"
        if self.rule == "fixed":
            return (f"{self.threshold:.3f} (fixed by the config; on {self.rows:,} held-out train rows: precision "
                    f"{self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1_score:.3f})")
        asked = ("the best F1" if self.rule == "f1" else
                 f"{self.rule} >= {self.target:g} with the most {'recall' if self.rule == 'precision' else 'precision'}")
        return (f"{self.threshold:.3f} ({asked} on {self.rows:,} held-out train rows: precision "
                f"{self.precision:.3f}, recall {self.recall:.3f}, F1 {self.f1_score:.3f}"
                + (f"; {self.note}" if self.note else "") + ")")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> "OperatingPoint":
        return OperatingPoint(**json.loads(text))


def curve(labels: np.ndarray, scores: np.ndarray):
    """Each distinct score as a threshold (`score >= t` answers "yes"), highest first, with
    the true and false positives it gives: the precision-recall curve's points."""
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], labels[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1]
    tp = np.cumsum(hits)[last_of_run]
    fp = (last_of_run + 1) - tp
    return ranked[last_of_run], tp.astype(np.float64), fp.astype(np.float64)


def choose(labels, scores, rule: str = "f1", target: Optional[float] = None) -> OperatingPoint:
    """The threshold `rule` asks for on these rows: "fixed" `target` itself (its
    precision, recall and F1 here are reported); "f1" the best F1; "precision" the
    lowest threshold whose precision reaches `target` (the most recall at that
    precision); "recall" the one of those whose recall reaches `target` with the best
    precision. A target no
    threshold reaches falls back to the best F1, and says so."""
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if rule == "fixed":
        found = _at(labels, scores, float(target))
        return OperatingPoint(float(target), rule, target, int(labels.size), found["precision"], found["recall"],
                              found["f1_score"])
    positives = int(labels.sum())
    if positives == 0 or positives == labels.size:
        return OperatingPoint(DEFAULT, "default", target, int(labels.size),
                              note=f"the {labels.size} held-out rows hold one class only")
    thresholds, tp, fp = curve(labels, scores)
    precision = tp / (tp + fp)
    recall = tp / positives
    f1 = 2 * tp / (tp + fp + positives)
    note = ""
    if rule == "precision":
        reached = np.flatnonzero(precision >= target)
        pick = int(reached.max()) if reached.size else None
    elif rule == "recall":
        # Precision is not monotone in the threshold: the best of those that reach.
        reached = np.flatnonzero(recall >= target)
        pick = int(reached[np.argmax(precision[reached])]) if reached.size else None
    else:
        pick = None
    if pick is None:
        if rule != "f1":
            note = f"no threshold reaches {rule} {target:g} on these rows: the best F1 instead"
        # Ties go to the highest threshold: the fewest "yes" answers for the same F1.
        pick = int(np.argmax(f1))
    if tp[pick] + fp[pick] == labels.size and not note:
        note = ("it answers \"yes\" for every held-out row: on these labels nothing beats that on F1; "
                "a precision target chooses a threshold that tells rows apart")
    return OperatingPoint(float(thresholds[pick]), rule, target, int(labels.size), float(precision[pick]),
                          float(recall[pick]), float(f1[pick]), note)


def _at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    predicted = scores >= threshold
    tp, fp = int(np.sum(predicted & labels)), int(np.sum(predicted & ~labels))
    positives = int(labels.sum())
    return {"precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / positives if positives else float("nan"),
            "f1_score": 2 * tp / (tp + fp + positives) if tp + fp + positives else float("nan")}


def read(model_dir: str) -> OperatingPoint:
    """The operating point a SavedModel directory carries (the default when it has none)."""
    path = f"{str(model_dir).rstrip('/')}/{FILE}"
    try:
        if "://" in path:
            import tensorflow as tf

            if not tf.io.gfile.exists(path):
                raise FileNotFoundError(path)
            with tf.io.gfile.GFile(path) as f:
                text = f.read()
        else:
            with open(path) as f:
                text = f.read()
    except FileNotFoundError:
        return OperatingPoint(DEFAULT, "default", None, 0, note="the model carries no chosen threshold")
    return OperatingPoint.from_json(text)


def recorded(item, details: str = DETAILS, rounded: str = PROPERTY) -> Optional[float]:
    """The threshold an MLMD artifact records (a Model, or a blessing under its own
    keys); None when it records none. Read from the JSON of how it was chosen, which
    holds it exactly: MLMD's SQLite store keeps a double property to about six digits,
    and the server decides at the exact value. The double for older records."""
    text = custom_property(item, details)
    return OperatingPoint.from_json(text).threshold if text else custom_property(item, rounded)


def of_artifact(model) -> float:
    """The threshold recorded on a Model artifact in MLMD (a TFX Artifact or an MLMD
    proto); the default for a model recorded before thresholds were chosen."""
    threshold = recorded(getattr(model, "mlmd_artifact", model))
    return DEFAULT if threshold is None else float(threshold)
