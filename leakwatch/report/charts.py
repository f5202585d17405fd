"""The report's charts (matplotlib, Agg: no display needed), drawn from the stats rows."""

from __future__ import annotations

import io

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from leakwatch.schemas.values import CHATGPT_RELEASE as CHATGPT_RELEASE_DATE
from leakwatch.schemas.values import LEXICON_NAMES, VIEWS

CHATGPT_RELEASE = pd.Timestamp(CHATGPT_RELEASE_DATE)
VIEW_TITLES = {
    "captures": "every capture",
    "unique": "one page per near-duplicate cluster",
    "first_seen": "content first seen in this crawl",
}
TOP_VALUES = 8  # languages / TLDs shown, by documents
MONTH_LINES = 6  # crawls drawn in the month charts (the latest ones)
MIN_MONTH_SCORED = 20  # a month with fewer scored pages is noise, not a point worth drawing
POST_COLOR, PRE_COLOR = "#1f5fa8", "#8a8a8a"
DPI = 110


def crawl_order(stats: pd.DataFrame) -> pd.DataFrame:
    """One row per crawl of the crawl slices (crawl, crawl_date, pre_chatgpt, x), oldest first."""
    crawls = stats.loc[stats["time_slice"] == "crawl", ["crawl", "crawl_date", "pre_chatgpt"]]
    crawls = crawls.drop_duplicates("crawl").copy()
    crawls["_key"] = crawls["crawl_date"].fillna("9999")
    crawls = crawls.sort_values(["_key", "crawl"]).drop(columns="_key").reset_index(drop=True)
    dates = pd.to_datetime(crawls["crawl_date"], errors="coerce")
    # A time axis when every crawl has a date (CC ids do); otherwise crawls evenly spaced in order.
    crawls["x"] = dates if len(crawls) and dates.notna().all() else pd.Series(range(len(crawls)), dtype=float)
    return crawls


def _time_axis(ax, crawls: pd.DataFrame) -> None:
    """Dates or crawl ids on the x axis; the ChatGPT release marked when it is in range."""
    if pd.api.types.is_datetime64_any_dtype(crawls["x"]):
        lo, hi = crawls["x"].min(), crawls["x"].max()
        pad = max((hi - lo) * 0.06, pd.Timedelta(days=45))
        ax.set_xlim(lo - pad, hi + pad)
        if lo - pad <= CHATGPT_RELEASE <= hi + pad:
            ax.axvline(CHATGPT_RELEASE, color="#b04a4a", lw=1, ls=":")
            ax.annotate("ChatGPT", (CHATGPT_RELEASE, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                        textcoords="offset points", fontsize=8, color="#b04a4a")
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    else:
        ax.set_xticks(list(crawls["x"]), list(crawls["crawl"]), rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.5, max(len(crawls) - 0.5, 0.5))


def _style(ax) -> None:
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def _percent_axis(ax, values: list[pd.Series]) -> None:
    """Percent ticks from 0 to a little above the largest value (shares: at most 100%)."""
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    top = max([float(np.nanmax(v.to_numpy(dtype=float))) for v in values if v.notna().any()] or [0.0])
    ax.set_ylim(0, min(1.0, max(top * 1.15, 0.02)))
    _style(ax)


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    # Tick labels only: clearing the ticks themselves would clear them on every axis sharing this one's y.
    ax.tick_params(left=False, labelleft=False)


def _prevalence_series(ax, rows: pd.DataFrame, crawls: pd.DataFrame, show_raw: bool) -> None:
    """Prevalence with its CI (band and whiskers), pre-ChatGPT crawls in grey, raw share dashed."""
    rows = crawls[["crawl", "x", "pre_chatgpt"]].merge(rows.drop(columns=["pre_chatgpt"]), on="crawl")
    ax.fill_between(rows["x"], rows["ci_low"].astype(float), rows["ci_high"].astype(float), color=POST_COLOR,
                    alpha=0.13, lw=0, label="95% CI")
    ax.plot(rows["x"], rows["prevalence"].astype(float), color=POST_COLOR, lw=1.2)
    if show_raw:
        ax.plot(rows["x"], rows["raw_share"].astype(float), color="#444444", lw=1, ls="--", marker=".",
                label="raw flagged share")
    for pre, color, label in ((True, PRE_COLOR, "prevalence, pre-ChatGPT (control)"),
                              (False, POST_COLOR, "prevalence")):
        part = rows[rows["pre_chatgpt"] == pre]
        if part.empty:
            continue
        ax.vlines(part["x"], part["ci_low"].astype(float), part["ci_high"].astype(float), color=color, lw=2.2,
                  alpha=0.55)
        ax.plot(part["x"], part["prevalence"].astype(float), ls="none", marker="o", ms=6, color=color, label=label)


def headline_rows(stats: pd.DataFrame, view: str = "captures") -> pd.DataFrame:
    mask = (stats["time_slice"] == "crawl") & (stats["view"] == view) & (stats["dimension"] == "all")
    return stats[mask]


def chart_headline(stats: pd.DataFrame, crawls: pd.DataFrame) -> Figure:
    """Prevalence over crawls with its 95% CI and the raw flagged share (captures, all pages)."""
    rows = headline_rows(stats)
    fig = Figure(figsize=(9, 4.2), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    _prevalence_series(ax, rows, crawls, show_raw=True)
    _time_axis(ax, crawls)
    _percent_axis(ax, [rows["ci_high"], rows["raw_share"], rows["prevalence"]])
    ax.set_ylabel("share of scored pages")
    ax.set_title("Estimated share of LLM-written pages per crawl (every capture)", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig


def chart_views(stats: pd.DataFrame, crawls: pd.DataFrame) -> Figure:
    """The three views side by side on one scale: captures, unique clusters, first-seen content."""
    fig = Figure(figsize=(12, 3.8), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(VIEWS), sharey=True)
    every = headline_rows(stats).iloc[0:0]
    for view in VIEWS:
        every = pd.concat([every, headline_rows(stats, view)])
    for ax, view in zip(axes, VIEWS, strict=True):
        rows = headline_rows(stats, view)
        ax.set_title(f"{view}: {VIEW_TITLES[view]}", loc="left", fontsize=9)
        _style(ax)
        if rows["prevalence"].notna().any():
            _prevalence_series(ax, rows, crawls, show_raw=False)
            _time_axis(ax, crawls)
        else:
            _no_data(ax, "no rows for this view")
    _percent_axis(axes[0], [every["ci_high"], every["prevalence"]])
    axes[0].set_ylabel("estimated LLM share")
    return fig


def latest_values(stats: pd.DataFrame, dimension: str, crawl: str) -> pd.DataFrame:
    """The top values of a dimension in one crawl (captures), by documents."""
    mask = ((stats["time_slice"] == "crawl") & (stats["view"] == "captures") & (stats["dimension"] == dimension)
            & (stats["crawl"] == crawl))
    return stats[mask].sort_values(["n_docs", "value"], ascending=[False, True]).head(TOP_VALUES)


def chart_dimension(rows: pd.DataFrame, dimension: str, crawl: str) -> Figure:
    """Horizontal bars: prevalence with CI per value of a dimension in the latest crawl."""
    fig = Figure(figsize=(7, 1.0 + 0.4 * max(len(rows), 3)), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    labels = [f"{v}  (n={int(n):,})" for v, n in zip(rows["value"], rows["n_docs"], strict=True)]
    y = np.arange(len(rows))[::-1]
    ax.barh(y, rows["prevalence"].astype(float).fillna(0), color=POST_COLOR, alpha=0.75, height=0.6)
    ax.hlines(y, rows["ci_low"].astype(float), rows["ci_high"].astype(float), color="#222222", lw=1.5)
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    top = float(np.nanmax(np.r_[rows["ci_high"].astype(float), rows["prevalence"].astype(float), 0.0]))
    ax.set_xlim(0, min(1.0, max(top * 1.15, 0.02)))
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{crawl} by {dimension}: estimate (bar) and 95% CI (line)", loc="left", fontsize=10)
    return fig


def chart_markers(stats: pd.DataFrame, crawls: pd.DataFrame) -> Figure:
    """Marker words per million words over crawls, and their excess over the pre-ChatGPT baseline."""
    rows = crawls[["crawl", "x"]].merge(headline_rows(stats), on="crawl")
    fig = Figure(figsize=(12, 3.8), dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2)
    colors = {"chatbot_leftovers": "#b04a4a", "llm_style_words": POST_COLOR, "neutral_control": PRE_COLOR}
    for ax, suffix, title in ((left, "_pmw", "Marker hits per million words"),
                              (right, "_excess_pmw", "Excess over the pre-ChatGPT rate")):
        ax.set_title(title, loc="left", fontsize=10)
        plotted = []
        for marker in LEXICON_NAMES:
            column = marker + suffix
            if column not in rows or not rows[column].notna().any():
                continue
            values = rows[column].astype(float)
            ax.plot(rows["x"], values, marker="o", ms=4, color=colors[marker], label=marker.replace("_", " "))
            plotted.append(values)
        if not plotted:
            _no_data(ax, "no pre-ChatGPT crawl to compare with" if suffix == "_excess_pmw" else "no marker counts")
            continue
        _time_axis(ax, crawls)
        ax.axhline(0, color="#999999", lw=0.8)
        # Rates differ by orders of magnitude between lexicons (and excesses can be negative): symlog
        # keeps every line legible; limits leave room above the largest and below the smallest value.
        ax.set_yscale("symlog", linthresh=0.1)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        low, high = float(np.nanmin(pd.concat(plotted))), float(np.nanmax(pd.concat(plotted)))
        ax.set_ylim(min(low * 2, 0.0), max(high * 2, 1.0))
        _style(ax)
        ax.set_ylabel("per million words (log scale)")
        ax.legend(fontsize=8, frameon=False)
    return fig


def month_rows(stats: pd.DataFrame, time_slice: str) -> pd.DataFrame:
    """Rows of a month slice (captures, all pages) with an estimate from enough scored pages, by month."""
    rows = stats[(stats["time_slice"] == time_slice) & (stats["view"] == "captures") & (stats["dimension"] == "all")
                 & (stats["n_scored"] >= MIN_MONTH_SCORED) & stats["prevalence"].notna()].copy()
    rows["x"] = pd.to_datetime(rows["period"], format="%Y-%m", errors="coerce")
    return rows.dropna(subset=["x"]).sort_values("x")


def chart_months(stats: pd.DataFrame, slices: list[str]) -> Figure:
    """Prevalence by fetch / publication month (captures, all pages), one line per crawl."""
    fig = Figure(figsize=(12, 3.8), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(slices), sharey=True))
    every = []
    for ax, time_slice in zip(axes, slices, strict=True):
        rows = month_rows(stats, time_slice)
        recent = (rows.drop_duplicates("crawl").sort_values(["crawl_date", "crawl"], na_position="first")["crawl"]
                  .tail(MONTH_LINES))
        ax.set_title(f"by {time_slice.replace('_', ' ')}", loc="left", fontsize=10)
        _style(ax)
        for crawl in recent:
            part = rows[rows["crawl"] == crawl]
            line = ax.plot(part["x"], part["prevalence"].astype(float), marker="o", ms=4, lw=1, label=crawl)
            ax.vlines(part["x"], part["ci_low"].astype(float), part["ci_high"].astype(float),
                      color=line[0].get_color(), alpha=0.45, lw=2)
            every += [part["ci_high"], part["prevalence"]]
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.legend(fontsize=7, frameon=False, title="crawl (lines: 95% CI)", title_fontsize=7)
    _percent_axis(axes[0], every)
    axes[0].set_ylabel("estimated LLM share")
    return fig


def png(fig: Figure) -> bytes:
    """A figure's PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
