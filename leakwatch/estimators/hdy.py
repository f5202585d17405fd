"""HDy: the share whose mixture of the two components is nearest the crawl in Hellinger distance.

After Gonzalez-Castro, Alaiz-Rodriguez and Alegre (2013): minimising the Hellinger distance between
the crawl's normalised histogram f and (1 - p) h + p l is maximising sum_k sqrt(f_k m_k(p)), which is
concave in p; its derivative is decreasing, so Newton steps find it for all replicates at once. Less
swayed than the likelihood by a few bins where the LLM component is misspecified.
"""

from __future__ import annotations

import numpy as np

from leakwatch.estimators._solve import decreasing_root
from leakwatch.estimators.base import Estimator, normalise, register
from leakwatch.estimators.mixture import PSEUDO, share_bounds


@register
class HellingerDistance(Estimator):
    """Share p minimising the Hellinger distance between the crawl and (1 - p) human + p LLM."""

    name = "hdy_v1"
    column = "hdy"

    def fit(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int) -> np.ndarray:
        f = np.sqrt(normalise(crawl))
        h = normalise(human, PSEUDO)
        d = normalise(llm, PSEUDO) - h
        low, high = share_bounds(h, d)

        def slope(p: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
            mixed = h[rows] + p[:, None] * d[rows]
            ratio = f[rows] * d[rows] / np.sqrt(mixed)
            return ratio.sum(axis=-1), -0.5 * (ratio * d[rows] / mixed).sum(axis=-1)

        return decreasing_root(slope, low, high)
