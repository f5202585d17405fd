"""From fasttext logits to probabilities: a weighted logistic fit (Newton's method, numpy only) of the
label on the logit and its length terms, fitted on out-of-fold logits of the training pool."""

from __future__ import annotations

import numpy as np

from leakwatch.udfs.scoring import LENGTH_CENTER, Calibration

NEWTON_STEPS = 50
# A weak ridge keeps the fit finite when a toy corpus separates perfectly.
RIDGE = 1e-3


def design(logits: np.ndarray, n_tokens: np.ndarray, length: bool) -> np.ndarray:
    """Columns [1, z] or [1, z, z*l, l] with l = ln(n_tokens) - LENGTH_CENTER."""
    z = np.asarray(logits, dtype=np.float64)
    ones = np.ones_like(z)
    if not length:
        return np.column_stack([ones, z])
    ln = np.log(np.maximum(np.asarray(n_tokens, dtype=np.float64), 1.0)) - LENGTH_CENTER
    return np.column_stack([ones, z, z * ln, ln])


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Coefficients maximising the weighted log-likelihood of y given x (intercept column included)."""
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64) / np.mean(w)
    beta = np.zeros(x.shape[1])
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -700, 700)))
        grad = x.T @ (w * (y - p)) - penalty @ beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def fit_calibration(logits: np.ndarray, n_tokens: np.ndarray, y: np.ndarray, w: np.ndarray,
                    length: bool = True) -> Calibration:
    """Platt scaling of out-of-fold logits (with length terms when `length`)."""
    beta = fit_logistic(design(logits, n_tokens, length), y, w)
    if not length:
        return Calibration(intercept=float(beta[0]), slope=float(beta[1]))
    return Calibration(intercept=float(beta[0]), slope=float(beta[1]), length_slope=float(beta[2]),
                       length_shift=float(beta[3]))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None, bins: int = 10) -> float:
    """Weighted mean |observed LLM share - mean P(LLM)| over equal-width probability bins."""
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    w = np.ones_like(p) if w is None else np.asarray(w, dtype=np.float64)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any() and w[m].sum() > 0:
            total += w[m].sum() * abs(np.average(y[m], weights=w[m]) - np.average(p[m], weights=w[m]))
    return float(total / w.sum()) if w.sum() else 0.0


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Per probability bin: texts, mean P(LLM), observed LLM share."""
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        rows.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": int(m.sum()),
                     "mean_p": round(float(p[m].mean()), 4) if m.any() else None,
                     "llm_share": round(float(y[m].mean()), 4) if m.any() else None})
    return rows


def max_tie_share(scores: np.ndarray) -> float:
    """The largest share of texts that share one exact score value."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return 0.0
    _, counts = np.unique(scores, return_counts=True)
    return float(counts.max() / len(scores))
