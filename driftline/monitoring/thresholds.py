"""Drift thresholds that adapt to what has been normal: `driftline monitor
suggest-thresholds`.

The history of a feature's drift distances comes from two places: every pair of
consecutive spans in the data root (computed here, in memory), and every monitoring
pass in MLMD (the window against the one before), leaving out the passes that raised an
alarm for that feature: those are what the threshold exists to catch, not what is
normal. The suggestion is a high percentile of that history plus a margin, rounded up
to a hundredth, and never below the largest distance seen between two spans: that move
happened in the data, so a threshold under it would call normal data drift.

A feature keeps its threshold until its history holds MIN_HISTORY distances, at least
MIN_SPAN_PAIRS of them between spans: monitoring windows alone (requests resent, or one
day's traffic) show how alike neighbouring windows are, not how far the data moves.
Only features the schema already gives a drift_comparator are adjusted.
"""
from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from driftline.schema.update import ceil_to

PERCENTILE = 95
MARGIN = 0.25
MIN_HISTORY = 3
MIN_SPAN_PAIRS = 1
FLOOR = 0.01


@dataclass
class Suggestion:
    feature: str
    current: float
    proposed: float
    reasoning: str
    distances: List[float] = field(default_factory=list)


def span_distances(config, schema) -> Dict[str, List[tuple]]:
    """feature -> [(source, distance)] for each pair of consecutive spans."""
    from driftline.data import drift as span_drift
    from pipeline.spans import find_spans

    spans = sorted(find_spans(config.data_root))
    tables = {s: span_drift.read_span_table(config.data_root, s) for s in spans}
    found: Dict[str, List[tuple]] = {}
    for before, after in zip(spans, spans[1:]):
        comparison = span_drift.compare_spans(tables[before], tables[after], schema, before, after)
        for f in comparison.features:
            if f.distance is not None:
                found.setdefault(f.name, []).append((f"spans {before}→{after}", f.distance))
    return found


def window_distances(store, model: str) -> Dict[str, List[tuple]]:
    """feature -> [(source, distance)] from the monitoring passes in MLMD without an
    alarm for that feature."""
    from driftline.monitoring.dashboard import history

    found: Dict[str, List[tuple]] = {}
    for p in history(store, model)["passes"]:
        drift = p["result"].get("drift")
        if not drift:
            continue
        alarmed = {a["feature"] for a in p["result"].get("alarms", []) if a["kind"] == "drift"}
        for f in drift["features"]:
            if f["distance"] is not None and f["name"] not in alarmed:
                found.setdefault(f["name"], []).append((f"pass {p['execution']}", f["distance"]))
    return found


def suggest(schema, history: Dict[str, List[tuple]]) -> List[Suggestion]:
    suggestions = []
    for feature in schema.feature:
        if not feature.drift_comparator.HasField("infinity_norm"):
            continue
        current = feature.drift_comparator.infinity_norm.threshold
        seen = history.get(feature.name, [])
        distances = [d for _, d in seen]
        spans = sum(1 for source, _ in seen if source.startswith("spans"))
        if len(distances) < MIN_HISTORY or spans < MIN_SPAN_PAIRS:
            suggestions.append(Suggestion(feature.name, current, current,
                                          f"{len(distances)} distances in the history ({spans} between "
                                          f"spans), fewer than the {MIN_HISTORY} needed with at least "
                                          f"{MIN_SPAN_PAIRS} between spans: kept at {current:g}", distances))
            continue
        high = float(np.percentile(distances, PERCENTILE))
        widest_span = max(d for source, d in seen if source.startswith("spans"))
        from_history = ceil_to(high * (1 + MARGIN))
        proposed = max(FLOOR, from_history, ceil_to(widest_span))
        floor_note = (f", raised to the widest move between spans ({widest_span:.3f})"
                      if ceil_to(widest_span) > max(FLOOR, from_history) else "")
        reasoning = (f"{len(distances)} distances ({spans} between consecutive spans, "
                     f"{len(distances) - spans} between monitoring windows without an alarm), "
                     f"largest {max(distances):.3f}; {PERCENTILE}th percentile {high:.3f} plus "
                     f"{MARGIN:.0%} is {from_history:g}{floor_note}"
                     + (f" (now {current:g})" if proposed != current else ", as now"))
        suggestions.append(Suggestion(feature.name, current, proposed, reasoning, distances))
    return suggestions


def apply(schema, suggestions: List[Suggestion]):
    from tensorflow_metadata.proto.v0 import schema_pb2

    proposed = schema_pb2.Schema()
    proposed.CopyFrom(schema)
    by_name = {f.name: f for f in proposed.feature}
    for s in suggestions:
        if s.proposed != s.current:
            by_name[s.feature].drift_comparator.infinity_norm.threshold = s.proposed
    return proposed


def foresight_rules(config, store, kind: str = "binary") -> List[str]:
    """The reasoning behind the estimated-F1 range (a classifier's: `kind`) and the
    domain classifier's threshold, from the serving version's evaluation rows; one line
    saying so when nothing serves yet."""
    from pathlib import Path

    from driftline.monitoring import estimate, multivariate
    from driftline.monitoring.baseline import trained
    from driftline.monitoring.check import RESERVED, reference_rows
    from driftline.monitoring.performance import labelled_reference
    from driftline.serving import policy as policies

    policy = policies.read(Path(config.serving_dir))
    source = trained(store, config.pipeline_name, str(policy.stable)) if policy and policy.stable else None
    reference = reference_rows(source.predictions) if source else None
    if reference is None or not reference.num_rows:
        return ["estimated F1     no serving version with evaluation rows in MLMD: nothing to take a range from"]
    from components.model import operating_point

    version, settings, seed = policy.stable, config.monitoring, config.training.seed
    labels, scores = labelled_reference(reference)
    rows = max(1, int(round(settings.window_rows * labels.size / reference.num_rows)))
    found = estimate.reference_range(labels, scores, operating_point.of_artifact(source.model), rows, seed) \
        if kind == "binary" else None
    lines = ["estimated F1     no estimate for a regression model, so no range" if kind != "binary" else
             f"estimated F1     version {version}: " + (
        f"realized F1 over {found['windows']} windows of {rows} labelled rows (a window of {settings.window_rows} "
        f"requests holds about that many) drawn from its {labels.size} evaluation rows: mean {found['mean']:.3f}, "
        f"sd {found['sd']:.3f}; an estimate outside {found['low']:.3f}–{found['high']:.3f} (mean ± "
        f"{estimate.SPREAD:g} sd) is an alarm" if found else
        f"its {labels.size} labelled evaluation rows are fewer than a window's {rows}: no range, no alarm")]
    features = [n for n in reference.column_names if n not in RESERVED]
    halves = np.random.default_rng(seed).permutation(reference.num_rows)
    half = min(settings.window_rows, reference.num_rows // 2)
    if half < settings.min_requests:
        return lines + [f"multivariate     {reference.num_rows} evaluation rows: too few to split in two halves of "
                        f"min_requests = {settings.min_requests}"]
    table = reference.select(features)
    told = multivariate.domain_classifier(table.take(halves[:half]).to_pydict(),
                                          table.take(halves[half:2 * half]).to_pydict(), features, seed,
                                          config.evaluation.confidence)["auc"]
    advice = (f"max_domain_auc = {settings.max_domain_auc:g} is above its high end: kept"
              if told["high"] < settings.max_domain_auc else
              f"max_domain_auc = {settings.max_domain_auc:g} is not above its high end: set [monitoring] "
              f"max_domain_auc = {ceil_to(told['high'] + 0.05):g} in the config")
    return lines + [f"multivariate     a classifier tells two halves of {half} of its evaluation rows apart with AUC "
                    f"{told['value']:.3f} ({told['low']:.3f}–{told['high']:.3f}), what chance looks like here; {advice}"]
