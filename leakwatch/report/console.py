"""What `run` and `demo` print: the pipeline's summary and one line per crawl, as plain-text tables."""

from __future__ import annotations

import sys
from typing import TextIO

from leakwatch.jobs.results import PipelineResult, StatsResult
from leakwatch.schemas.values import ESTIMATOR_COLUMNS

# The per-crawl headline: the captures view of every page, all dimensions together.
HEADLINE_COLUMNS = ("crawl", "era", "pages", "covered", "flagged", "estimate", "95% CI")
# The demo's: the true LLM share of the pages the classifier scores beside the estimate, and every estimator's.
DEMO_COLUMNS = ("crawl", "era", "scored", "truth", "estimate", "95% CI", *ESTIMATOR_COLUMNS)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def headline_rows(stats: StatsResult) -> list[dict[str, str]]:
    """One row per crawl, oldest first, from what the stats stage returned."""
    rows = []
    for crawl, r in sorted(stats.crawls.items()):
        covered = r.n_scored / r.n_docs if r.n_docs else None
        row = {
            "crawl": crawl,
            "era": "pre-ChatGPT" if r.pre_chatgpt else "post",
            "pages": str(r.n_docs),
            "scored": str(r.n_scored),
            "covered": _pct(covered),
            "flagged": _pct(r.raw_share),
            "estimate": _pct(r.prevalence) if r.measurable else "not measurable",
            "95% CI": "-" if r.ci_low is None else f"{_pct(r.ci_low)} - {_pct(r.ci_high)}",
        }
        for column, (share, low, high) in r.estimators.items():
            shown = "-" if share is None else _pct(share)
            row[column] = shown if low is None else f"{shown} ({_pct(low)}-{_pct(high)})"
        rows.append(row)
    return rows


def demo_rows(stats: StatsResult, truth: dict) -> list[dict[str, str]]:
    """The run's headline per crawl beside the true LLM share of the pages the classifier can score."""
    rows = []
    for row in headline_rows(stats):
        known = truth["crawls"].get(row["crawl"], {}).get("captures", {}).get("scorable_share")
        row["truth"] = "-" if known is None else f"{100 * known:.1f}%"
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """A plain-text table with a header line, columns padded to their widest cell."""
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def print_run_summary(result: PipelineResult, out: TextIO | None = None) -> None:
    """Reconciliation, what dedup and classify did, and the seconds per stage."""
    out = out or sys.stdout
    result.extract.print(out)
    for crawl in result.dedup:
        print(f"dedup: {crawl.crawl}: {crawl.documents} documents in {crawl.clusters} clusters, "
              f"{crawl.content_seen_before} with content seen in an earlier crawl", file=out)
    scored = result.classify.crawls if result.classify else {}
    if scored:
        print("classify: " + ", ".join(f"{c} {v.scored}/{v.documents} scored" for c, v in sorted(scored.items())),
              file=out)
    seconds = {name: round(s, 1) for name, s in result.seconds.items()}
    print("seconds: " + ", ".join(f"{name} {s}" for name, s in seconds.items())
          + f" (total {round(sum(seconds.values()), 1)})", file=out)
