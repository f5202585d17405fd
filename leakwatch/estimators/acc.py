"""Adjusted classify-and-count at the operating threshold: (flagged - FPR) / (TPR - FPR).

FPR is the human component's share at or above the threshold, TPR the LLM component's: the same
components as the other estimators, so the comparison is of methods, not of calibration data.
"""

from __future__ import annotations

import numpy as np

from leakwatch.estimators.base import Estimator, normalise, register


@register
class AdjustedCount(Estimator):
    """(flagged share - FPR) / (TPR - FPR); NaN where TPR <= FPR."""

    name = "acc_v1"
    column = "acc"

    def fit(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int) -> np.ndarray:
        flagged, fpr, tpr = (normalise(x)[:, threshold_bin:].sum(axis=-1) for x in (crawl, human, llm))
        gap = tpr - fpr
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(gap > 0, (flagged - fpr) / gap, np.nan)
