"""When a row's number may be read: the "not measurable" rule and the negative control's "near zero".

N, the domains and W were chosen with the estimator simulation (benchmarks/estimator_coverage.py; the
figures are in the README's Stats section): below them the interval either covers too little or says
too little to be a number worth quoting.
"""

from __future__ import annotations

import math

MIN_PAGES = 100  # N: scored pages a row needs
MIN_DOMAINS = 20  # registered domains with scored pages a row needs (the bootstrap's clusters)
MAX_WIDTH = 0.30  # W: the widest 95% interval of the default estimator that is still a number
# A pre-ChatGPT crawl reads near zero when its estimate is at most this and its interval reaches 0.
NEAR_ZERO = 0.02


def unmeasurable(n_pages: int, n_domains: int, low: float | None = None, high: float | None = None) -> str | None:
    """Why a row's share is not measurable, or None: too few pages, too few domains (checked before any
    estimate is made), no interval, or too wide an interval (checked on the default estimator's)."""
    if n_pages < MIN_PAGES:
        return f"{n_pages} scored pages (fewer than {MIN_PAGES})"
    if n_domains < MIN_DOMAINS:
        return f"{n_domains} registered domains (fewer than {MIN_DOMAINS})"
    if low is None or high is None:
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    if high - low > MAX_WIDTH:
        return f"interval {100 * (high - low):.0f} pp wide (wider than {100 * MAX_WIDTH:.0f} pp)"
    return None


def near_zero(share: float | None, low: float | None) -> bool:
    """A negative-control estimate that fits a truth of zero: small, and an interval that reaches 0."""
    return share is not None and low is not None and share <= NEAR_ZERO and low <= 0.0
