"""A rough floor under any model's error: rows that agree on every model input but
disagree on the label.

No model can tell such rows apart, so in each group of identical inputs at least the
minority label is an error whatever is predicted. Summed over groups, that is a lower
bound on the error rate on these rows (the seed's "irreducible error"), counted only
where inputs repeat exactly; with continuous inputs (fares, coordinates) most rows are
unique and the bound is loose, which the report says.
"""


def noise_floor(keys, labels) -> dict:
    """`keys`: one hash of each row's model inputs (equal inputs, equal hashes); `labels`:
    0/1 per row."""
    import numpy as np

    keys, labels = np.asarray(keys), np.asarray(labels, dtype=np.int64)
    _, group, counts = np.unique(keys, return_inverse=True, return_counts=True)
    positives = np.bincount(group, weights=labels, minlength=counts.size).astype(np.int64)
    negatives = counts - positives
    mixed = (positives > 0) & (negatives > 0)
    irreducible = int(np.minimum(positives, negatives)[mixed].sum())
    rows = int(keys.size)
    return {
        "rows": rows,
        "distinct_inputs": int(counts.size),
        "rows_with_repeated_inputs": int(counts[counts > 1].sum()),
        "conflicting_rows": int(counts[mixed].sum()),
        "irreducible_errors": irreducible,
        "min_error_rate": irreducible / rows if rows else 0.0,
    }
