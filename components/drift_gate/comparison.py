"""Compares two datasets' statistics feature by feature against the schema's thresholds.

The same code serves drift (current span vs a baseline, `drift_comparator`) and
training-serving skew (serving data vs training data, `skew_comparator`).

What is missing is judged, not passed over: a feature with a threshold that the current
data lacks (no column, or no value in it) fails the comparison, and so does a column the
environment excludes (the label's outcome columns, in serving data). Data with no rows
cannot be compared at all.
"""
import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from components.drift_gate import distances
from components.errors import DataError

DRIFT = "drift_comparator"
SKEW = "skew_comparator"

OK, OVER, UNMONITORED, ABSENT = "ok", "over threshold", "not gated", "absent"
# A feature with a threshold that the current data lacks: judged as over it.
MISSING = "missing (has a threshold)"
# A column present in the current data that its environment excludes.
EXCLUDED = "excluded from this environment"
FAILING = (OVER, MISSING, EXCLUDED)


@dataclass
class FeatureDrift:
    name: str
    kind: str
    distance: Optional[float]
    threshold: Optional[float]
    verdict: str
    missing_current: float
    missing_baseline: float


@dataclass
class Comparison:
    comparator: str
    current_label: str
    baseline_label: str
    current_examples: int
    baseline_examples: int
    features: List[FeatureDrift] = field(default_factory=list)
    # num_examples_drift_comparator, when the schema sets one.
    examples_ratio: Optional[float] = None
    examples_bounds: Optional[tuple] = None
    examples_verdict: str = UNMONITORED

    @property
    def offending(self) -> List[FeatureDrift]:
        return [f for f in self.features if f.verdict in FAILING]

    @property
    def passed(self) -> bool:
        return not self.offending and self.examples_verdict != OVER

    def to_json(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        data["offending"] = [f.name for f in self.offending]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def by_feature(stats_lists) -> tuple:
    """({feature name: [FeatureNameStatistics per split]}, total examples) over all splits."""
    features: Dict[str, list] = {}
    examples = 0
    for stats in stats_lists:
        for dataset in stats.datasets:
            examples += dataset.num_examples
            for feature in dataset.features:
                name = feature.path.step[0] if feature.path.step else feature.name
                features.setdefault(name, []).append(feature)
    return features, examples


def _threshold(feature: schema_pb2.Feature, comparator: str) -> Optional[float]:
    if not feature.HasField(comparator):
        return None
    config = getattr(feature, comparator)
    return config.infinity_norm.threshold if config.HasField("infinity_norm") else None


def excluded(feature: schema_pb2.Feature, environment: Optional[str]) -> bool:
    """Whether the schema keeps `feature` out of `environment` (as TFDV reads it)."""
    if environment is None:
        return False
    if environment in feature.not_in_environment:
        return True
    return bool(feature.in_environment) and environment not in feature.in_environment


def features_in(schema: schema_pb2.Schema, environment: str) -> List[str]:
    """The names of the schema's features that `environment` has."""
    return [f.name for f in schema.feature if not excluded(f, environment)]


def compare(
    current: List[statistics_pb2.DatasetFeatureStatisticsList],
    baseline: List[statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema,
    comparator: str = DRIFT,
    current_label: str = "current",
    baseline_label: str = "baseline",
    environment: Optional[str] = None,
) -> Comparison:
    """Each schema feature's distance against its threshold. `environment` (e.g.
    "SERVING") names the schema environment the current data belongs to."""
    cur, cur_n = by_feature(current)
    base, base_n = by_feature(baseline)
    if cur_n == 0:
        raise DataError(f"{current_label}: no rows to compare (a header alone, or empty files)")
    result = Comparison(comparator, current_label, baseline_label, cur_n, base_n)
    for feature in schema.feature:
        threshold = _threshold(feature, comparator)
        c, b = cur.get(feature.name), base.get(feature.name)
        missing_c = _missing(c, cur_n)
        missing_b = _missing(b, base_n)
        if excluded(feature, environment):
            verdict = EXCLUDED if c and missing_c < 1.0 else UNMONITORED
            result.features.append(FeatureDrift(
                feature.name, _kind(feature), None, threshold, verdict, missing_c, missing_b))
            continue
        if not c or missing_c >= 1.0:
            verdict = ABSENT if threshold is None else MISSING
            result.features.append(FeatureDrift(
                feature.name, _kind(feature), None, threshold, verdict, missing_c, missing_b))
            continue
        if not b or missing_b >= 1.0:
            result.features.append(FeatureDrift(
                feature.name, _kind(feature), None, threshold, ABSENT, missing_c, missing_b))
            continue
        kind, distance = distances.feature_distance(c, b)
        if threshold is None:
            verdict = UNMONITORED
        else:
            verdict = OVER if distance > threshold else OK
        result.features.append(
            FeatureDrift(feature.name, kind, distance, threshold, verdict, missing_c, missing_b))

    if comparator == DRIFT and schema.dataset_constraints.HasField("num_examples_drift_comparator"):
        bounds = schema.dataset_constraints.num_examples_drift_comparator
        low = bounds.min_fraction_threshold if bounds.HasField("min_fraction_threshold") else None
        high = bounds.max_fraction_threshold if bounds.HasField("max_fraction_threshold") else None
        result.examples_bounds = (low, high)
        if base_n > 0:
            result.examples_ratio = cur_n / base_n
            too_low = low is not None and result.examples_ratio < low
            too_high = high is not None and result.examples_ratio > high
            result.examples_verdict = OVER if (too_low or too_high) else OK
    return result


def _missing(features, examples: int) -> float:
    """Share of examples without a value. CsvExampleGen writes an empty cell as a feature
    with no values, which TFDV does not count as missing, so examples that have a value
    are counted instead (exact for single-valued features, which all of ours are)."""
    if not features or examples <= 0:
        return 1.0
    with_value = 0
    for feature in features:
        common = distances.common_stats(feature)
        if common is not None:
            with_value += min(common.num_non_missing, common.tot_num_values)
    return max(0.0, 1.0 - with_value / float(examples))


def _kind(feature: schema_pb2.Feature) -> str:
    if feature.type == schema_pb2.BYTES or feature.int_domain.is_categorical:
        return "categorical"
    return "numeric"


def load_statistics(uri: str) -> List[statistics_pb2.DatasetFeatureStatisticsList]:
    """Every split's statistics under a TFX ExampleStatistics artifact directory."""
    import os

    from components import storage

    found = []
    for name in storage.listdir(uri):
        path = os.path.join(uri, name, "FeatureStats.pb")
        if name.startswith("Split-") and storage.exists(path):
            found.append(statistics_pb2.DatasetFeatureStatisticsList.FromString(storage.read_bytes(path)))
    if not found:
        raise FileNotFoundError(f"{uri}: no Split-*/FeatureStats.pb statistics")
    return found
