"""The one driver of the pipeline: extract -> dedup -> classify -> stats -> report, one config.

`run`, `demo` and `validate` run every stage in one pass (`run_pipeline`, which records the run in
WAREHOUSE/runs/<run_id>.json); `monthly` runs extract, dedup and classify for one crawl at a time,
then stats and the report over the series: `run_stages` each time, inside its crawl loop, lock and
markers. Each stage is the function its own subcommand calls; the driver says which stage starts,
times it, hands its typed result (jobs.results) on, and records it in the manifest.

Without given crawls, dedup and classify work only on the crawls that need it, so a rerun that
extracts nothing new costs the stats and the report alone:
- dedup: the crawls this run extracted files of, the crawls without clusters yet, and every crawl
  after the earliest of those (a crawl that arrives late changes what later crawls saw first);
- classify: the crawls this run extracted, and the crawls without scores of the current model.
Given crawls (monthly's one crawl), they work on those.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch.config import Config
from leakwatch.errors import INPUTS_FAILED, UserError
from leakwatch.jobs.classify import classify
from leakwatch.jobs.clusters import crawl_orders
from leakwatch.jobs.dedup import dedup_crawls
from leakwatch.jobs.extract import run_extract
from leakwatch.jobs.manifest import RunManifest, record_stage
from leakwatch.jobs.report import run_report
from leakwatch.jobs.results import ClassifyResult, ExtractResult, PipelineResult
from leakwatch.jobs.stats import run_stats
from leakwatch.jobs.warehouse import (
    file_crawls,
    latest_ingest_log,
    path_exists,
    read_documents,
    read_ingest_log,
    table_path,
)
from leakwatch.udfs.classifier import resolve_model

STAGES = ("extract", "dedup", "classify", "stats", "report")


class NothingExtracted(UserError):
    """The warehouse holds no documents after extract: every input failed or was empty (`extract`: what it did)."""

    status = INPUTS_FAILED
    extract: ExtractResult | None = None


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def crawls_of_run(spark: SparkSession, warehouse: str, run_id: str) -> set[str]:
    """Crawls of the input files this run extracted (from its ingest_log rows)."""
    log = read_ingest_log(spark, warehouse)
    if log is None:
        return set()
    crawls = log.where(F.col("run_id") == run_id).select(F.explode(file_crawls(log)).alias("crawl")).distinct()
    return {r.crawl for r in crawls.collect()}


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
    orders = crawl_orders(docs)
    pending = (touched | (set(orders) - _crawls_in(spark, warehouse, "clusters"))) & set(orders)
    if not pending:
        return []
    earliest = min(orders[c] for c in pending)
    return sorted((c for c in orders if orders[c] >= earliest), key=orders.__getitem__)


def crawls_to_classify(spark: SparkSession, config: Config, docs: DataFrame, touched: set[str]) -> list[str]:
    """The crawls classify must (re)score: touched ones and those without scores of the current model."""
    _, mid = resolve_model(config.classify.model)
    present = {r.crawl for r in docs.select("crawl").distinct().collect()}
    current = _crawls_in(spark, config.warehouse, "scores", F.col("model_id") == mid)
    stale = _crawls_in(spark, config.warehouse, "scores", F.col("model_id") != mid)
    return sorted((touched | (present - current) | stale) & present)


class StageTimer:
    """The one timing and progress mechanism: says which stage starts, times it, records what it did."""

    def __init__(self, label: str, stages: Sequence[str], say: Callable[[str], None], record: dict | None,
                 after_stage: Callable[[str, Any], None] | None) -> None:
        self.label, self.stages, self.say, self.record, self.after_stage = label, stages, say, record, after_stage
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, work: Callable[[], Any]) -> Any:
        """Run one stage's work and return its result."""
        self.say(f"{self.label}: stage {self.stages.index(name) + 1}/{len(self.stages)}: {name}")
        started = time.monotonic()
        result = work()
        self.seconds[name] = round(time.monotonic() - started, 2)
        if self.record is not None:
            record_stage(self.record, name, result, self.seconds[name])
        if self.after_stage is not None:
            self.after_stage(name, result)
        return result


def _check_documents(spark: SparkSession, warehouse: str) -> None:
    # Valid documents are those of the latest ingest_log row of each file: none kept, nothing to go on with.
    latest = latest_ingest_log(spark, warehouse)
    if latest is None or not latest.agg(F.sum("kept")).first()[0]:
        raise NothingExtracted(f"no documents in {warehouse}: every input of this run failed or held no pages "
                               "(extract's lines above say why); fix or replace the inputs and run again")


def run_stages(spark: SparkSession, config: Config, stages: Sequence[str] = STAGES, *,
               crawls: Sequence[str] | None = None, label: str = "run", say: Callable[[str], None] = _say,
               record: dict | None = None, after_stage: Callable[[str, Any], None] | None = None,
               stop_on_failed_inputs: bool = False) -> PipelineResult:
    """Run `stages` (in STAGES order) over `config.inputs` into `config.warehouse` (see the module doc).

    With `stop_on_failed_inputs`, stops after an extract whose exit status is not 0. Without `crawls`,
    raises NothingExtracted when the warehouse has no documents to go on with after extract.
    """
    warehouse, timer = config.warehouse, StageTimer(label, stages, say, record, after_stage)
    result = PipelineResult(run_id=config.run_id, seconds=timer.seconds)
    touched: set[str] = set()
    if "extract" in stages:
        extracted = timer("extract", lambda: run_extract(config, spark))
        touched = crawls_of_run(spark, warehouse, config.run_id) if extracted.files else set()
        result = dataclasses.replace(result, extract=extracted, crawls_extracted=tuple(sorted(touched)))
        if stop_on_failed_inputs and extracted.exit_status(config.inputs.max_failed_share):
            return result
    if "dedup" in stages or "classify" in stages:
        if crawls is None:
            try:
                _check_documents(spark, warehouse)
            except NothingExtracted as exc:
                exc.extract = result.extract
                raise
        docs = read_documents(spark, warehouse, list(crawls) if crawls is not None else None)
    def dedup() -> list:
        chosen = list(crawls) if crawls is not None else crawls_to_dedup(spark, warehouse, docs, touched)
        say(f"{label}: dedup: {', '.join(chosen)}" if chosen else f"{label}: dedup: every crawl is up to date")
        return dedup_crawls(spark, docs.where(F.col("crawl").isin(chosen)), config.dedup, warehouse) if chosen else []

    def score() -> ClassifyResult | None:
        chosen = list(crawls) if crawls is not None else crawls_to_classify(spark, config, docs, touched)
        say(f"{label}: classify: {', '.join(chosen)}" if chosen else f"{label}: classify: every crawl is scored")
        return classify(spark, config, chosen) if chosen else None

    if "dedup" in stages:
        result = dataclasses.replace(result, dedup=tuple(timer("dedup", dedup)))
    if "classify" in stages:
        result = dataclasses.replace(result, classify=timer("classify", score))
    if "stats" in stages:
        result = dataclasses.replace(result, stats=timer("stats", lambda: run_stats(spark, config)))
    if "report" in stages:
        result = dataclasses.replace(result, report=timer("report", lambda: run_report(spark, config)))
    return result


def run_pipeline(spark: SparkSession, config: Config, command: str = "run",
                 say: Callable[[str], None] = _say) -> PipelineResult:
    """Every stage in one pass (`run`, `demo`, `validate`), recorded in WAREHOUSE/runs/<run_id>.json."""
    manifest = RunManifest(spark, config, command)
    manifest.save()
    try:
        result = run_stages(spark, config, say=say, record=manifest.data)
    except BaseException as exc:
        manifest.record_error(exc)
        raise
    manifest.finish("failed" if result.extract.exit_status(config.inputs.max_failed_share) else "ok")
    return result
