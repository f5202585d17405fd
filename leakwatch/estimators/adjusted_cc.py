"""`adjusted_cc_v1`: prevalence from a classifier's flags, corrected for its measured errors, with a bootstrap CI.

Adjusted classify-and-count: if a share `raw` of documents is flagged, and the classifier flags
LLM text with rate TPR and human text with rate FPR, then raw = p * TPR + (1 - p) * FPR, so
p = (raw - FPR) / (TPR - FPR), clipped to [0, 1].

The interval comes from a bootstrap that resamples whole clusters (registered domains: pages of
one site are not independent) with Poisson(1) weights, which needs no per-replicate index of
clusters and so scales to millions of domains, and in the same replicates redraws TPR and FPR from
their calibration counts (a binomial around each measured rate), so the interval carries the
calibration's uncertainty too.
"""

from __future__ import annotations

import numpy as np

from leakwatch.estimators.base import Estimate, Estimator, register
from leakwatch.schemas.calibration import Calibration

# The bootstrap draws a (replicates x clusters) weight matrix a block of rows at a time; a block
# holds at most this many cells (8 bytes each), so a crawl with millions of domains stays in memory.
MAX_BLOCK_CELLS = 4_000_000


def adjusted_prevalence(raw_share, tpr, fpr):
    """(raw - FPR) / (TPR - FPR), clipped to [0, 1]; works on floats and numpy arrays."""
    denominator = np.maximum(np.asarray(tpr, dtype=float) - np.asarray(fpr, dtype=float), 1e-9)
    return np.clip((np.asarray(raw_share, dtype=float) - fpr) / denominator, 0.0, 1.0)


def estimate_prevalence(
    docs_per_cluster: np.ndarray,
    flagged_per_cluster: np.ndarray,
    calibration: Calibration,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = 50,
) -> Estimate:
    """Corrected prevalence and a percentile CI from a cluster bootstrap (see the module doc)."""
    docs = np.asarray(docs_per_cluster, dtype=float)
    flagged = np.asarray(flagged_per_cluster, dtype=float)
    if calibration.tpr <= calibration.fpr:
        raise ValueError(f"TPR {calibration.tpr:.3f} <= FPR {calibration.fpr:.3f}: the classifier cannot correct")
    n_docs = int(docs.sum())
    if n_docs == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), 0, 0)
    raw = flagged.sum() / n_docs
    rng = np.random.default_rng(seed)
    chunk = max(1, min(chunk, MAX_BLOCK_CELLS // max(docs.size, 1)))
    draws = []
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        weights = rng.poisson(1.0, size=(size, docs.size))
        total = weights @ docs
        # A replicate that drew no documents carries no information: redraw it from the full set.
        raw_b = np.where(total > 0, (weights @ flagged) / np.maximum(total, 1), raw)
        tpr_b = rng.binomial(calibration.positives, calibration.tpr, size) / calibration.positives
        fpr_b = rng.binomial(calibration.negatives, calibration.fpr, size) / calibration.negatives
        draws.append(adjusted_prevalence(raw_b, tpr_b, fpr_b))
    replicate_values = np.concatenate(draws)
    tail = (1 - level) / 2
    low, high = np.quantile(replicate_values, [tail, 1 - tail])
    point = float(adjusted_prevalence(raw, calibration.tpr, calibration.fpr))
    return Estimate(float(raw), point, float(low), float(high), n_docs, int(docs.size))


@register
class AdjustedClassifyAndCount(Estimator):
    """(raw - FPR) / (TPR - FPR) with a domain-clustered bootstrap that also redraws TPR and FPR."""

    name = "adjusted_cc_v1"

    def estimate(self, scored: np.ndarray, flagged: np.ndarray, seed: int) -> Estimate:
        """See estimate_prevalence."""
        return estimate_prevalence(scored, flagged, self.calibration, replicates=self.replicates, seed=seed,
                                   level=self.level)
