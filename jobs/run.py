"""`leakwatch run`: extract -> dedup -> classify -> stats -> report over the given inputs, one config."""

from __future__ import annotations

import sys

from leakwatch.config import Config
from leakwatch.jobs.pipeline import NothingExtracted, run_pipeline
from leakwatch.jobs.spark import get_spark
from leakwatch.report.console import HEADLINE_COLUMNS, format_table, headline_rows, print_run_summary


def run(config: Config) -> int:
    """CLI entry of `leakwatch run`."""
    spark = get_spark(config.spark, "leakwatch-run")
    try:
        result = run_pipeline(spark, config)
    except NothingExtracted as exc:
        if exc.extract is not None:
            exc.extract.print(sys.stderr)  # each failed file with its reason, before the CLI's line
        raise
    status = result.extract.exit_status(config.inputs.max_failed_share)
    print_run_summary(result)
    print(format_table(headline_rows(result.stats), HEADLINE_COLUMNS))
    print(f"stats: {result.stats.stats} (+ .csv, .json)")
    print(f"report: {result.report}")
    return status
