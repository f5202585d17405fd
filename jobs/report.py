"""`leakwatch report`: the warehouse's `stats`, `ingest_log` and top-scored pages -> a static HTML page.

Writes `WAREHOUSE/report/`: `index.html`, PNG charts (matplotlib, no display needed), and copies of
the stats table as `stats.csv` and `stats.json`. Everything that came from a crawl (URLs, text,
domains, language and TLD values, file paths, error messages) is HTML-escaped, and only http(s)
URLs become links: the page is safe to open whatever the crawl held.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from leakwatch import __version__
from leakwatch.errors import ConfigError, TableMissing
from leakwatch.jobs.config import Config
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.warehouse import (
    latest_ingest_log,
    path_exists,
    read_documents,
    table_path,
    write_bytes,
)
from leakwatch.schemas.tables import STATS
from leakwatch.schemas.values import CHATGPT_RELEASE as CHATGPT_RELEASE_DATE
from leakwatch.schemas.values import EXCESS_MARKERS, FILE_STATUSES, LEXICON_NAMES, MONTH_SLICES, VIEWS

CHATGPT_RELEASE = pd.Timestamp(CHATGPT_RELEASE_DATE)
VIEW_TITLES = {
    "captures": "every capture",
    "unique": "one page per near-duplicate cluster",
    "first_seen": "content first seen in this crawl",
}
PROVENANCE_COLUMNS = ("model_id", "minhash_fingerprint", "extractor_version", "lexicon_version", "code_version",
                      "run_id")
EXAMPLES = 10
SNIPPET_CHARS = 300
TOP_VALUES = 8  # languages / TLDs shown, by documents
MONTH_LINES = 6  # crawls drawn in the month charts (the latest ones)
MIN_MONTH_SCORED = 20  # a month with fewer scored pages is noise, not a point worth drawing
PROBLEM_FILES = 50  # failed / partial files listed with their errors
POST_COLOR, PRE_COLOR = "#1f5fa8", "#8a8a8a"
DPI = 110


class StatsMissing(TableMissing):
    """The warehouse has no `stats` table yet."""


@dataclass
class Health:
    """Coverage and health of the inputs, from the latest ingest_log row of every file."""

    per_crawl: pd.DataFrame  # files by status, records, kept, skips by reason
    problems: pd.DataFrame  # the first PROBLEM_FILES failed/partial files, with their errors
    n_problems: int


# ---------------------------------------------------------------------------------------------
# Reading the warehouse (Spark; everything collected here is small)


def load_stats(spark: SparkSession, warehouse: str) -> pd.DataFrame:
    """The stats table as pandas, sorted for stable output; StatsMissing when it was never written."""
    path = table_path(warehouse, "stats")
    if not path_exists(spark, path):
        raise StatsMissing(f"no stats table at {path}: run `leakwatch stats --out {warehouse}` first")
    frame = spark.read.parquet(path).toPandas()
    missing = [name for name in STATS.fieldNames() if name not in frame.columns]
    if missing:
        raise ConfigError(f"{path} lacks the columns {', '.join(missing)}: it was written by another leakwatch "
                          f"version; run `leakwatch stats --out {warehouse}` again")
    extra = [c for c in frame.columns if c not in STATS.fieldNames()]
    order = ["time_slice", "view", "dimension", "value", "crawl", "period"]
    return frame[STATS.fieldNames() + extra].sort_values(order, kind="stable").reset_index(drop=True)


def load_health(spark: SparkSession, warehouse: str) -> Health | None:
    """Files by status, records, kept and skips per crawl, and the failed/partial files; None without a log."""
    log = latest_ingest_log(spark, warehouse)
    if log is None:
        return None
    # Three small aggregations read the latest row per file: rank the log once, not three times.
    columns = ("crawl", "path", "status", "error_class", "error_message", "records", "kept", "skipped")
    log = log.select(*columns).persist()
    try:
        per_crawl = log.groupBy("crawl").agg(
            F.count("*").alias("files"),
            *(F.sum((F.col("status") == s).cast("long")).alias(s) for s in FILE_STATUSES),
            F.sum("records").alias("records"),
            F.sum("kept").alias("kept"),
        ).toPandas()
        skips = (log.select("crawl", F.explode("skipped").alias("reason", "n"))
                 .groupBy("crawl", "reason").agg(F.sum("n").alias("n")).toPandas())
        problems = (log.where(F.col("status") != "ok").drop("skipped").orderBy("status", "crawl", "path")
                    .limit(PROBLEM_FILES).toPandas())
    finally:
        log.unpersist()
    if not skips.empty:
        wide = skips.pivot(index="crawl", columns="reason", values="n").fillna(0).astype("int64")
        wide.columns = [f"skipped: {c}" for c in wide.columns]
        per_crawl = per_crawl.merge(wide, left_on="crawl", right_index=True, how="left")
        per_crawl[list(wide.columns)] = per_crawl[list(wide.columns)].fillna(0).astype("int64")
    n_problems = int(per_crawl["partial"].sum() + per_crawl["failed"].sum())
    return Health(per_crawl.sort_values("crawl").reset_index(drop=True), problems, n_problems)


def load_examples(spark: SparkSession, warehouse: str, crawl: str, n: int = EXAMPLES) -> pd.DataFrame:
    """The `n` highest-p_llm scored valid pages of a crawl (url, domain, language, p_llm, text head)."""
    scores_path = table_path(warehouse, "scores")
    if not path_exists(spark, scores_path):
        return pd.DataFrame()
    try:
        docs = read_documents(spark, warehouse, [crawl])
    except FileNotFoundError:
        return pd.DataFrame()
    scores = (spark.read.parquet(scores_path)
              .where((F.col("crawl") == crawl) & F.col("scored") & F.col("p_llm").isNotNull())
              .select("doc_id", "p_llm"))
    # The snippet needs ~300 characters; cutting in Spark keeps whole page texts off the driver.
    head = F.substring("text", 1, SNIPPET_CHARS * 2).alias("text")
    pages = docs.select("doc_id", "url", "registered_domain", "language", "n_words", head)
    return (pages.join(scores, "doc_id").orderBy(F.col("p_llm").desc(), "doc_id").limit(n).toPandas())


# ---------------------------------------------------------------------------------------------
# Formatting


def _e(value: object) -> str:
    """HTML-escaped text of any value (crawled strings included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def pct(value: object) -> str:
    """A share as a percentage: two decimals under 1%, one above; 'n/a' when missing."""
    if _missing(value):
        return "n/a"
    v = float(value) * 100
    if v == 0:
        return "0%"
    return f"{v:.2f}%" if abs(v) < 1 else f"{v:.1f}%"


def ci(low: object, high: object) -> str:
    """A confidence interval as 'low – high' in percent."""
    if _missing(low) or _missing(high):
        return "n/a"
    return f"{pct(low)} – {pct(high)}"


def count(value: object) -> str:
    """An integer count with thousands separators."""
    return "n/a" if _missing(value) else f"{int(value):,}"


def rate(value: object) -> str:
    """A marker rate per million words."""
    return "n/a" if _missing(value) else f"{float(value):,.1f}"


def _cell(value: object, shown: str) -> str:
    """A table cell showing `shown`, with the exact number in data-value for tools and tests."""
    if _missing(value):
        return '<td class="num na">n/a</td>'
    exact = repr(float(value)) if isinstance(value, float | np.floating) else str(int(value))
    return f'<td class="num" data-value="{_e(exact)}">{_e(shown)}</td>'


def _text_cell(value: object) -> str:
    return f"<td>{_e(value)}</td>"


def _table(table_id: str, headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    """An HTML table from escaped headers and ready-made cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "\n".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<table id="{_e(table_id)}">{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'


def link(url: object) -> str:
    """An escaped link for http(s) URLs; anything else (javascript:, data:, ...) as plain escaped text."""
    text = "" if url is None else str(url)
    if urlparse(text).scheme.lower() in ("http", "https"):
        return f'<a href="{_e(text)}" rel="nofollow noopener noreferrer">{_e(text)}</a>'
    return _e(text)


def snippet(text: object, limit: int = SNIPPET_CHARS) -> str:
    """The first ~`limit` characters of a page text, whitespace collapsed, cut at a word boundary."""
    flat = re.sub(r"\s+", " ", "" if text is None else str(text)).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + " …"


# ---------------------------------------------------------------------------------------------
# Charts


def _crawl_order(stats: pd.DataFrame) -> pd.DataFrame:
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


def _headline_rows(stats: pd.DataFrame, view: str = "captures") -> pd.DataFrame:
    mask = (stats["time_slice"] == "crawl") & (stats["view"] == view) & (stats["dimension"] == "all")
    return stats[mask]


def chart_headline(stats: pd.DataFrame, crawls: pd.DataFrame) -> Figure:
    """Prevalence over crawls with its 95% CI and the raw flagged share (captures, all pages)."""
    rows = _headline_rows(stats)
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
    every = _headline_rows(stats).iloc[0:0]
    for view in VIEWS:
        every = pd.concat([every, _headline_rows(stats, view)])
    for ax, view in zip(axes, VIEWS, strict=True):
        rows = _headline_rows(stats, view)
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


def _latest_values(stats: pd.DataFrame, dimension: str, crawl: str) -> pd.DataFrame:
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
    rows = crawls[["crawl", "x"]].merge(_headline_rows(stats), on="crawl")
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


def _month_rows(stats: pd.DataFrame, time_slice: str) -> pd.DataFrame:
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
        rows = _month_rows(stats, time_slice)
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


# ---------------------------------------------------------------------------------------------
# The page

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222;
       max-width: 1180px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.lead { font-size: 1.15em; } .muted { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e5e5e5; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: #999; text-align: right; } tr.pre td { color: #666; background: #fafafa; }
img { max-width: 100%; height: auto; } .note { background: #fff8e5; padding: 0.5em 0.8em; }
.snippet { font-size: 0.9em; color: #333; max-width: 60em; } a { word-break: break-all; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""

HOW_TO_READ = """
<p>The classifier gives every English page of at least 50 words a probability of being LLM-written;
a page is <em>flagged</em> when that probability reaches the operating threshold. The flagged share
(<em>raw share</em>) is not the prevalence: the classifier misses LLM text and flags human text at
rates measured on labelled data (TPR and FPR below). The <em>prevalence</em> corrects for both:
(raw share &minus; FPR) / (TPR &minus; FPR), clipped to [0, 1]. The 95% confidence interval comes
from a bootstrap that resamples whole registered domains (pages of one site are not independent)
and redraws TPR and FPR from their calibration counts; it covers sampling and calibration
uncertainty, not a calibration set that is unlike the web pages measured.</p>
<p>Crawls up to CC-MAIN-2022-40 were captured before ChatGPT's release: they are the
<em>negative control</em>. Their prevalence should be near zero; where it is not, the correction
(most likely the FPR) does not fit these pages, and later crawls carry the same bias.
<em>Coverage</em> is the share of pages that could be scored; the estimate speaks for those only.
Views: <em>captures</em> counts every page, <em>unique</em> one page per near-duplicate cluster,
<em>first_seen</em> only content not seen in an earlier crawl.</p>
"""


def _provenance(stats: pd.DataFrame, config: Config, generated_at: str) -> str:
    rows = []
    for column in ("threshold", "tpr", "fpr", "calibration", "replicates", *PROVENANCE_COLUMNS):
        shown = pct if column in ("tpr", "fpr") else str  # rates read as the shares they are
        values = sorted({shown(v) for v in stats[column] if not _missing(v)}) if column in stats else []
        rows.append([_text_cell(column), _text_cell(", ".join(values) or "n/a")])
    rows += [[_text_cell("report run id"), _text_cell(config.run_id)],
             [_text_cell("report leakwatch version"), _text_cell(__version__)],
             [_text_cell("generated at (UTC)"), _text_cell(generated_at)]]
    return _table("provenance", ["setting", "value"], rows)


def _headline_table(rows: pd.DataFrame, crawls: pd.DataFrame) -> str:
    rows = crawls[["crawl"]].merge(rows, on="crawl")
    body = []
    for r in rows.itertuples():
        era = "pre-ChatGPT (control)" if r.pre_chatgpt else "after ChatGPT"
        cells = [_text_cell(r.crawl), _text_cell(r.crawl_date or "n/a"), _text_cell(era),
                 _cell(r.n_docs, count(r.n_docs)), _cell(r.n_scored, count(r.n_scored)),
                 _cell(r.coverage, pct(r.coverage)), _cell(r.raw_share, pct(r.raw_share)),
                 _cell(r.prevalence, pct(r.prevalence)), _cell(r.ci_low, pct(r.ci_low)),
                 _cell(r.ci_high, pct(r.ci_high))]
        row_class = ' class="pre"' if r.pre_chatgpt else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    headers = ["crawl", "crawl date", "era", "pages", "scored", "coverage", "raw share", "prevalence",
               "CI low", "CI high"]
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    rows_html = "\n".join(body)
    return f'<table id="headline"><thead><tr>{head}</tr></thead>\n<tbody>\n{rows_html}\n</tbody></table>'


def _views_table(stats: pd.DataFrame, crawls: pd.DataFrame) -> str:
    rows = []
    for crawl in crawls["crawl"]:
        cells = [_text_cell(crawl)]
        for view in VIEWS:
            hit = _headline_rows(stats, view)
            hit = hit[hit["crawl"] == crawl]
            if hit.empty:
                cells += ['<td class="na">n/a</td>'] * 2
                continue
            r = hit.iloc[0]
            cells += [_cell(r["n_docs"], count(r["n_docs"])),
                      _cell(r["prevalence"], f"{pct(r['prevalence'])} ({ci(r['ci_low'], r['ci_high'])})")]
        rows.append(cells)
    headers = ["crawl"] + [h for v in VIEWS for h in (f"{v}: pages", f"{v}: prevalence (95% CI)")]
    return _table("views", headers, rows)


def _dimension_table(rows: pd.DataFrame, dimension: str) -> str:
    body = [[_text_cell(r.value), _cell(r.n_docs, count(r.n_docs)), _cell(r.coverage, pct(r.coverage)),
             _cell(r.raw_share, pct(r.raw_share)), _cell(r.prevalence, pct(r.prevalence)),
             _text_cell(ci(r.ci_low, r.ci_high))] for r in rows.itertuples()]
    return _table(f"by-{dimension}", [dimension, "pages", "coverage", "raw share", "prevalence", "95% CI"], body)


def _markers_table(rows: pd.DataFrame, crawls: pd.DataFrame) -> str:
    rows = crawls[["crawl"]].merge(rows, on="crawl")
    columns = ([f"{m}_pmw" for m in LEXICON_NAMES] + [f"{m}_excess_pmw" for m in EXCESS_MARKERS]
               + ["near_dup_share", "llm_site_share"])
    body = []
    for _, r in rows.iterrows():
        cells = [_text_cell(r["crawl"]), _cell(r["n_words"], count(r["n_words"]))]
        for column in columns:
            shown = pct(r[column]) if column.endswith("share") else rate(r[column])
            cells.append(_cell(r[column], shown))
        body.append(cells)
    headers = ["crawl", "words"] + [c.replace("_pmw", " /M words").replace("_", " ") for c in columns]
    return _table("markers", headers, body)


def _health_section(health: Health | None) -> str:
    if health is None:
        return '<p class="note">No <code>ingest_log</code> in this warehouse: nothing to say about the inputs.</p>'
    per_crawl = health.per_crawl
    headers = list(per_crawl.columns)
    body = [[_text_cell(r["crawl"])] + [_cell(r[c], count(r[c])) for c in headers[1:]] for _, r in per_crawl.iterrows()]
    parts = [_table("health", headers, body, "input files by their latest run")]
    if health.n_problems:
        more = (f" (the first {len(health.problems)} of {health.n_problems})"
                if health.n_problems > len(health.problems) else "")
        parts.append(f"<h3>Failed and partial files{_e(more)}</h3>")
        body = [[_text_cell(r.status), _text_cell(r.crawl), _text_cell(r.path),
                 _text_cell(f"{r.error_class or ''}: {r.error_message or ''}".strip(": ")),
                 _cell(r.records, count(r.records)), _cell(r.kept, count(r.kept))]
                for r in health.problems.itertuples()]
        parts.append(_table("problems", ["status", "crawl", "file", "error", "records", "kept"], body))
    else:
        parts.append("<p>Every input file was read completely.</p>")
    return "\n".join(parts)


def _examples_section(examples: pd.DataFrame, crawl: str | None) -> str:
    if examples.empty:
        return "<p>No scored pages to show.</p>"
    body = [[_cell(r.p_llm, f"{r.p_llm:.5f}"),
             f'<td>{link(r.url)}<br><span class="muted">{_e(r.registered_domain)} · {_e(r.language)} · '
             f'{count(r.n_words)} words</span><div class="snippet">{_e(snippet(r.text))}</div></td>']
            for r in examples.itertuples()]
    intro = (f"<p>The {len(examples)} pages of {_e(crawl)} the classifier is most sure of. High scores are "
             "where its mistakes concentrate too: read them as examples, not as proof.</p>")
    return intro + _table("examples", ["P(LLM)", "page"], body)


def _figure(name: str, alt: str) -> str:
    return f'<p><img src="{_e(name)}" alt="{_e(alt)}"></p>'


def _summary(headline: pd.DataFrame, crawls: pd.DataFrame) -> str:
    rows = crawls[["crawl"]].merge(headline, on="crawl")
    if rows.empty:
        return '<p class="note">The stats table has no crawl rows yet: nothing to report.</p>'
    latest = rows.iloc[-1]
    text = (f"In <strong>{_e(latest['crawl'])}</strong>, an estimated <strong>{_e(pct(latest['prevalence']))}"
            f"</strong> of scored pages were LLM-written (95% CI {_e(ci(latest['ci_low'], latest['ci_high']))}; "
            f"{_e(count(latest['n_scored']))} of {_e(count(latest['n_docs']))} pages scored).")
    pre = rows[rows["pre_chatgpt"]]
    if pre.empty:
        text += (' <span class="note">This warehouse has no pre-ChatGPT crawl (&le; CC-MAIN-2022-40), so the '
                 "negative control is missing: add one to see how far from zero the method reads where the truth "
                 "is zero.</span>")
    else:
        text += (f" Negative control, {len(pre)} pre-ChatGPT crawl{'s' if len(pre) > 1 else ''}: "
                 + ", ".join(f"{_e(r.crawl)} {_e(pct(r.prevalence))}" for r in pre.itertuples())
                 + " (should be near 0%).")
    return f'<p class="lead">{text}</p>'


def render(stats: pd.DataFrame, health: Health | None, examples: pd.DataFrame, config: Config,
           generated_at: str) -> dict[str, bytes]:
    """Every file of the report (index.html, charts, stats copies) by name; no I/O."""
    files: dict[str, bytes] = {}
    crawls = _crawl_order(stats)
    headline = _headline_rows(stats)
    latest = crawls["crawl"].iloc[-1] if len(crawls) else None
    sections = [f"<h1>How much of the crawl is LLM-written?</h1>"
                f'<p class="muted">leakwatch report · warehouse {_e(config.warehouse)} · generated {_e(generated_at)} '
                f'UTC · data: <a href="stats.csv">stats.csv</a>, <a href="stats.json">stats.json</a></p>',
                _summary(headline, crawls), "<h2>How to read this</h2>", HOW_TO_READ]

    sections.append("<h2>Prevalence over crawls</h2>")
    if headline["prevalence"].notna().any():
        files["prevalence.png"] = png(chart_headline(stats, crawls))
        sections.append(_figure("prevalence.png", "estimated LLM share per crawl with 95% confidence band"))
    sections.append(_headline_table(headline, crawls))

    sections.append("<h2>Three views</h2><p>The same estimate over every capture, over one page per "
                    "near-duplicate cluster, and over content first seen in that crawl.</p>")
    if len(crawls):
        files["views.png"] = png(chart_views(stats, crawls))
        sections.append(_figure("views.png", "estimated LLM share per crawl in the three views"))
    sections.append(_views_table(stats, crawls))

    for dimension, title in (("language", "By language"), ("tld", "By top-level domain")):
        rows = _latest_values(stats, dimension, latest) if latest else stats.iloc[0:0]
        sections.append(f"<h2>{title}</h2>")
        if rows.empty:
            sections.append(f"<p>No {_e(dimension)} rows in the stats table.</p>")
            continue
        files[f"{dimension}.png"] = png(chart_dimension(rows, dimension, latest))
        sections.append(f"<p>The {len(rows)} largest by pages in {_e(latest)}, every capture.</p>")
        sections += [_figure(f"{dimension}.png", f"estimated LLM share by {dimension}"),
                     _dimension_table(rows, dimension)]

    sections.append("<h2>Markers over time</h2><p>Counts of marker words and phrases, independent of the "
                    "classifier: chatbot leftovers (&ldquo;as an AI language model&rdquo;), words LLMs favour "
                    "(&ldquo;delve&rdquo;), and neutral control words that should stay flat.</p>")
    if len(headline):
        files["markers.png"] = png(chart_markers(stats, crawls))
        sections.append(_figure("markers.png", "marker words per million words over crawls"))
        sections.append(_markers_table(headline, crawls))

    slices = [s for s in MONTH_SLICES if not _month_rows(stats, s).empty]
    if slices:
        sections.append("<h2>By month</h2><p>Fetch month is when the crawler captured a page; published month "
                        "is the date the page gives for itself, where it gives one. Months with fewer than "
                        f"{MIN_MONTH_SCORED} scored pages are left out.</p>")
        files["months.png"] = png(chart_months(stats, slices))
        sections.append(_figure("months.png", "estimated LLM share by month"))

    sections += ["<h2>Coverage and health of the inputs</h2>", _health_section(health),
                 "<h2>Examples</h2>", _examples_section(examples, latest),
                 "<h2>Provenance</h2>", _provenance(stats, config, generated_at)]
    page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>leakwatch report</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(sections) + "\n</body></html>\n")
    files["index.html"] = page.encode("utf-8")
    files["stats.csv"] = stats.to_csv(index=False).encode("utf-8")
    files["stats.json"] = stats_json(stats).encode("utf-8")
    return files


def stats_json(stats: pd.DataFrame) -> str:
    """The stats rows as a JSON array of objects; missing numbers are null, floats exact."""
    records = [{k: (None if _missing(v) else v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
               for r in stats.to_dict(orient="records")]
    return json.dumps(records, indent=1, allow_nan=False, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# The job


def _local_dir(uri: str) -> Path | None:
    """A plain filesystem path for warehouses given as one; None for URIs (s3a://, file://, hdfs://)."""
    return None if urlparse(uri).scheme else Path(uri)


def run_report(spark: SparkSession, config: Config) -> str:
    """Render the report of `config.warehouse` into its `report/` folder; returns the path of index.html."""
    warehouse = config.warehouse
    stats = load_stats(spark, warehouse)
    crawls = _crawl_order(stats)
    latest = crawls["crawl"].iloc[-1] if len(crawls) else None
    examples = load_examples(spark, warehouse, latest) if latest else pd.DataFrame()
    generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    files = render(stats, load_health(spark, warehouse), examples, config, generated_at)
    out = table_path(warehouse, "report")
    local = _local_dir(out)
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)
        for stale in local.glob("*.png"):  # a chart with no data this time must not linger from the last run
            stale.unlink()
        for name, data in files.items():
            (local / name).write_bytes(data)
        return str(local / "index.html")
    # Every file is rendered in memory before the first is written: a chart that fails leaves the
    # folder as it was. Hadoop's FileSystem then writes to whatever the warehouse URI names.
    for name, data in files.items():
        write_bytes(spark, f"{out}/{name}", data)
    return f"{out}/index.html"


def register(subparsers) -> None:
    """Add `leakwatch report`."""
    from leakwatch.jobs.cli import add_common_options

    parser = subparsers.add_parser("report", help="stats + ingest_log -> static HTML report with charts")
    add_common_options(parser)
    parser.set_defaults(func=run)


def run(config: Config, args) -> int:
    """Write the report and print the path of its index.html."""
    print(run_report(get_spark(config.spark), config))
    return 0
