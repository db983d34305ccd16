"""The noise floor counts rows whose inputs repeat with different labels."""
from collections import Counter

import numpy as np

from components.model_gate.noise_floor import noise_floor


def _by_hand(keys, labels):
    groups = {}
    for key, label in zip(keys, labels):
        groups.setdefault(key, Counter())[label] += 1
    mixed = [c for c in groups.values() if c[0] and c[1]]
    return {"distinct_inputs": len(groups),
            "rows_with_repeated_inputs": sum(sum(c.values()) for c in groups.values() if sum(c.values()) > 1),
            "conflicting_rows": sum(sum(c.values()) for c in mixed),
            "irreducible_errors": sum(min(c[0], c[1]) for c in mixed)}


def test_a_small_case_counted_by_hand():
    # Inputs 7: labels 1,0,0 (one error at least); 8: 1,1 (repeated, no conflict); 9: alone.
    found = noise_floor(np.array([7, 8, 7, 9, 7, 8], dtype=np.uint64), [1, 1, 0, 0, 0, 1])
    assert found == {"rows": 6, "distinct_inputs": 3, "rows_with_repeated_inputs": 5, "conflicting_rows": 3,
                     "irreducible_errors": 1, "min_error_rate": 1 / 6}


def test_random_hashes_agree_with_counting_groups():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**64 - 1, size=40, dtype=np.uint64)[rng.integers(0, 40, size=2000)]
    labels = rng.integers(0, 2, size=2000)
    found = noise_floor(keys, labels)
    expected = _by_hand(keys.tolist(), labels.tolist())
    assert {k: found[k] for k in expected} == expected
    assert found["min_error_rate"] == expected["irreducible_errors"] / 2000


def test_no_rows():
    assert noise_floor(np.zeros(0, dtype=np.uint64), [])["min_error_rate"] == 0.0
