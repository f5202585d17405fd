"""The report's estimator parts: the headline sentence, the warnings at the top (negative control,
baseline drift, labelled fallback, synthetic data), the table of every estimator side by side with
their agreement, and how to read them. HTML strings from stats rows; no Spark, no I/O."""

from __future__ import annotations

import pandas as pd

from leakwatch.estimators.base import ESTIMATORS
from leakwatch.estimators.rules import MAX_WIDTH, MIN_DOMAINS, MIN_PAGES, NEAR_ZERO, near_zero
from leakwatch.report.format import ci, count, esc, is_missing, num_cell, pct, text_cell
from leakwatch.schemas.values import ESTIMATOR_COLUMNS

KINDS = {e.column: e.kind for e in ESTIMATORS.values()}
NAMES = {e.column: e.name for e in ESTIMATORS.values()}

HOW_TO_READ = f"""
<p>The classifier gives every English page of at least 50 words a probability of being LLM-written.
The share of LLM-written pages is estimated from the whole distribution of those scores, as a mixture
of a <em>human component</em> (the scores of this warehouse's own pre-ChatGPT pages of the same slice:
the same web before LLMs wrote it) and an <em>LLM component</em> (the scores of labelled LLM text put
through the same pipeline). Several estimators run side by side: <code>mle</code> (maximum-likelihood
mixture), <code>hdy</code> (Hellinger distance matching), <code>acc</code> (adjusted classify-and-count
at the threshold), <code>wordfreq</code> (word occurrence rates, no classifier) and <code>bound</code>, a
lower bound that needs no LLM component: the share the human baseline cannot explain. <code>hdyb</code>
(the default) is <code>hdy</code> held to that bound: its share is raised to the bound's lower limit when
the data show <code>hdy</code> too low, and its interval reaches the bound's upper end, so it still covers
the share when LLM text scores lower than the LLM component's (a generator the model never saw). Where they
disagree, the LLM component (how unseen generators score) is the likely cause.</p>
<p>The 95% intervals come from one bootstrap per row that resamples registered domains (pages of one site
are not independent), the human baseline's domains, and the LLM component's generators and texts. A
row with fewer than {MIN_PAGES} scored pages or {MIN_DOMAINS} domains, or whose default interval is wider
than {100 * MAX_WIDTH:.0f} pp, is <em>not measurable</em>: it has no estimate and never makes the headline.
Crawls up to CC-MAIN-2022-40 were captured before ChatGPT: the <em>negative control</em>, each estimated
against the other pre-ChatGPT crawls; it should read near zero (at most {100 * NEAR_ZERO:.0f}%, interval
reaching 0). <em>Coverage</em> is the share of pages that could be scored; the estimate speaks for those.
Views: <em>captures</em> counts every page, <em>unique</em> one page per near-duplicate cluster,
<em>first_seen</em> only content not seen in an earlier crawl.</p>
"""


def estimate_text(row: pd.Series | dict) -> str:
    """The default estimate with its interval, or why the row has none."""
    if not row["measurable"]:
        return f"not measurable ({row['not_measurable']})"
    return f"{pct(row['prevalence'])} (95% CI {ci(row['ci_low'], row['ci_high'])})"


def summary(headline: pd.DataFrame, crawls: pd.DataFrame, truth: dict | None) -> str:
    """The lead sentence: the latest measurable crawl's estimate, and the negative control."""
    rows = crawls[["crawl"]].merge(headline, on="crawl")
    if rows.empty:
        return '<p class="note">The stats table has no crawl rows yet: nothing to report.</p>'
    measurable = rows[rows["measurable"]]
    if measurable.empty:
        text = ("No crawl of this warehouse is measurable: " + "; ".join(
            f"{esc(r.crawl)}: {esc(r.not_measurable)}" for r in rows.itertuples()) + ".")
    else:
        latest = measurable.iloc[-1]
        skipped = rows.loc[measurable.index[-1]:].iloc[1:]  # rows are in crawl order
        text = (f"In <strong>{esc(latest['crawl'])}</strong>, an estimated <strong>{esc(pct(latest['prevalence']))}"
                f"</strong> of scored pages were LLM-written (95% CI {esc(ci(latest['ci_low'], latest['ci_high']))}; "
                f"{esc(count(latest['n_scored']))} of {esc(count(latest['n_docs']))} pages scored; "
                f"estimator {esc(latest['estimator'])}).")
        if truth and latest["crawl"] in truth:
            text += f" The truth of these synthetic pages: {esc(pct(truth[latest['crawl']]))}."
        if len(skipped):
            text += (" Later crawls are not measurable: " + "; ".join(
                f"{esc(r.crawl)} ({esc(r.not_measurable)})" for r in skipped.itertuples()) + ".")
    pre = rows[rows["pre_chatgpt"]]
    if pre.empty:
        text += (' <span class="note">This warehouse has no pre-ChatGPT crawl (&le; CC-MAIN-2022-40): the human '
                 "component is labelled text, not this web, and the negative control is missing.</span>")
    else:
        text += (f" Negative control, {len(pre)} pre-ChatGPT crawl{'s' if len(pre) > 1 else ''}: "
                 + ", ".join(f"{esc(r.crawl)} {esc(estimate_text(r._asdict()))}" for r in pre.itertuples())
                 + " (should be near 0%).")
    return f'<p class="lead">{text}</p>'


def warnings(headline: pd.DataFrame, stats: pd.DataFrame, synthetic: dict | None) -> str:
    """What the reader must know before reading a number: synthetic data, a failed negative control, a
    moved baseline, a labelled fallback."""
    notes = []
    if synthetic:
        notes.append(f"<strong>Synthetic data.</strong> This report is built from {esc(synthetic['source'])}, not "
                     "from the web; the truth is known and shown beside every estimate.")
    failed, unchecked = [], []
    for r in headline[headline["pre_chatgpt"]].to_dict("records"):
        share, low, high = _default_estimate(r)
        if near_zero(share, low):
            continue
        # A wide interval that still excludes 0 is a failed control too, not merely an unmeasurable one.
        if share is not None and (r["measurable"] or (low is not None and low > 0)):
            failed.append(f"{esc(r['crawl'])}, captured before ChatGPT, reads {esc(pct(share))} (95% CI "
                          f"{esc(ci(low, high))}) against {esc(r['human_baseline'])}")
        else:
            unchecked.append(f"{esc(r['crawl'])}: {esc(r['not_measurable'])}")
    if unchecked:
        notes.append("<strong>Negative control not measurable.</strong> " + "; ".join(unchecked)
                     + ". Without a measurable pre-ChatGPT crawl nothing shows how far from zero the method reads "
                     "here.")
    if failed:
        notes.append("<strong>Negative control failed.</strong> " + "; ".join(failed)
            + ". Pre-ChatGPT pages should read near zero; every estimate below may carry the same bias.")
    moved = stats[(stats["time_slice"] == "crawl") & stats["baseline_moved"].eq(True)]
    if len(moved):
        slices = sorted({f"{r.view}/{r.dimension}={r.value}" for r in moved.itertuples()})
        notes.append(f"<strong>The human baseline moved</strong> between pre-ChatGPT crawls beyond its noise in "
                     f"{len(slices)} slice{'s' if len(slices) > 1 else ''} ({esc(', '.join(slices[:8]))}"
                     f"{', ...' if len(slices) > 8 else ''}): their estimates carry drift the intervals do not.")
    if headline["human_baseline"].fillna("").str.startswith("labelled").any():
        notes.append("<strong>No pre-ChatGPT crawl in this warehouse:</strong> the human component is labelled "
                     "human text, not this web; expect a bias the intervals do not cover.")
    return "".join(f'<p class="note">{n}</p>' for n in notes)


def _default_estimate(row: dict) -> tuple[float | None, float | None, float | None]:
    """The row's default estimator's share and interval from its own columns, measurable or not."""
    column = ESTIMATORS[row["estimator"]].column
    return tuple(None if is_missing(row[f"{column}{p}"]) else row[f"{column}{p}"] for p in ("", "_low", "_high"))


def estimators_table(headline: pd.DataFrame, crawls: pd.DataFrame, truth: dict | None,
                     slice_name: str = "crawl") -> str:
    """Every estimator per crawl with its interval, their spread (agreement), and the truth when known."""
    rows = crawls[["crawl"]].merge(headline, on="crawl")
    body = []
    for r in rows.to_dict("records"):
        cells = [text_cell(r["crawl"]), num_cell(r["n_scored"], count(r["n_scored"]))]
        if truth is not None:
            known = truth.get(r["crawl"])
            cells.append(num_cell(known, pct(known)))
        estimates = []
        for c in ESTIMATOR_COLUMNS:
            share = r[f"{c}"]
            shown = "n/a" if is_missing(share) else f"{pct(share)} ({ci(r[f'{c}_low'], r[f'{c}_high'])})"
            cells.append(num_cell(share, ("≥ " if KINDS[c] == "lower_bound" and not is_missing(share) else "") + shown))
            if KINDS[c] == "estimate" and not is_missing(share):
                estimates.append(share)
        spread = max(estimates) - min(estimates) if len(estimates) > 1 else None
        cells += [num_cell(spread, "n/a" if spread is None else f"{100 * spread:.1f} pp"),
                  text_cell("yes" if r["measurable"] else f"no: {r['not_measurable']}")]
        row_class = ' class="pre"' if r["pre_chatgpt"] else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    headers = ([slice_name, "scored"] + (["truth"] if truth is not None else [])
               + [f"{c} ({NAMES[c]})" for c in ESTIMATOR_COLUMNS] + ["spread of the estimates", "measurable"])
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return (f'<table id="estimators"><thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body)
            + "\n</tbody></table>")

