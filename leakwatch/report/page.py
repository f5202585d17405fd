"""The report page: every file of WAREHOUSE/report/ (index.html, charts, stats copies) rendered in
memory from the stats rows, the input health and the top-scored pages. No Spark, no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakwatch import __version__
from leakwatch.config import Config
from leakwatch.report.charts import (
    MIN_MONTH_SCORED,
    chart_dimension,
    chart_headline,
    chart_markers,
    chart_months,
    chart_views,
    crawl_order,
    headline_rows,
    latest_values,
    month_rows,
    png,
)
from leakwatch.report.estimates import HOW_TO_READ, estimate_text, estimators_table, summary, warnings
from leakwatch.report.format import (
    ci,
    count,
    esc,
    html_table,
    is_missing,
    link,
    num_cell,
    pct,
    rate,
    snippet,
    text_cell,
)
from leakwatch.report.origins import Naming, Origins, naming, origin_name
from leakwatch.schemas.values import EXCESS_MARKERS, LEXICON_NAMES, MONTH_SLICES, VIEWS
from leakwatch.udfs.corpora import PRESETS as PRESET_FIELDS

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

PROVENANCE_COLUMNS = ("model_id", "minhash_fingerprint", "extractor_version", "lexicon_version", "code_version",
                      "run_id")


@dataclass
class Health:
    """Coverage and health of the inputs, from the latest ingest_log row of every file."""

    per_crawl: pd.DataFrame  # files by status, records, kept, skips by reason
    problems: pd.DataFrame  # the first PROBLEM_FILES failed/partial files, with their errors
    n_problems: int


def _provenance(stats: pd.DataFrame, config: Config, generated_at: str) -> str:
    rows = []
    for column in ("estimator", "estimators", "threshold", "tpr", "fpr", "llm_component", "binning", "word_model",
                   "replicates", *PROVENANCE_COLUMNS):
        shown = pct if column in ("tpr", "fpr") else str  # rates read as the shares they are
        values = sorted({shown(v) for v in stats[column] if not is_missing(v)}) if column in stats else []
        rows.append([text_cell(column), text_cell(", ".join(values) or "n/a")])
    rows += [[text_cell("report run id"), text_cell(config.run_id)],
             [text_cell("report leakwatch version"), text_cell(__version__)],
             [text_cell("generated at (UTC)"), text_cell(generated_at)]]
    return html_table("provenance", ["setting", "value"], rows)


def _from_cell(names: Naming, crawl: str) -> str:
    counts = names.origins.per_crawl.get(crawl, {}) if names.origins else {}
    return text_cell(", ".join(f"{origin_name(o)} {count(n)}" for o, n in counts.items()) or "n/a")


def _headline_table(rows: pd.DataFrame, crawls: pd.DataFrame, names: Naming) -> str:
    rows = crawls[["crawl"]].merge(rows, on="crawl")
    mixed = names.origins is not None and names.origins.mixed()  # a column of where each crawl's pages came from
    body = []
    for r in rows.itertuples():
        era = "pre-ChatGPT (control)" if r.pre_chatgpt else "after ChatGPT"
        cells = [text_cell(r.crawl), text_cell(r.crawl_date or "n/a"), text_cell(era),
                 num_cell(r.n_docs, count(r.n_docs)), num_cell(r.n_scored, count(r.n_scored)),
                 num_cell(r.coverage, pct(r.coverage)), num_cell(r.raw_share, pct(r.raw_share)),
                 num_cell(r.prevalence, pct(r.prevalence)) if r.measurable else text_cell(estimate_text(r._asdict())),
                 num_cell(r.ci_low, pct(r.ci_low)), num_cell(r.ci_high, pct(r.ci_high)),
                 text_cell(r.human_baseline)] + ([_from_cell(names, r.crawl)] if mixed else [])
        row_class = ' class="pre"' if r.pre_chatgpt else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    headers = [names.slice, f"{names.slice} date", "era", "pages", "scored", "coverage", "raw share", "prevalence",
               "CI low", "CI high", "human baseline"] + (["documents from"] if mixed else [])
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    rows_html = "\n".join(body)
    return f'<table id="headline"><thead><tr>{head}</tr></thead>\n<tbody>\n{rows_html}\n</tbody></table>'


def _views_table(stats: pd.DataFrame, crawls: pd.DataFrame, names: Naming) -> str:
    rows = []
    for crawl in crawls["crawl"]:
        cells = [text_cell(crawl)]
        for view in VIEWS:
            hit = headline_rows(stats, view)
            hit = hit[hit["crawl"] == crawl]
            if hit.empty:
                cells += ['<td class="na">n/a</td>'] * 2
                continue
            r = hit.iloc[0]
            cells += [num_cell(r["n_docs"], count(r["n_docs"])),
                      num_cell(r["prevalence"], f"{pct(r['prevalence'])} ({ci(r['ci_low'], r['ci_high'])})")]
        rows.append(cells)
    headers = [names.slice] + [h for v in VIEWS for h in (f"{v}: pages", f"{v}: prevalence (95% CI)")]
    return html_table("views", headers, rows)


def _dimension_table(rows: pd.DataFrame, dimension: str) -> str:
    body = [[text_cell(r.value), num_cell(r.n_docs, count(r.n_docs)), num_cell(r.coverage, pct(r.coverage)),
             num_cell(r.raw_share, pct(r.raw_share)), num_cell(r.prevalence, pct(r.prevalence)),
             text_cell(ci(r.ci_low, r.ci_high))] for r in rows.itertuples()]
    return html_table(f"by-{dimension}", [dimension, "pages", "coverage", "raw share", "prevalence", "95% CI"], body)


def _markers_table(rows: pd.DataFrame, crawls: pd.DataFrame, names: Naming) -> str:
    rows = crawls[["crawl"]].merge(rows, on="crawl")
    columns = ([f"{m}_pmw" for m in LEXICON_NAMES] + [f"{m}_excess_pmw" for m in EXCESS_MARKERS]
               + ["near_dup_share", "llm_site_share"])
    body = []
    for _, r in rows.iterrows():
        cells = [text_cell(r["crawl"]), num_cell(r["n_words"], count(r["n_words"]))]
        for column in columns:
            shown = pct(r[column]) if column.endswith("share") else rate(r[column])
            cells.append(num_cell(r[column], shown))
        body.append(cells)
    headers = [names.slice, "words"] + [c.replace("_pmw", " /M words").replace("_", " ") for c in columns]
    return html_table("markers", headers, body)


def _health_section(health: Health | None, names: Naming) -> str:
    if health is None:
        return '<p class="note">No <code>ingest_log</code> in this warehouse: nothing to say about the inputs.</p>'
    per_crawl = health.per_crawl
    columns = list(per_crawl.columns)
    body = [[text_cell(r["crawl"])] + [num_cell(r[c], count(r[c])) for c in columns[1:]]
            for _, r in per_crawl.iterrows()]
    headers = [names.slice if c == "crawl" else c for c in columns]
    parts = [html_table("health", headers, body, "input files by their latest run")]
    if health.n_problems:
        more = (f" (the first {len(health.problems)} of {health.n_problems})"
                if health.n_problems > len(health.problems) else "")
        parts.append(f"<h3>Failed and partial files{esc(more)}</h3>")
        body = [[text_cell(r.status), text_cell(r.crawl), text_cell(r.path),
                 text_cell(f"{r.error_class or ''}: {r.error_message or ''}".strip(": ")),
                 num_cell(r.records, count(r.records)), num_cell(r.kept, count(r.kept))]
                for r in health.problems.itertuples()]
        parts.append(html_table("problems", ["status", names.slice, "file", "error", "records", "kept"], body))
    else:
        parts.append("<p>Every input file was read completely.</p>")
    return "\n".join(parts)


def _examples_section(examples: pd.DataFrame, crawl: str | None, names: Naming) -> str:
    if examples.empty:
        return "<p>No scored pages to show.</p>"
    body = [[num_cell(r.p_llm, f"{r.p_llm:.5f}"),
             f'<td>{link(r.url)}<br><span class="muted">{esc(r.registered_domain)} · {esc(r.language)} · '
             f'{count(r.n_words)} words</span><div class="snippet">{esc(snippet(r.text))}</div></td>']
            for r in examples.itertuples()]
    intro = (f"<p>The {len(examples)} pages of {esc(names.slice_of(crawl))} the classifier is most sure of. High "
             "scores are where its mistakes concentrate too: read them as examples, not as proof.</p>")
    return intro + html_table("examples", ["P(LLM)", "page"], body)


def _origins_line(names: Naming) -> str:
    """What the documents are, named at the top: each origin with its documents, and what a slice is."""
    if names.origins is None:
        return ""
    shown = " · ".join(f"{esc(origin_name(o))}: {esc(count(n))} documents" for o, n in names.origins.totals().items())
    corpora = names.origins.corpora()
    window = "the Common Crawl crawl whose capture window holds the row's date"
    if names.slice != "crawl":  # in the order udfs.corpus_ingest tries them
        field = PRESET_FIELDS[corpora[0]].crawl
        shown += (f". A {esc(names.slice)} is, unless <code>--crawl</code> names one, "
                  + (f"the crawl the row's <code>{esc(field[0])}</code> field names" if field
                     else f"a crawl in the file's path, else {window}"))
    elif corpora:
        shown += (". A corpus row's crawl is <code>--crawl</code>, else the one its crawl field names, else one "
                  f"in its file's path, else {window}")
    return f"<p>Data: {shown}.</p>"


def _figure(name: str, alt: str) -> str:
    return f'<p><img src="{esc(name)}" alt="{esc(alt)}"></p>'


def render(stats: pd.DataFrame, health: Health | None, examples: pd.DataFrame, config: Config,
           generated_at: str, synthetic: dict | None = None, origins: Origins | None = None) -> dict[str, bytes]:
    """Every file of the report (index.html, charts, stats copies) by name; no I/O. `synthetic` is the truth
    of a warehouse built from synthetic shards (schemas.values.SYNTHETIC_TRUTH), shown beside the estimates;
    `origins` the documents per origin and crawl, which name the data and its slices."""
    files: dict[str, bytes] = {}
    crawls = crawl_order(stats)
    headline = headline_rows(stats)
    latest = crawls["crawl"].iloc[-1] if len(crawls) else None
    truth = synthetic["crawls"] if synthetic else None
    names = naming(origins)
    title = f"How much of {names.subject} is LLM-written?" + (" (synthetic demo data)" if synthetic else "")
    sections = [f"<h1>{esc(title)}</h1>"
                f'<p class="muted">leakwatch report · warehouse {esc(config.warehouse)} · generated '
                f'{esc(generated_at)} UTC · data: <a href="stats.csv">stats.csv</a>, '
                '<a href="stats.json">stats.json</a></p>', _origins_line(names),
                warnings(headline, stats, synthetic), summary(headline, crawls, truth),
                "<h2>How to read this</h2>", HOW_TO_READ]

    sections.append(f"<h2>Prevalence over {esc(names.slices)}</h2>")
    if headline["prevalence"].notna().any():
        files["prevalence.png"] = png(chart_headline(stats, crawls))
        sections.append(_figure("prevalence.png", "estimated LLM share per crawl with 95% confidence band"))
    sections.append(_headline_table(headline, crawls, names))
    sections += ["<h2>Every estimator</h2><p>Each estimator's share and 95% interval (a bound's interval is the "
                 "bound's), the spread between the estimates (how much they disagree), "
                 + ("the true share of these synthetic pages, " if truth is not None else "")
                 + "and whether the row is measurable.</p>", estimators_table(headline, crawls, truth, names.slice)]

    sections.append("<h2>Three views</h2><p>The same estimate over every capture, over one page per "
                    f"near-duplicate cluster, and over content first seen in that {esc(names.slice)}.</p>")
    if len(crawls):
        files["views.png"] = png(chart_views(stats, crawls))
        sections.append(_figure("views.png", "estimated LLM share per crawl in the three views"))
    sections.append(_views_table(stats, crawls, names))

    for dimension, title in (("language", "By language"), ("tld", "By top-level domain")):
        rows = latest_values(stats, dimension, latest) if latest else stats.iloc[0:0]
        sections.append(f"<h2>{title}</h2>")
        if rows.empty:
            sections.append(f"<p>No {esc(dimension)} rows in the stats table.</p>")
            continue
        files[f"{dimension}.png"] = png(chart_dimension(rows, dimension, latest))
        sections.append(f"<p>The {len(rows)} largest by pages in {esc(names.slice_of(latest))}, every capture.</p>")
        sections += [_figure(f"{dimension}.png", f"estimated LLM share by {dimension}"),
                     _dimension_table(rows, dimension)]

    sections.append("<h2>Markers over time</h2><p>Counts of marker words and phrases, independent of the "
                    "classifier: chatbot leftovers (&ldquo;as an AI language model&rdquo;), words LLMs favour "
                    "(&ldquo;delve&rdquo;), and neutral control words that should stay flat.</p>")
    if len(headline):
        files["markers.png"] = png(chart_markers(stats, crawls))
        sections.append(_figure("markers.png", "marker words per million words over crawls"))
        sections.append(_markers_table(headline, crawls, names))

    slices = [s for s in MONTH_SLICES if not month_rows(stats, s).empty]
    if slices:
        sections.append("<h2>By month</h2><p>Fetch month is when the crawler captured a page; published month "
                        "is the date the page gives for itself, where it gives one. Months with fewer than "
                        f"{MIN_MONTH_SCORED} scored pages are left out.</p>")
        files["months.png"] = png(chart_months(stats, slices))
        sections.append(_figure("months.png", "estimated LLM share by month"))

    sections += ["<h2>Coverage and health of the inputs</h2>", _health_section(health, names),
                 "<h2>Examples</h2>", _examples_section(examples, latest, names),
                 "<h2>Provenance</h2>", _provenance(stats, config, generated_at)]
    tab = "leakwatch report" + ("" if names.subject == Naming.subject else f": {names.subject}")
    page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(tab)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(sections) + "\n</body></html>\n")
    files["index.html"] = page.encode("utf-8")
    files["stats.csv"] = stats.to_csv(index=False).encode("utf-8")
    files["stats.json"] = stats_json(stats).encode("utf-8")
    return files


def stats_json(stats: pd.DataFrame) -> str:
    """The stats rows as a JSON array of objects; missing numbers are null, floats exact."""
    records = [{k: (None if is_missing(v) else v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
               for r in stats.to_dict(orient="records")]
    return json.dumps(records, indent=1, allow_nan=False, ensure_ascii=False)
