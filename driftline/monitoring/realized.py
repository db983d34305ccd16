"""Estimates checked against the truth: when the outcomes of a window's requests arrive,
the F1 they realize beside the F1 estimated for that window before they did
(estimate.py). Outcomes arrive in files that need not line up with windows, so each
outcome pass keeps, per window it touched, the confusion counts of that window's rows it
joined (`estimate_partials`); a window is checked once its rows with outcomes, summed
over the passes, reach min_requests and half of the rows it was estimated on. Each check
is kept in the outcome pass that made it, so MLMD holds every estimate's error, and a
window is checked once."""
from typing import Dict, List

import numpy as np


def checked_before(outcomes: list) -> set:
    """The window passes whose estimate an earlier outcome pass already checked."""
    from driftline.views.estimates import checks_of

    return {c["pass"] for c in checks_of(outcomes)}


def _counts(labels, scores, threshold: float) -> Dict[str, int]:
    truth, said = np.asarray(labels).astype(bool), np.asarray(scores) >= threshold
    return {"tp": int((truth & said).sum()), "fp": int((~truth & said).sum()), "fn": int((truth & ~said).sum()),
            "rows": int(truth.size)}


def _summed(parts: List[Dict[str, int]]) -> Dict[str, int]:
    return {key: sum(p[key] for p in parts) for key in ("tp", "fp", "fn", "rows")}


def against_estimates(history: dict, joined: dict, thresholds: Dict[str, float], min_rows: int) -> tuple:
    """(checks, partials): a check for each window pass with an estimate, not checked
    before, whose rows with outcomes (this join's and earlier passes' partials) are now
    enough; and {pass: counts} of this join's rows for the windows still short.
    `history`: dashboard.history; `joined`: labels.join, with each row's time."""
    done = checked_before(history["outcomes"])
    earlier: Dict[int, list] = {}
    for o in history["outcomes"]:
        for key, counts in (o["result"].get("estimate_partials") or {}).items():
            earlier.setdefault(int(key), []).append(counts)
    checks, partials = [], {}
    for entry in history["passes"]:
        block = entry["result"].get("estimated_performance")
        stamps = joined.get("stamps", {}).get(block["version"]) if block else None
        if stamps is None or entry["execution"] in done:
            continue
        version = block["version"]
        labels, scores = joined["versions"][version]
        first, last = entry["result"]["first_timestamp"], entry["result"]["last_timestamp"]
        inside = (stamps >= first) & (stamps <= last)
        if not inside.any():
            continue
        now = _counts(labels[inside], scores[inside], thresholds.get(version, block["threshold"]))
        total = _summed(earlier.get(entry["execution"], []) + [now])
        if total["rows"] < max(min_rows, block.get("rows", 0) / 2):
            partials[entry["execution"]] = now
            continue
        realized = 2 * total["tp"] / (2 * total["tp"] + total["fp"] + total["fn"]) if total["tp"] else 0.0
        estimated = block["metrics"]["f1_score"]
        checks.append({"pass": entry["execution"], "version": version, "first_timestamp": first,
                       "last_timestamp": last, "rows": total["rows"], "estimated": estimated,
                       "realized": realized, "error": estimated["value"] - realized,
                       "covered": bool(estimated["low"] <= realized <= estimated["high"])})
    return checks, partials
