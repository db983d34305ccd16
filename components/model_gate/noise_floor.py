"""A rough floor under any model's error: rows that agree on every model input but
disagree on the label.

No model can tell such rows apart, so in each group of identical inputs at least the
minority label is an error whatever is predicted. Summed over groups, that is a lower
bound on the error rate on these rows (the seed's "irreducible error"), counted only
where inputs repeat exactly; with continuous inputs (fares, coordinates) most rows are
unique and the bound is loose, which the report says.
"""
from collections import defaultdict
from typing import Sequence


def noise_floor(keys: Sequence[tuple], labels: Sequence[int]) -> dict:
    """`keys`: each row's model inputs as a hashable tuple; `labels`: 0/1 per row."""
    counts = defaultdict(lambda: [0, 0])
    for key, label in zip(keys, labels):
        counts[key][int(label)] += 1
    rows = len(keys)
    mixed = [c for c in counts.values() if c[0] and c[1]]
    irreducible = sum(min(c) for c in mixed)
    repeated = sum(sum(c) for c in counts.values() if sum(c) > 1)
    return {
        "rows": rows,
        "distinct_inputs": len(counts),
        "rows_with_repeated_inputs": repeated,
        "conflicting_rows": sum(sum(c) for c in mixed),
        "irreducible_errors": irreducible,
        "min_error_rate": irreducible / rows if rows else 0.0,
    }
