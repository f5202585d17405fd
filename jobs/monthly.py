"""`leakwatch monthly`: bring a warehouse up to date with Common Crawl, one crawl at a time.

Reads the crawl list (`leakwatch.crawls.load_crawls`), picks the crawls from `--since` on that the
warehouse has not completed (`leakwatch.crawls.pending_crawls`), and runs the pipeline's driver on
each, oldest first: extract (resuming per input file) -> dedup against the cross-crawl index ->
classify; then stats over the whole series and the report. Each crawl has a marker
`_monthly/<crawl>.json`: `started` when its extract begins, `complete` after its classify. A second
run over the same crawls does nothing; a crashed run resumes where it stopped, reading again only
the input files whose ingest_log row is not `ok`. `_lock` (jobs.lock) keeps two runs from writing one
warehouse; `runs/<run_id>.json` (jobs.manifest) records each run. The rows a run writes for a crawl
carry the run id `<run_id>-<crawl>`: extract reconciles the rows of its own run id.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pyspark.sql import SparkSession

from leakwatch.config import Config
from leakwatch.crawls import load_crawls, pending_crawls
from leakwatch.errors import ManifestMissing
from leakwatch.jobs.lock import WarehouseLock
from leakwatch.jobs.manifest import RunManifest, now
from leakwatch.jobs.pipeline import run_stages
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.warehouse import path_exists, read_text, table_path, write_text


def _say(message: str) -> None:
    print(f"monthly: {message}", file=sys.stderr, flush=True)


def _marker_path(warehouse: str, crawl: str) -> str:
    return f"{table_path(warehouse, '_monthly')}/{crawl}.json"


def crawl_markers(spark: SparkSession, warehouse: str, crawls: list[dict]) -> dict[str, str]:
    """`started` or `complete` for each crawl of the list that has a marker in the warehouse."""
    markers = {}
    for crawl in crawls:
        text = read_text(spark, _marker_path(warehouse, crawl["id"]))
        if text is not None:
            markers[crawl["id"]] = json.loads(text)["status"]
    return markers


def _mark(spark: SparkSession, config: Config, crawl: str, status: str) -> None:
    marker = {"crawl": crawl, "status": status, "run_id": config.run_id, "at": now()}
    write_text(spark, _marker_path(config.warehouse, crawl), json.dumps(marker, indent=1))


def crawl_config(config: Config, crawl: str) -> Config:
    """The run's config narrowed to one crawl: its manifest as input, resuming per file."""
    return config.replace({"run_id": f"{config.run_id}-{crawl}", "inputs.crawl": (crawl,), "inputs.paths": (),
                           "inputs.manifest": (), "inputs.resume": True})


def run_crawl(spark: SparkSession, config: Config, crawl: str, record: dict, lock: WarehouseLock) -> int:
    """Extract, dedup and classify one crawl into the warehouse; 0 when it is complete."""

    def after(stage: str, result: Any) -> None:
        if stage == "extract":
            result.print(sys.stderr)
        lock.heartbeat()  # so long stages are not mistaken for a dead run

    _mark(spark, config, crawl, "started")
    result = run_stages(spark, crawl_config(config, crawl), ("extract", "dedup", "classify"), crawls=[crawl],
                        label=f"monthly: {crawl}", record=record, after_stage=after, stop_on_failed_inputs=True)
    status = result.extract.exit_status(config.inputs.max_failed_share)
    if status:
        record["status"] = "extract_failed"
        return status
    _mark(spark, config, crawl, "complete")
    record["status"] = "complete"
    return 0


def run_crawls(spark: SparkSession, config: Config, todo: list[str], manifest: RunManifest,
               lock: WarehouseLock) -> int:
    """Each pending crawl in turn, until one fails or is not published yet; the exit status."""
    for crawl in todo:
        record: dict[str, Any] = {"started_at": now()}
        manifest.data["crawls"][crawl] = record
        try:
            status = run_crawl(spark, config, crawl, record, lock)
        except ManifestMissing as exc:
            # Usually the newest crawl, listed before its paths files are published: try next month. A source
            # that cannot be reached is no such sign: SourceUnreachable ends the run with status 1.
            record["status"] = "inputs_unavailable"
            record["error"] = str(exc)
            _say(f"{crawl}: {exc}; stopping here, later crawls wait for it")
            return 0
        finally:
            record["finished_at"] = now()
            manifest.save()
        if status:
            _say(f"{crawl}: stopped ({record['status']}); rerun to resume from the files not done")
            return status
    return 0


def run_monthly(spark: SparkSession, config: Config) -> int:
    """Bring `config.warehouse` up to date (see the module doc); returns the exit status."""
    warehouse = config.warehouse
    lock = WarehouseLock(spark, warehouse, config.run_id, config.monthly.lock_stale_hours)
    manifest = RunManifest(spark, config, "monthly", since=config.monthly.since, crawls={})
    # Taken after everything that can fail before work starts (model, versions), released in `finally`.
    lock.acquire()
    try:
        crawls = load_crawls()
        markers = crawl_markers(spark, warehouse, crawls)
        done = sorted(c for c, state in markers.items() if state == "complete")
        todo = pending_crawls(crawls, markers, config.monthly.since)
        manifest.data.update(complete_before=done, pending=todo)
        _say(f"run {config.run_id}: {len(done)} crawls complete in {warehouse}; to do: {', '.join(todo) or 'none'}")
        manifest.save()
        status = run_crawls(spark, config, todo, manifest, lock)
        ran = [c for c, r in manifest.data["crawls"].items() if r.get("status") == "complete"]
        has_documents = path_exists(spark, table_path(warehouse, "documents"))
        if not status and not has_documents:
            _say("no crawl is complete and the warehouse has no documents yet: no stats or report")
        elif not status and (ran or not path_exists(spark, table_path(warehouse, "stats"))):
            lock.heartbeat()
            run_stages(spark, config, ("stats", "report"), label="monthly", record=manifest.data,
                       after_stage=lambda *_: lock.heartbeat())
        manifest.data["failed_files"] = sorted({tuple(f) for r in manifest.data["crawls"].values()
                                                for f in r.get("failed_files", [])})
        manifest.finish("ok" if not status else "failed")
    except BaseException as exc:
        manifest.record_error(exc)
        raise
    finally:
        lock.release()
    _say(f"run {config.run_id} {manifest.data['status']}: manifest {manifest.path}")
    return status


def run(config: Config) -> int:
    """CLI entry of `leakwatch monthly` (a held lock raises LockHeld: exit status 4)."""
    return run_monthly(get_spark(config.spark, "leakwatch-monthly"), config)
