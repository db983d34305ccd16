"""One canary step's analysis: promote to the next step, abort, or inconclusive.

The canary and the stable version answered different requests of the same period, so
the difference of their online metric is bootstrapped unpaired (watcher.unpaired_difference).
The verdict is asymmetric on purpose: a canary goes on only when the evidence shows it
no worse than the stable version beyond the margin (the whole interval of the difference
above -margin), and is aborted only when it is worse beyond noise (the whole interval
below -margin) or its error rate or latency break their limits. Anything between is
inconclusive, and says how many more labelled requests would likely decide it: the
interval narrows as one over the square root of the count, so the count that brings its
half-width down to the distance between the estimate and the margin.
"""
import math
from dataclasses import dataclass, field
from typing import List, Optional

from driftline.serving.policy import ABORT, INCONCLUSIVE, PROMOTE


@dataclass
class StepVerdict:
    verdict: str
    reasons: List[str] = field(default_factory=list)   # what decided it, one sentence each
    held: List[str] = field(default_factory=list)      # what was checked and held
    needs: Optional[int] = None                         # more labelled requests likely to decide it
    details: dict = field(default_factory=dict)

    def text(self) -> str:
        return "; ".join(self.reasons or self.held)


def more_needed(n: int, low: float, high: float, estimate: float, boundary: float) -> Optional[int]:
    """How many more labelled requests (beyond `n`) would likely bring the interval
    [low, high] around `estimate` clear of `boundary`; None when the estimate sits on the
    boundary (no count decides it)."""
    half, distance = (high - low) / 2, abs(estimate - boundary)
    if n <= 0 or distance <= 1e-12:
        return None
    if half <= distance:
        return 1
    return max(1, math.ceil(n * (half / distance) ** 2) - n)


def limits(error_rate: Optional[tuple], p99_ms: float, max_error_rate: float, max_p99_ms: float):
    """(problems, held) sentences for the canary's error rate and p99 latency."""
    problems, held = [], []
    if error_rate and error_rate[1]:
        rate = error_rate[0] / error_rate[1]
        (problems if rate > max_error_rate else held).append(
            f"error rate {rate:.3f} {'over' if rate > max_error_rate else 'within'} {max_error_rate:g} "
            f"({int(error_rate[0])} of its {int(error_rate[1])} requests since the server started)")
    (problems if p99_ms > max_p99_ms else held).append(
        f"p99 latency {p99_ms:.1f} ms {'over' if p99_ms > max_p99_ms else 'within'} {max_p99_ms:g} ms")
    return problems, held


def judge(difference, n_canary: int, margin: float, higher_is_better: bool, what: str,
          comparison: str) -> StepVerdict:
    """The verdict on a metric's difference (canary − stable, an Interval) against the
    margin. For a metric where higher is better (F1) the canary is no worse when the
    whole interval is above -margin; for one where lower is better (RMSE) when the whole
    interval of the increase is below +margin."""
    boundary = -margin if higher_is_better else margin
    worse = difference.high < boundary if higher_is_better else difference.low > boundary
    no_worse = difference.low > boundary if higher_is_better else difference.high < boundary
    if worse:
        return StepVerdict(ABORT, [f"{comparison} is worse by more than {margin:.4g}, beyond noise"])
    if no_worse:
        return StepVerdict(PROMOTE, held=[f"{comparison} is no worse by more than {margin:.4g}, beyond noise"])
    needs = more_needed(n_canary, difference.low, difference.high, difference.value, boundary)
    wanted = (f"needs about {needs} more labelled requests of the canary to tell a {margin:.4g} {what} "
              "drop from noise" if needs is not None else
              f"its difference sits on the margin of {margin:.4g}: more requests will not decide it")
    return StepVerdict(INCONCLUSIVE, [f"{comparison} neither shows the canary no worse nor worse than "
                                      f"the margin {margin:.4g}: {wanted}"], needs=needs)


def too_few(n: int, need: int, whose: str) -> StepVerdict:
    return StepVerdict(INCONCLUSIVE, [f"{whose} {n} labelled requests in this step, {need} needed before "
                                      f"it is compared: needs {need - n} more labelled requests"],
                       needs=need - n)
