"""Estimates beside what the outcomes realized (driftline/monitoring/realized.py's
checks), as numbers and lines of text."""
from typing import List

import numpy as np


def checks_of(outcomes: list) -> List[dict]:
    """Every estimate check the outcome passes (dashboard.history's "outcomes") made,
    oldest first."""
    return [c for o in outcomes for c in o["result"].get("estimate_checks") or []]


def summary(checks: List[dict]) -> dict:
    """{"windows", "mean_absolute_error", "largest_error", "covered"} over `checks`."""
    if not checks:
        return {"windows": 0}
    errors = np.asarray([c["error"] for c in checks])
    return {"windows": len(checks), "mean_absolute_error": float(np.abs(errors).mean()),
            "largest_error": float(errors[np.argmax(np.abs(errors))]),
            "covered": int(sum(c["covered"] for c in checks))}


def check_text(check: dict) -> str:
    e = check["estimated"]
    return (f"window of pass {check['pass']}: F1 estimated {e['value']:.3f} ({e['low']:.3f}–{e['high']:.3f}), "
            f"realized {check['realized']:.3f} on {check['rows']} outcomes: error {check['error']:+.3f}"
            + ("" if check["covered"] else ", outside the interval"))


def summary_text(found: dict) -> str:
    if not found["windows"]:
        return "no window's estimate could be checked against its outcomes yet"
    windows = f"{found['windows']} window" + ("s" if found["windows"] != 1 else "")
    return (f"estimated against realized F1 over {windows}: mean absolute error "
            f"{found['mean_absolute_error']:.3f}, largest {found['largest_error']:+.3f}; the realized F1 was "
            f"inside the estimate's interval in {found['covered']} of {found['windows']}")
