"""The whole pipeline in one process: extract -> dedup -> classify -> stats -> report, one config.

`leakwatch run`, `leakwatch demo`, `leakwatch validate` and `leakwatch monthly` all go through
`run_pipeline`; each stage is the same function its own subcommand calls.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pyspark.sql import SparkSession

from jobs.config import Config


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_pipeline(config: Config, spark: SparkSession, say: Callable[[str], None] = _say) -> dict:
    """Run every stage over `config.inputs` into `config.warehouse`; returns each stage's summary."""
    from jobs.classify import classify
    from jobs.dedup import dedup_crawls
    from jobs.extract import run_extract
    from jobs.report import run_report
    from jobs.stats import run_stats
    from jobs.warehouse import read_documents

    summary: dict = {"run_id": config.run_id, "seconds": {}}
    stages = ("extract", "dedup", "classify", "stats", "report")

    def stage(n: int, name: str, work: Callable[[], object]) -> object:
        say(f"run: stage {n}/{len(stages)}: {name}")
        started = time.monotonic()
        result = work()
        summary["seconds"][name] = round(time.monotonic() - started, 1)
        summary[name] = result
        return result

    stage(1, "extract", lambda: run_extract(config, spark))
    stage(2, "dedup", lambda: dedup_crawls(spark, read_documents(spark, config.warehouse), config.dedup,
                                           config.warehouse))
    stage(3, "classify", lambda: classify(spark, config))
    stage(4, "stats", lambda: run_stats(spark, config))
    stage(5, "report", lambda: run_report(spark, config))
    return summary
