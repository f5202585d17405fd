"""Maximum-likelihood mixture of the human and the LLM component (what EM converges to).

The crawl's histogram f is modelled as (1 - p) h + p l; the log-likelihood sum_k f_k log(h_k + p (l_k - h_k))
is concave in p, so its maximum is the root of its decreasing derivative, found by safeguarded Newton
steps for every replicate at once (EM gets there too, but linearly slowly when the components overlap).
p may go a little below 0 or above 1 as long as the mixture stays a density: clipping only the
reported share keeps the bias at 0% small.
"""

from __future__ import annotations

import numpy as np

from leakwatch.estimators._solve import decreasing_root
from leakwatch.estimators.base import Estimator, normalise, register

PSEUDO = 0.5  # pages added to every bin of each component: no bin of a component is impossible


def share_bounds(h: np.ndarray, d: np.ndarray, margin: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Shares p at which h + p d stays positive in every bin, per replicate, within [-1, 2]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = -h / d
    low = np.where(d > 0, ratio, -np.inf).max(axis=-1)
    high = np.where(d < 0, ratio, np.inf).min(axis=-1)
    return np.maximum(low + margin, -1.0), np.minimum(high - margin, 2.0)


@register
class MixtureMLE(Estimator):
    """Share p maximising the crawl's likelihood under (1 - p) human + p LLM."""

    name = "mle_v1"
    column = "mle"

    def fit(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int) -> np.ndarray:
        h = normalise(human, PSEUDO)
        d = normalise(llm, PSEUDO) - h
        low, high = share_bounds(h, d)

        def slope(p: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
            ratio = d[rows] / (h[rows] + p[:, None] * d[rows])
            weighted = crawl[rows] * ratio
            return weighted.sum(axis=-1), -(weighted * ratio).sum(axis=-1)

        return decreasing_root(slope, low, high)
