"""What every prevalence estimator shares: the score binning, a row's evidence, the estimator class and
the registry that names them.

A row's evidence is score histograms in one fixed binning: the crawl's pages grouped by registered
domain, the human component (pre-ChatGPT pages of the same slice, grouped by domain) and the LLM
component (labelled LLM text put through the pipeline, grouped by sibling group and generator).
Histograms add: Spark sums pages into them, and a bootstrap replicate is a weighted sum of them
(leakwatch.estimators.bootstrap). An estimator is a small class with a versioned name (a new version
whenever the same input would give other numbers), registered with `@register`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from leakwatch.errors import ConfigError

# Scores are binned on the logit scale, where a fasttext model's probabilities near 0 and 1 spread
# out; the grid is anchored at the threshold so that a bin edge falls on it (ACC counts above it).
LOGIT_WIDTH = 0.5
LOGIT_RANGE = 12.0
EPS = 1e-12  # a probability is clamped into [EPS, 1 - EPS] before its logit (0 and 1 occur)
# The length strata: pages of different kinds differ in length and the classifier scores them differently.
LENGTH_EDGES = (150, 400, 1000)  # words


@dataclass(frozen=True)
class Binning:
    """Cells of length stratum x score bin: uniform logit bins of `width` over [-range, range], shifted
    so that `threshold` is an edge."""

    threshold: float
    width: float = LOGIT_WIDTH
    range: float = LOGIT_RANGE
    length_edges: tuple[int, ...] = LENGTH_EDGES

    @property
    def anchor(self) -> float:
        """The threshold's logit."""
        return math.log(self.threshold / (1 - self.threshold))

    @property
    def below(self) -> int:
        """Bins below the threshold; also the index of the first bin at or above it."""
        return math.ceil((self.anchor + self.range) / self.width)

    @property
    def bins(self) -> int:
        """Score bins per stratum."""
        return self.below + math.ceil((self.range - self.anchor) / self.width)

    @property
    def strata(self) -> int:
        return len(self.length_edges) + 1

    @property
    def cells(self) -> int:
        return self.strata * self.bins

    @property
    def fingerprint(self) -> str:
        """The binning in one string, for provenance."""
        return f"logit{self.width:g}x{self.bins}@{self.threshold:g}|words{'-'.join(map(str, self.length_edges))}"

    def score_bin(self, p_llm: np.ndarray) -> np.ndarray:
        """Bin of each score; a score at the threshold is always at or above its edge (the Spark
        expression in jobs/stats.py computes the same)."""
        raw = np.asarray(p_llm, dtype=float)
        p = np.clip(raw, EPS, 1 - EPS)
        k = np.clip(np.floor((np.log(p / (1 - p)) - self.anchor) / self.width) + self.below, 0, self.bins - 1)
        k = np.where(raw >= self.threshold, np.maximum(k, self.below), np.minimum(k, self.below - 1))
        return k.astype(np.int64)

    def stratum(self, n_words: np.ndarray) -> np.ndarray:
        """Length stratum of each page."""
        return np.searchsorted(self.length_edges, np.asarray(n_words), side="right").astype(np.int64)

    def cell(self, p_llm: np.ndarray, n_words: np.ndarray) -> np.ndarray:
        """Cell (stratum x bin, stratum-major) of each page."""
        return self.stratum(n_words) * self.bins + self.score_bin(p_llm)

    def histogram(self, p_llm: np.ndarray, n_words: np.ndarray) -> np.ndarray:
        """Pages per cell."""
        return np.bincount(self.cell(p_llm, n_words), minlength=self.cells).astype(float)


@dataclass(frozen=True)
class Grouped:
    """Histograms per cluster (rows) over the cells (columns); `parent` ties a group to a generator."""

    counts: np.ndarray  # (groups, cells)
    parent: np.ndarray | None = None  # (groups,) generator index, for the LLM component

    @property
    def total(self) -> np.ndarray:
        return self.counts.sum(axis=0)

    @property
    def n_pages(self) -> int:
        return int(round(self.counts.sum()))

    @property
    def n_groups(self) -> int:
        return int((self.counts.sum(axis=1) > 0).sum())


@dataclass(frozen=True)
class Component:
    """A component (human or LLM) as the bootstrap made it: its histogram per replicate (row 0 is the data
    itself), its plain page count per cell (coarse bins are chosen on those), and its mean word score per
    replicate for the word-frequency estimator. Made once per run or slice and shared by its rows."""

    hist: np.ndarray  # (replicates + 1, cells)
    pages: np.ndarray  # (cells,)
    word_mean: np.ndarray | None = None  # (replicates + 1,)


@dataclass(frozen=True)
class Evidence:
    """One stats row's inputs: the crawl's pages by domain, and the human and the LLM component."""

    crawl: Grouped
    human: Component
    llm: Component
    binning: Binning
    # (scored pages, sum of word scores) per domain, row for row with `crawl`, for the word estimator.
    crawl_words: np.ndarray | None = None


class Estimator:
    """A prevalence estimator: histograms in, shares out, vectorised over bootstrap replicates.

    `fit` gets arrays of shape (replicates + 1, bins): the crawl's counts and the two components' counts,
    in the coarse bins of one stratum, and the index of the first bin at or above the threshold; it
    returns one share per replicate, not clipped (a share just below 0 keeps the bias at 0% small).
    """

    name: ClassVar[str]  # versioned, e.g. "mle_v1"
    column: ClassVar[str]  # its columns in the stats table: COLUMN, COLUMN_low, COLUMN_high
    kind: ClassVar[str] = "estimate"  # or "lower_bound": its interval covers a bound, not the share
    # "scores"; "words": it reads word-score means, not the score histograms; "estimates": it is made from the
    # results of the estimators named in its `parts`, by its `combine`
    evidence: ClassVar[str] = "scores"
    parts: ClassVar[tuple[str, ...]] = ()

    def fit(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int) -> np.ndarray:
        """One share per replicate (see the class doc)."""
        raise NotImplementedError

    def summarise(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, threshold_bin: int,
                  level: float) -> tuple[float, float, float]:
        """(share, low, high) of one pooled row: row 0 of the inputs is the data itself, the others replicates."""
        return summary(self.fit(crawl, human, llm, threshold_bin), level)

    def combine(self, *results: tuple[float, float, float]) -> tuple[float, float, float]:
        """(share, low, high) from the (share, low, high) of each of `parts` (evidence "estimates" only)."""
        raise NotImplementedError


ESTIMATORS: dict[str, Estimator] = {}


def register(cls: type[Estimator]) -> type[Estimator]:
    """Class decorator: make an estimator known by its versioned `name` (names and columns are unique)."""
    if cls.name in ESTIMATORS or any(e.column == cls.column for e in ESTIMATORS.values()):
        raise ValueError(f"two estimators are named {cls.name!r} or write the columns {cls.column!r}")
    ESTIMATORS[cls.name] = cls()
    return cls


def estimator(name: str) -> Estimator:
    """The registered estimator called `name`; ConfigError lists the known ones otherwise."""
    if name not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {name!r}; known: {', '.join(sorted(ESTIMATORS))}")
    return ESTIMATORS[name]


def versions() -> str:
    """The registered estimators' versioned names, e.g. 'acc_v1,bound_v1,...' (provenance of stats rows)."""
    return ",".join(sorted(ESTIMATORS))


def summary(shares: np.ndarray, level: float) -> tuple[float, float, float]:
    """(share of replicate 0 clipped to [0, 1], percentile interval of the others)."""
    return float(np.clip(shares[0], 0, 1)), *percentile_interval(shares[1:], level)


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` interval of the finite replicates, clipped to [0, 1]; NaNs without any."""
    good = replicates[np.isfinite(replicates)]
    if not good.size:
        return math.nan, math.nan
    tail = (1 - level) / 2
    low, high = np.quantile(good, [tail, 1 - tail])
    return float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1))


def normalise(counts: np.ndarray, pseudo: float = 0.0) -> np.ndarray:
    """Rows of counts as probabilities, after adding `pseudo` of a page to every bin."""
    counts = np.asarray(counts, dtype=float) + pseudo
    total = counts.sum(axis=-1, keepdims=True)
    return counts / np.where(total > 0, total, 1.0)


def coarsen_edges(human: np.ndarray, llm: np.ndarray, threshold_bin: int, min_count: float) -> np.ndarray:
    """Start indices of coarse bins over the fine bins: each holds at least `min_count` pages of both
    components where it can, and none spans the threshold edge (so ACC can still count above it)."""
    starts: list[int] = []
    for lo, hi in ((0, threshold_bin), (threshold_bin, len(human))):
        if lo >= hi:
            continue
        segment, h, m = [lo], 0.0, 0.0
        for k in range(lo, hi):
            h, m = h + human[k], m + llm[k]
            if h >= min_count and m >= min_count and k + 1 < hi:
                segment.append(k + 1)
                h, m = 0.0, 0.0
        if len(segment) > 1 and (h < min_count or m < min_count):
            segment.pop()  # a short last bin joins the one before it
        starts += segment
    return np.array(starts, dtype=np.int64)


def merge_bins(counts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum fine bins (last axis) into the coarse bins that begin at `starts`."""
    return np.add.reduceat(counts, starts, axis=-1)
