"""A lower bound on the LLM share that needs no LLM component: what the human baseline cannot explain.

If the crawl is (1 - p) h + p l, then for every score region A its share F(A) >= (1 - p) H(A), so
p >= 1 - F(A) / H(A) whatever the LLM text looks like (mixture-proportion estimation, after Blanchard,
Lee and Scott 2010). Regions are the low-score tails {s < t}, where LLM text is rarest; the bound is
the largest over them. Its lower confidence limit is simultaneous over the regions (a max-t band from
the same bootstrap), so choosing the best region does not make it overconfident.
"""

from __future__ import annotations

import math

import numpy as np

from leakwatch.estimators.base import Estimator, normalise, register

# A tail is used when it holds at least this share of the human baseline and the crawl would hold at least
# MIN_TAIL_PAGES pages there if it were all human: a ratio of a few pages is too noisy for its bootstrap
# to be trusted (in the demo's 136-page crawls, 2 pages in a 7% tail made a lower limit of 40% for a truth of 31%).
MIN_HUMAN_MASS = 0.05
MIN_TAIL_PAGES = 25


@register
class HumanBaselineBound(Estimator):
    """max over t of 1 - F(s < t) / H(s < t); a bound, not an estimate: the share is at least this."""

    name = "bound_v1"
    column = "bound"
    kind = "lower_bound"

    def tails(self, crawl: np.ndarray, human: np.ndarray) -> np.ndarray:
        """1 - F/H for each low-score tail (columns) and replicate (rows); NaN where H is too small."""
        f = np.cumsum(normalise(crawl), axis=-1)[:, :-1]
        h = np.cumsum(normalise(human), axis=-1)[:, :-1]
        # Chosen on the data, the same tails for every replicate.
        usable = (h[:1] >= MIN_HUMAN_MASS) & (crawl[:1].sum(axis=-1, keepdims=True) * h[:1] >= MIN_TAIL_PAGES)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(usable, 1 - f / h, np.nan)

    def fit(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int) -> np.ndarray:
        r = self.tails(crawl, human)
        return np.maximum(np.nanmax(np.where(np.isnan(r), -np.inf, r), axis=-1), 0.0)

    def summarise(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int,
                  level: float) -> tuple[float, float, float]:
        """(bound, low, high) at the tail whose simultaneous lower confidence limit is highest: the
        largest of 1 - F/H is biased up by noise in small tails, the largest lower limit is not."""
        r = self.tails(crawl, human)
        usable = np.isfinite(r[0])
        if r.shape[0] < 3 or not usable.any():
            return math.nan, math.nan, math.nan
        point, reps = r[0, usable], r[1:, usable]
        se = reps.std(axis=0)
        if not (se > 0).any():  # every replicate alike (one domain): no spread to build a limit from
            value = float(np.clip(point.max(), 0, 1))
            return value, value, value
        point, reps, se = point[se > 0], reps[:, se > 0], se[se > 0]
        # The max-t constant: how far the worst tail strays, in its own standard errors, in (1+level)/2 of
        # the replicates; every tail's lower limit holds at once with that confidence.
        c = float(np.quantile(np.max((reps - point) / se, axis=-1), (1 + level) / 2))
        best = int(np.argmax(point - c * se))
        return (float(np.clip(point[best], 0, 1)), float(np.clip(point[best] - c * se[best], 0, 1)),
                float(np.clip(point[best] + c * se[best], 0, 1)))
