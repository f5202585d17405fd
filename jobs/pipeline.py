"""The whole pipeline in one process: extract -> dedup -> classify -> stats -> report, one config.

`leakwatch run`, `leakwatch demo` and `leakwatch validate` go through `run_pipeline`; each stage is
the same function its own subcommand calls. Dedup and classify work only on the crawls that need
it, so a rerun that extracts nothing new costs the stats and the report alone:
- dedup: the crawls this run extracted files of, the crawls without clusters yet, and every crawl
  after the earliest of those (a crawl that arrives late changes what later crawls saw first);
- classify: the crawls this run extracted, and the crawls without scores of the current model.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch.config import Config
from leakwatch.jobs.warehouse import latest_ingest_log, path_exists, read_ingest_log, table_path

STAGES = ("extract", "dedup", "classify", "stats", "report")


class NothingExtracted(RuntimeError):
    """The warehouse holds no documents after extract: every input failed or was empty."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def crawls_of_run(spark: SparkSession, warehouse: str, run_id: str) -> set[str]:
    """Crawls of the input files this run extracted (from its ingest_log rows)."""
    log = read_ingest_log(spark, warehouse)
    if log is None:
        return set()
    return {r.crawl for r in log.where(F.col("run_id") == run_id).select("crawl").distinct().collect()}


def _crawls_in(spark: SparkSession, warehouse: str, table: str, where=None) -> set[str]:
    path = table_path(warehouse, table)
    if not path_exists(spark, path):
        return set()
    frame = spark.read.parquet(path)
    if where is not None:
        frame = frame.where(where)
    return {r.crawl for r in frame.select("crawl").distinct().collect()}


def crawls_to_dedup(spark: SparkSession, warehouse: str, docs: DataFrame, touched: set[str]) -> list[str]:
    """The crawls dedup must (re)write, oldest first (see the module doc)."""
    from leakwatch.jobs.clusters import crawl_orders

    orders = crawl_orders(docs)
    pending = (touched | (set(orders) - _crawls_in(spark, warehouse, "clusters"))) & set(orders)
    if not pending:
        return []
    earliest = min(orders[c] for c in pending)
    return sorted((c for c in orders if orders[c] >= earliest), key=orders.__getitem__)


def crawls_to_classify(spark: SparkSession, config: Config, docs: DataFrame, touched: set[str]) -> list[str]:
    """The crawls classify must (re)score: touched ones and those without scores of the current model."""
    from leakwatch.udfs.classifier import resolve_model

    _, mid = resolve_model(config.classify.model)
    present = {r.crawl for r in docs.select("crawl").distinct().collect()}
    current = _crawls_in(spark, config.warehouse, "scores", F.col("model_id") == mid)
    stale = _crawls_in(spark, config.warehouse, "scores", F.col("model_id") != mid)
    return sorted((touched | (present - current) | stale) & present)


def run_pipeline(config: Config, spark: SparkSession, say: Callable[[str], None] = _say) -> dict:
    """Run every stage over `config.inputs` into `config.warehouse`; returns each stage's summary.

    Raises NothingExtracted when the warehouse has no documents to go on with after extract.
    """
    from leakwatch.jobs.classify import classify
    from leakwatch.jobs.dedup import dedup_crawls
    from leakwatch.jobs.extract import run_extract
    from leakwatch.jobs.report import run_report
    from leakwatch.jobs.stats import run_stats
    from leakwatch.jobs.warehouse import read_documents

    summary: dict = {"run_id": config.run_id, "seconds": {}}
    warehouse = config.warehouse

    def stage(name: str, work: Callable[[], object]) -> object:
        say(f"run: stage {STAGES.index(name) + 1}/{len(STAGES)}: {name}")
        started = time.monotonic()
        result = work()
        summary["seconds"][name] = round(time.monotonic() - started, 1)
        summary[name] = result
        return result

    extracted = stage("extract", lambda: run_extract(config, spark))
    touched = crawls_of_run(spark, warehouse, config.run_id) if extracted.get("files") else set()
    summary["crawls_extracted"] = sorted(touched)
    # Valid documents are those of the latest ingest_log row of each file: none kept, nothing to go on with.
    latest = latest_ingest_log(spark, warehouse)
    if latest is None or not latest.agg(F.sum("kept")).first()[0]:
        raise NothingExtracted(f"no documents in {warehouse}: every input of this run failed or held no pages "
                               "(see above); fix or replace the inputs and run again")
    docs = read_documents(spark, warehouse)

    def dedup() -> list[dict]:
        crawls = crawls_to_dedup(spark, warehouse, docs, touched)
        say(f"run: dedup: {', '.join(crawls)}" if crawls else "run: dedup: every crawl is up to date")
        return dedup_crawls(spark, docs.where(F.col("crawl").isin(crawls)), config.dedup, warehouse) if crawls else []

    def score() -> dict:
        crawls = crawls_to_classify(spark, config, docs, touched)
        say(f"run: classify: {', '.join(crawls)}" if crawls else "run: classify: every crawl is scored")
        if not crawls:
            return {"crawls": {}}
        return classify(spark, config, crawls)

    stage("dedup", dedup)
    stage("classify", score)
    stage("stats", lambda: run_stats(spark, config))
    stage("report", lambda: run_report(spark, config))
    return summary
