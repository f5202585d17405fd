"""`leakwatch run`: extract -> dedup -> classify -> stats -> report over the given inputs, one config."""

from __future__ import annotations

import sys

from leakwatch.config import Config
from leakwatch.jobs.extract import exit_status, print_summary
from leakwatch.jobs.pipeline import NothingExtracted, run_pipeline
from leakwatch.jobs.spark import get_spark

# The per-crawl headline: the captures view of every page, all dimensions together.
HEADLINE_COLUMNS = ("crawl", "era", "pages", "covered", "flagged", "estimate", "95% CI")


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def headline_rows(stats_summary: dict) -> list[dict[str, str]]:
    """One row per crawl, oldest first, from the summary `run_stats` returns."""
    rows = []
    for crawl, r in sorted(stats_summary.get("crawls", {}).items()):
        covered = r["n_scored"] / r["n_docs"] if r["n_docs"] else None
        ci = "-" if r["ci_low"] is None else f"{_pct(r['ci_low'])} - {_pct(r['ci_high'])}"
        rows.append({
            "crawl": crawl,
            "era": "pre-ChatGPT" if r["pre_chatgpt"] else "post",
            "pages": str(r["n_docs"]),
            "covered": _pct(covered),
            "flagged": _pct(r["raw_share"]),
            "estimate": _pct(r["prevalence"]),
            "95% CI": ci,
        })
    return rows


def format_table(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """A plain-text table with a header line, columns padded to their widest cell."""
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def print_run_summary(summary: dict, out=None) -> None:
    """Reconciliation, what dedup and classify did, seconds per stage, and the report's path."""
    out = out or sys.stdout
    print_summary(summary["extract"], out)
    for crawl in summary.get("dedup") or []:
        print(f"dedup: {crawl['crawl']}: {crawl['documents']} documents in {crawl['clusters']} clusters, "
              f"{crawl['content_seen_before']} with content seen in an earlier crawl", file=out)
    scored = summary.get("classify", {}).get("crawls", {})
    if scored:
        print("classify: " + ", ".join(f"{c} {v['scored']}/{v['documents']} scored" for c, v in sorted(scored.items())),
              file=out)
    seconds = summary["seconds"]
    print("seconds: " + ", ".join(f"{name} {s}" for name, s in seconds.items())
          + f" (total {round(sum(seconds.values()), 1)})", file=out)


def run(config: Config) -> int:
    """CLI entry of `leakwatch run`."""
    spark = get_spark(config.spark, "leakwatch-run")
    try:
        summary = run_pipeline(config, spark)
    except NothingExtracted as exc:
        print(f"leakwatch run: {exc}", file=sys.stderr)
        return 1
    status = exit_status(summary["extract"], config.inputs.max_failed_share)
    print_run_summary(summary)
    print(format_table(headline_rows(summary["stats"]), HEADLINE_COLUMNS))
    print(f"stats: {summary['stats']['stats']} (+ .csv, .json)")
    print(f"report: {summary['report']}")
    return status


