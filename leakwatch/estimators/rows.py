"""Every stats row of one slice (view x dimension x value: all its crawls and months), estimated.

The slice's human component is its own pre-ChatGPT pages when they suffice, else the view's pages of
every kind (dimension `all`), else labelled human text when the warehouse has no pre-ChatGPT crawl;
a pre-ChatGPT crawl's rows are estimated against the other pre-ChatGPT crawls only (the negative
control is never its own baseline), and how far those read from zero is the slice's baseline drift.
Plain pandas and numpy: jobs/udf.py hands each slice's cells here from Spark; on a small warehouse the
stats job hands them all from the driver (estimate_slices).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakwatch.estimators.base import ESTIMATORS, Binning, Component, Evidence, Grouped
from leakwatch.estimators.bootstrap import Result, Settings, estimate_row, human_component, row_seed
from leakwatch.estimators.rules import MIN_DOMAINS, unmeasurable

KEY = ("time_slice", "period", "crawl", "view", "dimension", "value")
# Pre-ChatGPT scored pages a slice needs for a human component of its own.
MIN_BASELINE_PAGES = 200
ALL = "all"


@dataclass(frozen=True)
class SliceContext:
    """What every slice's estimation shares (one per stats run, shipped to the Python workers)."""

    binning: Binning
    settings: Settings
    default: str  # the default estimator's name
    seed: int
    llm: Component
    pre_crawls: tuple[str, ...]  # the warehouse's pre-ChatGPT crawls
    # Cells of each view's `all` slice in the pre-ChatGPT crawls (view, crawl, bucket, cell, n, s): the
    # human component of slices too thin for their own.
    fallback: pd.DataFrame | None = None
    labelled_human: Grouped | None = None  # when the warehouse has no pre-ChatGPT crawl
    labelled_words: np.ndarray | None = None
    labelled_label: str = ""


def grouped(cells: pd.DataFrame, binning: Binning) -> tuple[Grouped, np.ndarray | None, np.ndarray]:
    """(histograms per domain bucket, (pages, word-score sum) per bucket or None, the buckets)."""
    return _grouped(cells["bucket"].to_numpy(), cells["cell"].to_numpy(), cells["n"].to_numpy(),
                    cells["s"].to_numpy(), binning)


def _grouped(bucket: np.ndarray, cell: np.ndarray, n: np.ndarray, s: np.ndarray,
             binning: Binning) -> tuple[Grouped, np.ndarray | None, np.ndarray]:
    buckets, rows = np.unique(bucket, return_inverse=True)
    counts = np.zeros((len(buckets), binning.cells))
    np.add.at(counts, (rows, cell), n.astype(float))
    words = None
    if not pd.isna(s).any():
        words = np.zeros((len(buckets), 2))
        np.add.at(words, rows, np.column_stack([n.astype(float), s.astype(float)]))
    return Grouped(counts), words, buckets


def human_of(cells: pd.DataFrame, ctx: SliceContext, key: tuple) -> Component:
    """The human component of a set of baseline cells; its word means from fold 1 of the domain buckets
    only (fold 0 fitted the word model's weights)."""
    groups, words, buckets = grouped(cells, ctx.binning)
    if words is not None:
        words = np.where((buckets % 2 == 1)[:, None], words, 0.0)
    rng = np.random.default_rng(row_seed(ctx.seed, ("human", *key)))
    return human_component(groups, ctx.settings.replicates, rng, words)


class Baseline:
    """The human component a row is compared with (made on first use: most slices' rows are too small to
    be estimated), and what to say about it."""

    def __init__(self, cells: pd.DataFrame | None, ctx: SliceContext, key: tuple, label: str, pages: int,
                 other_crawls: bool = False, component: Component | None = None) -> None:
        self.label, self.pages = label, pages
        self.other_crawls = other_crawls  # a pre-ChatGPT crawl's own: the other pre-ChatGPT crawls (a real control)
        self._cells, self._ctx, self._key, self._component = cells, ctx, key, component

    @property
    def component(self) -> Component | None:
        if self._component is None and self._cells is not None:
            self._component = human_of(self._cells, self._ctx, self._key)
        return self._component


def baselines(frame: pd.DataFrame, ctx: SliceContext, slice_key: tuple) -> dict[str | None, Baseline]:
    """The slice's human components: under None the one post-ChatGPT rows use, under a pre-ChatGPT
    crawl the one its own rows use (the other pre-ChatGPT crawls)."""
    view, dimension, _ = slice_key
    own = frame[(frame["time_slice"] == "crawl") & frame["crawl"].isin(ctx.pre_crawls)]
    source, where = own, "this slice"
    if own["n"].sum() < MIN_BASELINE_PAGES or own["bucket"].nunique() < MIN_DOMAINS:
        fallback = ctx.fallback
        if dimension != ALL and fallback is not None and (fallback["view"] == view).any():
            source = fallback[fallback["view"] == view]
            where = f"all pages of the view (this slice has {int(own['n'].sum())} pre-ChatGPT scored pages)"
        elif not ctx.pre_crawls and ctx.labelled_human is not None:
            rng = np.random.default_rng(row_seed(ctx.seed, ("labelled", *slice_key)))
            component = human_component(ctx.labelled_human, ctx.settings.replicates, rng, ctx.labelled_words)
            return {None: Baseline(None, ctx, slice_key, ctx.labelled_label, ctx.labelled_human.n_pages,
                                   component=component)}
        elif own.empty:
            return {None: Baseline(None, ctx, slice_key, "none: no pre-ChatGPT pages and no labelled human text", 0)}
    crawls = sorted(source["crawl"].unique())
    out = {None: Baseline(source, ctx, (*slice_key, "all"), f"{', '.join(crawls)} ({where})", int(source["n"].sum()))}
    for crawl in crawls:
        rest = source[source["crawl"] != crawl]
        if rest.empty:  # one pre-ChatGPT crawl: its rows can only be compared with itself
            out[crawl] = Baseline(source, ctx, (*slice_key, "all"), f"{crawl} itself ({where}; the only pre-ChatGPT "
                                  "crawl: the negative control is in-sample and tests nothing)", out[None].pages)
        else:
            others = ", ".join(sorted(rest["crawl"].unique()))
            out[crawl] = Baseline(rest, ctx, (*slice_key, crawl), f"{others} ({where}; leave-one-crawl-out)",
                                  int(rest["n"].sum()), other_crawls=True)
    return out


def _rate_at_threshold(hist: np.ndarray, binning: Binning) -> float | None:
    per_bin = hist.reshape(binning.strata, binning.bins).sum(axis=0)
    total = per_bin.sum()
    return float(per_bin[binning.below:].sum() / total) if total else None


def estimate_rows(frame: pd.DataFrame, ctx: SliceContext) -> pd.DataFrame:
    """One ESTIMATE_ROWS row per row key of the slice's cells (KEY, bucket, cell, n, s, n_domains)."""
    return pd.DataFrame(_slice_rows(frame, ctx))


def _slice_rows(frame: pd.DataFrame, ctx: SliceContext) -> list[dict]:
    """estimate_rows' rows, as dicts."""
    slice_key = tuple(frame[k].iloc[0] for k in ("view", "dimension", "value"))
    human = baselines(frame, ctx, slice_key)
    rows, control = [], []
    for key, cells in _row_cells(frame):
        baseline = human.get(key[2], human[None])
        rows.append(_row(dict(zip(KEY, key, strict=True)), cells, baseline, ctx))
        if key[0] == "crawl" and baseline.other_crawls and rows[-1]["prevalence"] is not None:
            control.append(rows[-1])
    # The slice's baseline drift: how far its pre-ChatGPT crawls read from zero against each other.
    drift = max(r["prevalence"] for r in control) if control else None
    moved = any(r["ci_low"] > 0 for r in control) if control else None
    for row in rows:
        row.update(baseline_drift=drift, baseline_moved=moved)
    return rows


CELL_ORDER = ["bucket", "cell", *KEY]  # a slice's cells are summed in this order, wherever they come from


def estimate_slice(frame: pd.DataFrame, ctx: SliceContext, columns: list[str]) -> pd.DataFrame:
    """estimate_rows of one slice's cells in whatever order they come: sorted first, so every sum (and so
    every draw) is the same on any cluster and on the driver."""
    frame = frame.sort_values(CELL_ORDER, kind="stable")
    return estimate_rows(frame, ctx)[columns]


def estimate_slices(cells: pd.DataFrame, ctx: SliceContext, columns: list[str]) -> pd.DataFrame:
    """estimate_slice of every slice (view x dimension x value) of `cells`, in one frame: the stats job's
    driver path. One sort for all slices (within a slice the same order as estimate_slice's), and one
    frame built from all rows: a slice whose column is all None (no pre-ChatGPT crawl, so no drift) does
    not decide that column's dtype, as it would in a pd.concat of per-slice frames."""
    slices = ["view", "dimension", "value"]
    cells = cells.sort_values([*slices, *CELL_ORDER], kind="stable")
    rows = [row for _, part in cells.groupby(slices, sort=True) for row in _slice_rows(part, ctx)]
    if rows and (missing := [c for c in columns if c not in rows[0]]):
        raise KeyError(f"no such stats columns: {missing}")
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class RowCells:
    """One row's cells as arrays, in the slice's order: (bucket, cell, n, s) and the row's scored domains."""

    bucket: np.ndarray
    cell: np.ndarray
    n: np.ndarray
    s: np.ndarray
    n_domains: int


def _row_cells(frame: pd.DataFrame):
    """(row key, RowCells) of every row key of a slice's cells, in key order; within a row the cells keep
    the frame's order. What `frame.groupby(list(KEY), sort=True)` yields, without a frame per row."""
    bucket, cell, n, s, domains = (frame[c].to_numpy() for c in ("bucket", "cell", "n", "s", "n_domains"))
    for key, at in frame.groupby(list(KEY), sort=True).indices.items():
        yield key, RowCells(bucket[at], cell[at], n[at], s[at], int(domains[at[0]]))


def _row(row: dict, cells: RowCells, baseline: Baseline, ctx: SliceContext) -> dict:
    """One row's estimates, or its reason for having none."""
    n_pages, n_domains = int(cells.n.sum()), cells.n_domains
    row.update({"human_baseline": baseline.label, "baseline_pages": baseline.pages,
                "tpr": _rate_at_threshold(ctx.llm.hist[0], ctx.binning), "fpr": None,
                "prevalence": None, "ci_low": None, "ci_high": None})
    for est in ESTIMATORS.values():
        row.update(dict.fromkeys((est.column, f"{est.column}_low", f"{est.column}_high")))
    reason = unmeasurable(n_pages, n_domains) or (None if baseline.component else "no human baseline")
    if reason is None:
        crawl, words, _ = _grouped(cells.bucket, cells.cell, cells.n, cells.s, ctx.binning)
        row["fpr"] = _rate_at_threshold(baseline.component.pages, ctx.binning)
        results = estimate_row(Evidence(crawl, baseline.component, ctx.llm, ctx.binning, words),
                               row_seed(ctx.seed, tuple(row[k] for k in KEY)), ctx.settings)
        for name, result in results.items():
            column = ESTIMATORS[name].column
            row.update({column: result.share, f"{column}_low": result.low, f"{column}_high": result.high})
        default = results.get(ctx.default) or Result(np.nan, np.nan, np.nan)
        reason = unmeasurable(n_pages, n_domains, default.low, default.high)
        if reason is None:
            row.update({"prevalence": default.share, "ci_low": default.low, "ci_high": default.high})
    row.update({"measurable": reason is None, "not_measurable": reason})
    return row
