"""The bootstrap behind every interval: replicates that every estimator of a row shares.

A replicate reweights the evidence at the level where its pages are not independent:
- the crawl's registered domains, Poisson(1) weights (no index of clusters needed, so it scales);
- the human baseline's domains, the same way;
- the LLM component at two levels: its generators, then the sibling groups within each generator, so
  the interval carries how differently generators score, not only how many texts each has.
Each generator's histogram is normalised before they are averaged: the LLM component is the average
generator, not the most numerous one. The components' replicates are drawn once (the LLM component
per run, the human one per slice) and shared by the rows that use them: their uncertainty is common
to those rows. Replicate 0 is the data itself. Every draw is seeded from the run's seed and a key, so a
rerun gives the same numbers on any cluster. Cost: (groups + pages) x replicates.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import astuple, dataclass

import numpy as np

from leakwatch.estimators.base import ESTIMATORS, Component, Evidence, Grouped, coarsen_edges, merge_bins, summary

# A block of replicates holds at most this many weights, so a row with many domains stays in memory.
MAX_BLOCK_CELLS = 4_000_000
# Poisson(1) weights by table lookup: 16 random bits index a table of the inverse CDF (about 3x faster
# than Generator.poisson; a weight's probabilities are exact to 2^-16).
_TABLE_BITS = 16


def _poisson_table() -> np.ndarray:
    cdf = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(12)])
    u = (np.arange(2**_TABLE_BITS) + 0.5) / 2**_TABLE_BITS
    return np.searchsorted(cdf, u).astype(np.uint8)


POISSON_TABLE = _poisson_table()


def poisson_weights(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Poisson(1) draws of the given shape, as uint8."""
    return POISSON_TABLE[rng.integers(0, 2**_TABLE_BITS, size=shape, dtype=np.uint16)]


@dataclass(frozen=True)
class Settings:
    """How rows are bootstrapped and binned."""

    replicates: int = 1000
    level: float = 0.95
    min_bin_pages: float = 10.0  # coarse bins hold at least this many pages of each component
    # How generators are drawn per replicate: "poisson" (the mean generator's uncertainty), "one" (a
    # single generator: a crawl written by a generator like one of them), "dirichlet" (a random mix of
    # them) or "predictive" (a generator like none of them, drawn from their spread).
    generator_draw: str = "dirichlet"
    min_stratum_pages: float = 200.0  # a component with fewer pages in a stratum is used pooled there


def row_seed(seed: int, key: tuple) -> int:
    """A 64-bit seed from the run's seed and a key: the same row gets the same draws on any cluster."""
    return int.from_bytes(hashlib.sha256(repr((seed, *key)).encode("utf-8")).digest()[:8], "big")


def replicate_totals(counts: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(replicates + 1, columns): the plain sum of the groups' rows, then Poisson-weighted sums."""
    counts = np.asarray(counts, dtype=float)
    out = np.empty((replicates + 1, counts.shape[1]))
    out[0] = counts.sum(axis=0)
    block = max(1, MAX_BLOCK_CELLS // max(counts.shape[0], 1))
    for start in range(0, replicates, block):
        size = min(block, replicates - start)
        out[1 + start:1 + start + size] = poisson_weights(rng, (size, counts.shape[0])) @ counts
    return out


def _means(totals: np.ndarray) -> np.ndarray:
    """Mean word score per replicate from (pages, sum) columns; the plain mean where a replicate has none."""
    n, s = totals[:, 0], totals[:, 1]
    plain = s[0] / n[0] if n[0] else np.nan
    return np.where(n > 0, s / np.where(n > 0, n, 1.0), plain)


def human_component(human: Grouped, replicates: int, rng: np.random.Generator,
                    words: np.ndarray | None = None) -> Component:
    """The human baseline's replicates: its domains Poisson-weighted (the same weights for its word sums)."""
    columns = human.counts if words is None else np.hstack([human.counts, words])
    totals = replicate_totals(columns, replicates, rng)
    bins = human.counts.shape[1]
    return Component(totals[:, :bins], human.total, None if words is None else _means(totals[:, bins:]))


def generator_weights(rng: np.random.Generator, replicates: int, n: int, draw: str) -> np.ndarray:
    """(replicates + 1, n) weights of the generators: ones, then one row per replicate."""
    if draw == "poisson":
        drawn = poisson_weights(rng, (replicates, n)).astype(float)
        drawn[drawn.sum(axis=1) == 0] = 1.0
    elif draw == "one":
        drawn = np.eye(n)[rng.integers(0, n, replicates)]
    elif draw == "dirichlet":
        drawn = rng.dirichlet(np.ones(n), replicates)
    elif draw == "predictive":
        # A generator none of the n is: l = mean + sum_k g_k (l_k - mean) * sqrt((1 + 1/n) / (n - 1)) with
        # g ~ N(0, 1), whose covariance is the generators' sample covariance widened for a new draw; the
        # weights sum to 1 but may be negative (the histogram is clipped at 0 after mixing).
        g = rng.standard_normal((replicates, n))
        scale = math.sqrt((1 + 1 / n) / (n - 1)) if n > 1 else 0.0
        drawn = 1 / n + scale * (g - g.mean(axis=1, keepdims=True))
    else:
        raise ValueError(f"unknown generator draw {draw!r}: poisson, one or dirichlet")
    return np.vstack([np.ones(n), drawn])


def llm_component(llm: Grouped, replicates: int, rng: np.random.Generator, draw: str = "dirichlet",
                  words: np.ndarray | None = None) -> Component:
    """The LLM component's replicates: groups Poisson-weighted within each generator, each generator's
    histogram normalised, generators weighted by `draw`; scaled to the component's pages. A generator
    whose groups a replicate did not draw keeps its plain histogram there."""
    parent = np.zeros(llm.counts.shape[0], dtype=np.int64) if llm.parent is None else np.asarray(llm.parent)
    columns = llm.counts if words is None else np.hstack([llm.counts, words])
    bins = llm.counts.shape[1]
    hists, means = [], []
    for g in np.unique(parent):
        totals = replicate_totals(columns[parent == g], replicates, rng)
        hist = totals[:, :bins]
        hist = np.where(hist.sum(axis=1, keepdims=True) > 0, hist, hist[:1])
        hists.append(hist / hist.sum(axis=1, keepdims=True))
        if words is not None:
            means.append(_means(totals[:, bins:]))
    weights = generator_weights(rng, replicates, len(hists), draw)
    hist = np.einsum("rg,rgb->rb", weights, np.stack(hists, axis=1)) / weights.sum(axis=1, keepdims=True)
    hist = np.maximum(hist, 0.0)
    hist /= hist.sum(axis=1, keepdims=True)
    mean = None
    if words is not None:
        m = np.stack(means, axis=1)
        w = np.where(np.isfinite(m), weights, 0.0)
        mean = (w * np.nan_to_num(m)).sum(axis=1) / w.sum(axis=1)
    return Component(hist * llm.counts.sum(), llm.total, mean)


@dataclass(frozen=True)
class Result:
    """One estimator's share and interval for a row."""

    share: float
    low: float
    high: float


def estimate_row(evidence: Evidence, seed: int, settings: Settings = Settings(),
                 names: Iterable[str] | None = None) -> dict[str, Result]:
    """Every (or the named) estimator's share and interval for one row, by name.

    With strata, each stratum's share is estimated against the components' same stratum (their pooled
    histogram where a component has fewer than `min_stratum_pages` there) and the shares are summed,
    weighted by the crawl's pages per stratum in each replicate; bounds are computed on the pooled row; an
    estimator made from others' results (evidence "estimates") is combined from theirs, computed for it.
    """
    rng = np.random.default_rng(seed)
    r = settings.replicates
    if evidence.human.hist.shape[0] != r + 1 or evidence.llm.hist.shape[0] != r + 1:
        raise ValueError("the components were made with another number of replicates than the settings ask")
    width = evidence.binning.cells
    words = evidence.crawl_words
    crawl = replicate_totals(evidence.crawl.counts if words is None else np.hstack([evidence.crawl.counts, words]),
                             r, rng)
    # A replicate that drew none of the crawl's domains says nothing: it is dropped (row 0 never is).
    keep = crawl[:, :width].sum(axis=1) > 0
    keep[0] = True
    crawl, human, llm = crawl[keep], evidence.human.hist[keep], evidence.llm.hist[keep]
    hist = crawl[:, :width]
    parts = _strata(hist, human, llm, evidence, settings)
    wanted = list(names or ESTIMATORS)
    # An estimator made from others' results needs them first, wanted or not.
    needed = [n for n in wanted if ESTIMATORS[n].evidence != "estimates"]
    needed += [p for n in wanted for p in ESTIMATORS[n].parts if p not in needed]
    out = {}
    for name, est in ((n, ESTIMATORS[n]) for n in needed):
        if est.evidence == "words":
            if words is None or evidence.human.word_mean is None or evidence.llm.word_mean is None:
                continue
            shares = est.fit_means(_means(crawl[:, width:]), evidence.human.word_mean[keep],
                                   evidence.llm.word_mean[keep])
            out[name] = Result(*summary(shares, settings.level))
        elif est.kind == "lower_bound" or len(parts) == 1:
            row = _coarse(_pool(hist, human, llm, evidence), evidence.binning.below, settings)
            out[name] = Result(*est.summarise(*row, settings.level))
        else:
            total = hist.sum(axis=1)
            shares = np.zeros(len(hist))
            for part in parts:
                shares += est.fit(*_coarse(part, evidence.binning.below, settings)) * part[0].sum(axis=1) / total
            out[name] = Result(*summary(shares, settings.level))
    for name in wanted:
        est = ESTIMATORS[name]
        if est.evidence == "estimates" and all(p in out for p in est.parts):
            out[name] = Result(*est.combine(*(astuple(out[p]) for p in est.parts)))
    return {n: out[n] for n in wanted if n in out}


def _pool(crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, evidence: Evidence) -> list[np.ndarray]:
    """(crawl, human, llm, LLM pages) summed over strata."""
    s = evidence.binning.strata

    def pooled(x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], s, -1).sum(axis=1)

    return [pooled(x) for x in (crawl, human, llm, evidence.llm.pages[None, :], evidence.human.pages[None, :])]


def _strata(crawl: np.ndarray, human: np.ndarray, llm: np.ndarray, evidence: Evidence,
            settings: Settings) -> list[list[np.ndarray]]:
    """Per stratum the crawl has pages in: (crawl, human, llm, LLM pages, human pages), a thin component
    replaced by its pooled histogram."""
    pooled = _pool(crawl, human, llm, evidence)
    if evidence.binning.strata == 1:
        return [pooled]
    bins = evidence.binning.bins
    parts = []
    for s in range(evidence.binning.strata):
        cols = slice(s * bins, (s + 1) * bins)
        part = [crawl[:, cols], human[:, cols], llm[:, cols], evidence.llm.pages[None, cols],
                evidence.human.pages[None, cols]]
        if part[0][0].sum() == 0:
            continue
        if part[4].sum() < settings.min_stratum_pages:
            part[1], part[4] = pooled[1], pooled[4]
        if part[3].sum() < settings.min_stratum_pages:
            part[2], part[3] = pooled[2], pooled[3]
        parts.append(part)
    return parts


def _coarse(part: list[np.ndarray], threshold_bin: int, settings: Settings):
    """(crawl, human, llm, threshold bin) in coarse bins chosen on the components' plain page counts."""
    crawl, human, llm, llm_pages, human_pages = part
    starts = coarsen_edges(human_pages[0], llm_pages[0], threshold_bin, settings.min_bin_pages)
    return (*(merge_bins(x, starts) for x in (crawl, human, llm)), int(np.searchsorted(starts, threshold_bin)))
