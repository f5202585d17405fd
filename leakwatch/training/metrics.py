"""Evaluation of a classifier's scores against labels: AUROC, thresholds at an FPR, rates, the
evaluation slices and the calibration table the statistics read."""

from __future__ import annotations

from typing import Any

import numpy as np

from leakwatch.training.corpus import EVAL_ONLY_SOURCES, Example


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


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def metrics(y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    """AUROC and TPR at 1% and 5% FPR (thresholds set on this slice's own human texts)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s)
    out: dict[str, Any] = {"n_pos": int(y.sum()), "n_neg": int((~y).sum()), "auroc": _round(auroc(y, s))}
    for name, fpr in (("tpr_at_1pct_fpr", 0.01), ("tpr_at_5pct_fpr", 0.05)):
        ok = y.any() and (~y).any()
        out[name] = rates(y, s, threshold_at_fpr(s[~y], fpr))["tpr"] if ok else None
    return out


def slices(examples: list[Example]) -> dict[str, np.ndarray]:
    """Masks of the evaluation slices: overall, per source, per generator (its LLM texts and the
    human texts of the sources it appears in), per domain."""
    src = np.array([e.source for e in examples])
    gen = np.array([e.generator for e in examples])
    dom = np.array([e.domain for e in examples])
    human = ~np.array([e.llm for e in examples], dtype=bool)
    out = {"overall": src != EVAL_ONLY_SOURCES[0]}
    for s in sorted(set(src)):
        out[f"source:{s}"] = src == s
    for g in sorted(set(gen) - {""}):
        out[f"generator:{g}"] = (gen == g) | (human & np.isin(src, sorted(set(src[gen == g]))))
    for d in sorted(set(dom)):
        out[f"domain:{d}"] = dom == d
    return out


def labels(examples: list[Example]) -> np.ndarray:
    return np.array([e.llm for e in examples], dtype=bool)


def calibration(test: list[Example], scores: np.ndarray, thresholds: list[float]) -> dict[str, Any]:
    """TPR/FPR with counts for each threshold, overall and per source, generator and domain."""
    y = labels(test)
    return {
        "thresholds": thresholds,
        "slices": {
            name: [rates(y[mask], scores[mask], t) for t in thresholds]
            for name, mask in slices(test).items()
        },
    }
