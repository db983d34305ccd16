"""The reference learner: what the inputs allow, estimated by a fast model of another
family (gradient-boosted trees, scikit-learn's HistGradientBoosting) trained on the same
train rows the candidate learned from and scored on the same rows the gate judges.

It informs and never blesses: the distance from the candidate to it is the part of the
error a better model could still remove ("estimate the Bayes error before chasing it").
It reads the raw values as text, as the gate has them: a column whose every non-empty
value is a number is numeric, any other is categorical (codes from the train rows; a
value unseen there is missing)."""
from typing import Dict, List, Sequence

import numpy as np

# scikit-learn's categorical support takes at most this many categories per feature: the
# rarest beyond it share the missing slot.
MAX_CATEGORIES = 255


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _encode(train: Sequence[str], judged: Sequence[str]):
    """(train column, judged column, categorical?) as floats with NaN for missing."""
    present = [v for v in train if v != ""]
    if all(_is_number(v) for v in present):
        def number(values):
            return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)

        return number(train), number(judged), False
    values, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
    kept = values[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]
    codes = {v: float(i) for i, v in enumerate(sorted(kept))}

    def coded(column):
        return np.array([codes.get(v, np.nan) for v in column], dtype=np.float64)

    return coded(train), coded(judged), True


def _matrices(train_columns: Dict[str, List[str]], judged_columns: Dict[str, List[str]]):
    """(train matrix, judged matrix, which columns are categorical)."""
    names = sorted(train_columns)
    encoded = [_encode(train_columns[n], judged_columns[n]) for n in names]
    return (np.column_stack([e[0] for e in encoded]), np.column_stack([e[1] for e in encoded]),
            np.array([e[2] for e in encoded]))


def _one_thread():
    """scikit-learn's OpenMP held to one thread. When every core is busy (the pipeline's
    other work, another process), OpenMP's threads spin waiting for each other and a fit
    takes many times longer than alone; one thread loses little on these fits."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


# The same settings for either task: a slow learning rate stopped early on a tenth.
SETTINGS = dict(learning_rate=0.05, max_iter=300, early_stopping=True, validation_fraction=0.1,
                n_iter_no_change=20, l2_regularization=1.0)


def probabilities(train_columns: Dict[str, List[str]], train_labels, judged_columns: Dict[str, List[str]],
                  seed: int) -> np.ndarray:
    """The reference learner's probability of the positive class for each judged row."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    train, judged, categorical = _matrices(train_columns, judged_columns)
    labels = np.asarray(train_labels, dtype=np.int64)
    if np.unique(labels).size < 2:
        return np.full(judged.shape[0], float(labels.mean()) if labels.size else 0.5)
    model = HistGradientBoostingClassifier(categorical_features=categorical, random_state=seed, **SETTINGS)
    with _one_thread():
        return model.fit(train, labels).predict_proba(judged)[:, 1]


def predictions(train_columns: Dict[str, List[str]], train_labels, judged_columns: Dict[str, List[str]],
                seed: int) -> np.ndarray:
    """The reference learner's predicted number for each judged row (a regression task)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    train, judged, categorical = _matrices(train_columns, judged_columns)
    labels = np.asarray(train_labels, dtype=np.float64)
    if labels.size < 2:
        return np.full(judged.shape[0], float(labels.mean()) if labels.size else 0.0)
    model = HistGradientBoostingRegressor(categorical_features=categorical, random_state=seed, **SETTINGS)
    with _one_thread():
        return model.fit(train, labels).predict(judged)
