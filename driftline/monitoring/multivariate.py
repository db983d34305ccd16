"""Multivariate drift by a domain classifier: a small model trained to tell the
reference rows (the served version's evaluation rows) from the window's rows.

Per-feature distances see each marginal alone, so they miss a change in how features go
together (fares swapped between short and long trips keep both marginals) and alarm on
moves that do not matter together. A classifier that can tell the two samples apart
sees both: on rows of one distribution its cross-validated AUC is near 0.5 and on rows
that differ it rises. The interval is a bootstrap over the out-of-fold scores; a window is
over the threshold when the whole interval is, as other alarms here are beyond noise.
The features it relied on are those whose values, shuffled within the held-out folds,
cost it the most AUC.
"""
from typing import Dict, List, Optional

import numpy as np

FOLDS = 5
MIN_ROWS = 50          # a window smaller than this is not judged: too few rows per fold to learn from
MAX_ROWS = 2000        # per side: the reference is sampled down to the window's size and to this
INTERVAL_SAMPLES = 300
RELIED_ON = 0.01       # AUC lost when a feature is shuffled, to name it (and at least the interval's half-width)
CATEGORIES = 250
SIGNIFICANT = 6        # digits of a number compared       # a text feature with more values than this is ranked, not treated as categories


def _numbers(values: list) -> Optional[np.ndarray]:
    """The texts as floats (NaN when empty), or None when any is not a number. Rounded to
    SIGNIFICANT digits: the evaluation rows carry a float32's digits, the request log the
    number as the server wrote it and a data file its own, and the classifier would
    otherwise tell them apart by the last digits alone."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value in ("", None):
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            return None
    return _rounded(out)


def _rounded(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(x)))
    scale = np.power(10.0, SIGNIFICANT - 1 - np.where(np.isfinite(magnitude), magnitude, 0))
    return np.round(x * scale) / scale


def _codes(values: list, order: Dict[str, int]) -> np.ndarray:
    return np.asarray([order.get(v, np.nan) if v not in ("", None) else np.nan for v in values], dtype=float)


def encode(reference: Dict[str, list], current: Dict[str, list], features: List[str]):
    """(matrix of reference rows then current rows, which columns are categorical)."""
    columns, categorical = [], []
    for name in features:
        both = [str(v) if v is not None else "" for v in reference[name]] + \
               [str(v) if v is not None else "" for v in current[name]]
        numbers = _numbers(both)
        if numbers is not None:
            columns.append(numbers)
            categorical.append(False)
            continue
        seen, counts = np.unique([v for v in both if v], return_counts=True)
        order = {v: i for i, v in enumerate(seen[np.argsort(-counts, kind="stable")])}
        columns.append(_codes(both, order))
        categorical.append(len(order) <= CATEGORIES)
    return np.column_stack(columns), np.asarray(categorical)


def _sampled(table, rows: int, rng) -> Dict[str, list]:
    """At most `rows` of the table's rows (column -> values): a dict of lists, or a
    pyarrow Table, sampled before it is copied into Python values."""
    arrow = hasattr(table, "take")
    size = table.num_rows if arrow else len(next(iter(table.values())))
    if size <= rows:
        return table.to_pydict() if arrow else table
    keep = np.sort(rng.choice(size, rows, replace=False))
    if arrow:
        return table.take(keep).to_pydict()
    return {name: [values[i] for i in keep] for name, values in table.items()}


def _model(categorical, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, learning_rate=0.1,
                                          categorical_features=categorical if categorical.any() else None,
                                          early_stopping=False, random_state=seed)


def _out_of_fold(x, y, categorical, seed: int):
    """(out-of-fold scores, [(held-out rows, fitted model)])."""
    from sklearn.model_selection import StratifiedKFold

    scores = np.empty(y.size)
    fitted = []
    for train, held in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y):
        model = _model(categorical, seed).fit(x[train], y[train])
        scores[held] = model.predict_proba(x[held])[:, 1]
        fitted.append((held, model))
    return scores, fitted


def _reliance(x, y, fitted, features: List[str], base: float, seed: int) -> List[dict]:
    """Each feature's AUC lost when its values are shuffled within each held-out fold."""
    from components.model_gate import metrics

    rng = np.random.default_rng(seed)
    found = []
    for column, name in enumerate(features):
        scores = np.empty(y.size)
        for held, model in fitted:
            shuffled = x[held].copy()
            shuffled[:, column] = rng.permutation(shuffled[:, column])
            scores[held] = model.predict_proba(shuffled)[:, 1]
        found.append({"name": name, "auc_lost": float(base - metrics.auc(y, scores))})
    return sorted(found, key=lambda f: -f["auc_lost"])


def domain_classifier(reference, current, features: List[str], seed: int, confidence: float) -> dict:
    """{"auc": {"value", "low", "high"}, "rows": {...}, "features": [{"name", "auc_lost"}],
    "relied_on": [names]}: how well the window's rows are told from the reference's.
    `reference`, `current`: column -> values, as dicts of lists or pyarrow Tables."""
    from components.model_gate import metrics

    rng = np.random.default_rng(seed)
    current = _sampled(current, MAX_ROWS, rng)
    size = len(next(iter(current.values())))
    reference = _sampled(reference, min(MAX_ROWS, max(size, 1)), rng)
    from threadpoolctl import threadpool_limits

    x, categorical = encode(reference, current, features)
    y = np.concatenate([np.zeros(len(reference[features[0]])), np.ones(size)])
    # On a few thousand rows, starting OpenMP threads costs more than the trees do, and
    # the monitor shares its machine with the server it watches: one thread.
    with threadpool_limits(1):
        scores, fitted = _out_of_fold(x, y, categorical, seed)
        value = float(metrics.auc(y, scores))
        ranked = _reliance(x, y, fitted, features, value, seed)
    drawn = np.asarray([metrics.auc(y[i], scores[i])
                        for i in metrics.Resamples(y.size, INTERVAL_SAMPLES, seed)])
    low, high = metrics.percentiles(drawn[np.isfinite(drawn)], confidence)
    return {"auc": {"value": value, "low": float(low), "high": float(high)},
            "rows": {"reference": int((y == 0).sum()), "window": int(size)}, "features": ranked,
            # A feature is named only when shuffling it costs more than the AUC's own noise.
            "relied_on": [f["name"] for f in ranked if f["auc_lost"] >= max(RELIED_ON, (high - low) / 2)][:5]}


def verdict(found: dict, threshold: float) -> str:
    return "over threshold" if found["auc"]["low"] > threshold else "within threshold"
