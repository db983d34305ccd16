"""Label consistency: categories in which the label cannot be what it claims to be.

A label that is (almost) constant within one value of a categorical feature, or whose
source column is (almost) always zero or missing there, is usually not a fact about the
world but about how the data was recorded: in the embedded sample a cash tip never
reaches the meter, so every cash ride reads "tip 0, not a big tipper". A model fitted to that
learns the recording, and its metrics measure it. This check finds such categories in
the raw data before training and names them with their counts, so a person can decide
what the label means there.

Plain Python and NumPy over columns, so it runs on the DriftGate's examples and on CSV
alike.
"""
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np


@dataclass
class Finding:
    feature: str
    value: str
    rows: int
    label_rate: float        # share of the value's rows with a positive label
    source_zero_rate: float  # share with the label's source column 0 or missing
    reason: str
    # Whether the value belongs to the population the model learns from.
    in_population: bool

    def text(self) -> str:
        where = "" if self.in_population else " (outside the observable population: not trained on)"
        return (f"{self.feature} = {self.value}: {self.rows:,} rows, label positive "
                f"{self.label_rate:.2%}, source 0 or missing {self.source_zero_rate:.2%}; "
                f"{self.reason}{where}")

    def to_json(self) -> dict:
        return asdict(self)


def check(categories: Dict[str, Sequence[str]], labels: np.ndarray, source: np.ndarray,
          min_rows: int, constant_share: float, in_population: Optional[np.ndarray] = None,
          source_name: str = "the label's source") -> List[Finding]:
    """`categories`: feature -> each row's value as text ("" when missing); `labels`: 0/1
    per row; `source`: the label's source column per row (NaN when missing);
    `in_population`: whether each row's label can be known (None: every row's can). A
    value is outside the population when none of its rows is in it.

    A value with at least `min_rows` rows is reported when its label rate is at most
    1 - constant_share or at least constant_share, or when its source is 0 or missing in
    at least constant_share of its rows."""
    labels = np.asarray(labels, dtype=np.float64)
    source = np.asarray(source, dtype=np.float64)
    zero = np.isnan(source) | (source == 0)
    in_population = (np.ones(labels.shape, dtype=bool) if in_population is None
                     else np.asarray(in_population, dtype=bool))
    found = []
    for feature, values in sorted(categories.items()):
        values = np.asarray(values, dtype=object)
        for value in sorted(set(values.tolist()) - {""}):
            rows = values == value
            n = int(rows.sum())
            if n < min_rows:
                continue
            rate = float(labels[rows].mean())
            zeros = float(zero[rows].mean())
            reasons = []
            if zeros >= constant_share:
                reasons.append(f"{source_name} is almost always 0 or missing here, so the label "
                               "says little about what happened")
            elif rate <= 1 - constant_share or rate >= constant_share:
                reasons.append("the label is almost constant here")
            if reasons:
                found.append(Finding(feature, str(value), n, rate, zeros, "; ".join(reasons),
                                     bool(in_population[rows].any())))
    return found
