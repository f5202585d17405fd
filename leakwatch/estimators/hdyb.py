"""HDy held to the human-baseline bound: the mixture's estimate, with an interval that stays honest when the
LLM component is wrong.

HDy (hdy.py) assumes the crawl's LLM pages score like the LLM component; bound_v1 (bound.py) assumes only
that the human baseline is the crawl's human part. When a crawl's LLM text comes from a generator that
scores lower than the component's (one the model never trained on), HDy reads low and its interval, which
carries only how much the known generators differ, misses the truth: on simulated crawls of generators held
out of the model and the component, HDy's interval covered 0.67 of them, this one's 0.88
(benchmarks/estimator_unseen.py).

This estimator keeps HDy's share unless the bound's lower confidence limit is above it (then the data show
HDy too low, and the share is that limit), and its interval runs from the larger of the two lower limits to
the larger of the two upper ends: it covers the share when either assumption holds (the bound's upper end is
where the share would be if LLM text never scored in the bound's low-score tail, the anchor assumption of
mixture-proportion estimation).
"""

from __future__ import annotations

import math

from leakwatch.estimators.base import Estimator, register


def _larger(a: float, b: float) -> float:
    """max of two numbers, ignoring a NaN (the bound has none when no low-score tail is usable)."""
    if math.isnan(b):
        return a
    if math.isnan(a):
        return b
    return max(a, b)


@register
class HellingerWithBound(Estimator):
    """HDy's share, raised to the bound's lower limit if that is higher; interval to the larger upper end."""

    name = "hdyb_v1"
    column = "hdyb"
    evidence = "estimates"  # made from other estimators' results on the same row, not from histograms
    parts = ("hdy_v1", "bound_v1")

    def combine(self, estimate: tuple[float, float, float], bound: tuple[float, float, float]
                ) -> tuple[float, float, float]:
        """(share, low, high) from HDy's and the bound's (share, low, high)."""
        share, low, high = estimate
        if math.isnan(share):
            return math.nan, math.nan, math.nan
        _, b_low, b_high = bound
        return _larger(share, b_low), _larger(low, b_low), _larger(high, b_high)
