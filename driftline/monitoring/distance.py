"""How far one set of predictions lies from another: the L-infinity distance between
their histograms, as prediction drift and the shadow's agreement measure it."""
import numpy as np

BINS = 10


def _histogram(values, edges=None) -> np.ndarray:
    if edges is None:
        counts, _ = np.histogram(np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0), bins=BINS,
                                 range=(0.0, 1.0))
    else:
        counts = np.bincount(np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="right"),
                             minlength=len(edges) + 1)
    return counts / max(1, counts.sum())


def prediction_distance(served, expected) -> float:
    """L-infinity distance between the served predictions' histogram and the evaluation
    split's: ten bins of [0, 1] for probabilities; for a regression model's numbers, the
    evaluation predictions' deciles as edges (each tenth of them in its own bin, and the
    served ones below the lowest or above the highest edge in bins of their own)."""
    expected = np.asarray(expected, dtype=np.float64)
    edges = None
    if expected.size and (expected.min() < 0 or expected.max() > 1):
        edges = np.unique(np.quantile(expected, np.linspace(0, 1, BINS + 1)))
    return float(np.max(np.abs(_histogram(served, edges) - _histogram(expected, edges))))
