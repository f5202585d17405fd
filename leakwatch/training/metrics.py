"""Evaluation of a classifier's scores against labels: AUROC, thresholds at an FPR, rates."""

from __future__ import annotations

from typing import Any

import numpy as np


def auroc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties averaged); None without both classes."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return None
    order = np.argsort(s, kind="mergesort")
    sorted_s = np.asarray(s)[order]
    ranks = np.empty(len(s))
    # Average ranks over ties: each run of equal scores gets the mean of its positions.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_at_fpr(human_scores: np.ndarray, fpr: float) -> float:
    """Lowest threshold t with at most floor(fpr * n) human scores >= t."""
    desc = np.sort(np.asarray(human_scores))[::-1]
    allowed = int(np.floor(fpr * len(desc)))
    if allowed >= len(desc):
        return 0.0
    return float(np.nextafter(desc[allowed], np.inf))


def rates(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, Any]:
    """Counts and rates of `p_llm >= threshold` against the labels."""
    y = np.asarray(y, dtype=bool)
    flagged = np.asarray(s) >= threshold
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    tp, fp = int((flagged & y).sum()), int((flagged & ~y).sum())
    return {
        "threshold": round(float(threshold), 6),
        "n_pos": n_pos,
        "n_neg": n_neg,
        "tp": tp,
        "fp": fp,
        "tpr": round(tp / n_pos, 4) if n_pos else None,
        "fpr": round(fp / n_neg, 4) if n_neg else None,
    }
