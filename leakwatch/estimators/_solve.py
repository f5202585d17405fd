"""A vectorised root finder for the decreasing derivatives of the estimators' concave objectives."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ITERATIONS = 60  # at most this many safeguarded Newton steps (a bisection whenever a step leaves the bracket)
TOLERANCE = 1e-7  # stop when no replicate's share moves by more than this

Slope = Callable[[np.ndarray, slice], tuple[np.ndarray, np.ndarray]]


def _newton(slope: Slope, rows: slice, lo: np.ndarray, hi: np.ndarray, x: np.ndarray) -> np.ndarray:
    inside = (slope(lo, rows)[0] > 0) & (slope(hi, rows)[0] < 0)
    x = np.clip(x, lo, hi)
    for _ in range(ITERATIONS if inside.any() else 0):
        g, dg = slope(x, rows)
        lo, hi = np.where(g > 0, x, lo), np.where(g > 0, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - g / dg
        moved = np.where((newton > lo) & (newton < hi), newton, (lo + hi) / 2)
        done = np.abs(moved - x)[inside].max() < TOLERANCE
        x = moved
        if done:
            break
    return np.where(inside, x, np.where(slope(lo, rows)[0] <= 0, lo, hi))


def decreasing_root(slope: Slope, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per replicate (row), where a decreasing function crosses 0 in [low, high] (the nearer end when it
    does not); `slope(x, rows)` returns the function and its derivative at x for those rows. Row 0 (the
    data) is solved first and its root starts the replicates, which lie near it."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    first = _newton(slope, slice(0, 1), low[:1], high[:1], np.zeros(1))
    rest = _newton(slope, slice(1, None), low[1:], high[1:], np.full(len(low) - 1, first[0]))
    return np.concatenate([first, rest])
