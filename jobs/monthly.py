"""`leakwatch monthly`: bring a warehouse up to date with Common Crawl, one crawl at a time.

Reads the crawl list (`leakwatch.crawls.load_crawls`), picks the crawls from `--since` on that the
warehouse has not completed, and runs each, oldest first: extract (resuming per input file) ->
dedup against the cross-crawl index -> classify; then stats over the whole series and the report.
Each crawl has a marker `_monthly/<crawl>.json`: `started` when its extract begins, `complete`
after its classify. A second run over the same crawls does nothing; a crashed run resumes where
it stopped, reading again only the input files whose ingest_log row is not `ok`.
`_lock` keeps two runs from writing one warehouse; `runs/<run_id>.json` records each run. The rows
a run writes for a crawl carry the run id `<run_id>-<crawl>`: extract reconciles the rows of its own run id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from pyspark.sql import SparkSession

from leakwatch import __version__
from leakwatch.config import Config
from leakwatch.crawls import load_crawls, pending_crawls
from leakwatch.errors import ConfigError, InputError
from leakwatch.jobs.extract import exit_status, print_summary
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.warehouse import path_exists, read_text, table_path, write_text

LOCK_HELD_STATUS = 4


class LockHeld(RuntimeError):
    """Another monthly run holds the warehouse lock."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _say(message: str) -> None:
    print(f"monthly: {message}", file=sys.stderr, flush=True)


def _lock_path(warehouse: str) -> str:
    return table_path(warehouse, "_lock")


def _marker_path(warehouse: str, crawl: str) -> str:
    return f"{table_path(warehouse, '_monthly')}/{crawl}.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def lock_is_stale(lock: dict, stale_hours: float, now: dt.datetime | None = None) -> str | None:
    """Why a lock can be taken over (its process is gone, or no heartbeat for too long), or None."""
    now = now or dt.datetime.now(dt.UTC)
    if lock.get("host") == socket.gethostname() and not _pid_alive(int(lock.get("pid", -1))):
        return f"its process {lock.get('pid')} on this host is gone"
    beat = dt.datetime.fromisoformat(lock.get("heartbeat") or lock["started_at"])
    if now - beat > dt.timedelta(hours=stale_hours):
        return f"its last heartbeat ({beat.isoformat()}) is more than {stale_hours:g} h old"
    return None


class WarehouseLock:
    """`WAREHOUSE/_lock`: created exclusively, refreshed at each stage, removed at the end."""

    def __init__(self, spark: SparkSession, warehouse: str, run_id: str, stale_hours: float):
        self.spark, self.path, self.stale_hours = spark, _lock_path(warehouse), stale_hours
        self.info = {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(), "started_at": _now()}

    def _fs(self):
        jvm = self.spark.sparkContext._jvm
        hpath = jvm.org.apache.hadoop.fs.Path(self.path)
        return hpath.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), hpath

    def _create(self) -> bool:
        fs, hpath = self._fs()
        try:
            # overwrite=false: on HDFS and local disks only one of two racing runs can create it.
            out = fs.create(hpath, False)
        except Exception as exc:  # py4j wraps FileAlreadyExistsException
            if "FileAlreadyExists" in str(exc) or fs.exists(hpath):
                return False
            raise
        try:
            out.write(bytearray(json.dumps(dict(self.info, heartbeat=_now())).encode("utf-8")))
        finally:
            out.close()
        return True

    def acquire(self) -> None:
        """Take the lock, or take over a stale one; raise LockHeld with the owner otherwise."""
        if self._create():
            return
        text = read_text(self.spark, self.path) or "{}"
        held = json.loads(text)
        reason = lock_is_stale(held, self.stale_hours) if held else "it is empty"
        if reason is None:
            raise LockHeld(
                f"{self.path} is held by run {held.get('run_id')} (host {held.get('host')}, pid {held.get('pid')}, "
                f"started {held.get('started_at')}, last heartbeat {held.get('heartbeat')}). Wait for that run to "
                f"finish; if it is dead, delete {self.path} (a lock without a heartbeat for "
                f"{self.stale_hours:g} h is taken over by the next run)"
            )
        _say(f"taking over the stale lock of run {held.get('run_id')}: {reason}")
        fs, hpath = self._fs()
        fs.delete(hpath, False)
        if not self._create():
            raise LockHeld(f"{self.path} was taken by another run while this one replaced a stale lock")

    def heartbeat(self) -> None:
        """Refresh the lock's heartbeat, so long stages are not mistaken for a dead run."""
        write_text(self.spark, self.path, json.dumps(dict(self.info, heartbeat=_now())))

    def release(self) -> None:
        """Remove the lock if it is still this run's."""
        held = json.loads(read_text(self.spark, self.path) or "{}")
        if held.get("run_id") == self.info["run_id"]:
            fs, hpath = self._fs()
            fs.delete(hpath, False)


def crawl_markers(spark: SparkSession, warehouse: str, crawls: list[dict]) -> dict[str, str]:
    """`started` or `complete` for each crawl of the list that has a marker in the warehouse."""
    markers = {}
    for crawl in crawls:
        text = read_text(spark, _marker_path(warehouse, crawl["id"]))
        if text is not None:
            markers[crawl["id"]] = json.loads(text)["status"]
    return markers


def _mark(spark: SparkSession, config: Config, crawl: str, status: str) -> None:
    marker = {"crawl": crawl, "status": status, "run_id": config.run_id, "at": _now()}
    write_text(spark, _marker_path(config.warehouse, crawl), json.dumps(marker, indent=1))


def crawl_config(config: Config, crawl: str) -> Config:
    """The run's config narrowed to one crawl: its manifest as input, resuming per file."""
    return config.replace({"run_id": f"{config.run_id}-{crawl}", "inputs.crawl": (crawl,), "inputs.paths": (),
                           "inputs.manifest": (), "inputs.resume": True})


def versions(spark: SparkSession) -> dict[str, str]:
    """Versions of the code that wrote the run."""
    import pyspark

    from leakwatch import code_version
    from leakwatch.udfs.ingest import EXTRACTOR_VERSION

    return {
        "leakwatch": __version__,
        "code": code_version(),
        "extractor": EXTRACTOR_VERSION,
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
        "spark": spark.version,
    }


def _timed(record: dict, name: str, work: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = work()
    record.setdefault("seconds", {})[name] = round(time.monotonic() - started, 2)
    return result


def reconciliation(summary: dict) -> dict:
    """Records read = kept + skipped, and kept = rows written, for one extract."""
    if not summary.get("files"):
        return {"files": 0, "resumed_skip": summary.get("resumed_skip", 0), "holds": True}
    skipped = sum(summary["skipped"].values())
    return {
        "files": summary["files"],
        "resumed_skip": summary.get("resumed_skip", 0),
        "records": summary["records"],
        "kept": summary["kept"],
        "skipped": skipped,
        "rows_written": summary["rows_written"],
        "holds": summary["records"] == summary["kept"] + skipped and summary["kept"] == summary["rows_written"],
    }


def run_crawl(spark: SparkSession, config: Config, crawl: str, record: dict, lock: WarehouseLock) -> int:
    """Extract, dedup and classify one crawl into the warehouse; 0 when it is complete."""
    from leakwatch.jobs.classify import classify
    from leakwatch.jobs.dedup import dedup_crawls
    from leakwatch.jobs.extract import run_extract
    from leakwatch.jobs.warehouse import read_documents

    one = crawl_config(config, crawl)
    _mark(spark, config, crawl, "started")
    summary = _timed(record, "extract", lambda: run_extract(one, spark))
    print_summary(summary, sys.stderr)
    record["reconciliation"] = reconciliation(summary)
    record["failed_files"] = [list(f) for f in summary.get("failed_files", [])]
    record["partial_files"] = [list(f) for f in summary.get("partial_files", [])]
    status = exit_status(summary, config.inputs.max_failed_share)
    if status:
        record["status"] = "extract_failed"
        return status
    lock.heartbeat()
    docs = read_documents(spark, config.warehouse, [crawl])
    dedup = _timed(record, "dedup", lambda: dedup_crawls(spark, docs, config.dedup, config.warehouse))
    record["dedup"] = dedup
    lock.heartbeat()
    record["classify"] = _timed(record, "classify", lambda: classify(spark, one, [crawl]))
    lock.heartbeat()
    _mark(spark, config, crawl, "complete")
    record["status"] = "complete"
    return 0


def run_monthly(spark: SparkSession, config: Config) -> int:
    """Bring `config.warehouse` up to date (see the module doc); returns the exit status."""
    from leakwatch.udfs.classifier import resolve_model
    from leakwatch.udfs.minhash import fingerprint

    warehouse, since = config.warehouse, config.monthly.since
    lock = WarehouseLock(spark, warehouse, config.run_id, config.monthly.lock_stale_hours)
    manifest_path = f"{table_path(warehouse, 'runs')}/{config.run_id}.json"
    manifest: dict[str, Any] = {
        "run_id": config.run_id,
        "command": "monthly",
        "started_at": _now(),
        "status": "running",
        "since": since,
        "config": dataclasses.asdict(config),
        "fingerprints": {"dedup": fingerprint(config.dedup), "model_id": resolve_model(config.classify.model)[1]},
        "versions": versions(spark),
        "crawls": {},
    }

    def save() -> None:
        write_text(spark, manifest_path, json.dumps(manifest, indent=1, sort_keys=True, default=str))

    status = 0
    # Taken after everything that can fail before work starts (model, versions), released in `finally`.
    lock.acquire()
    try:
        crawls = load_crawls()
        markers = crawl_markers(spark, warehouse, crawls)
        done = sorted(c for c, state in markers.items() if state == "complete")
        todo = pending_crawls(crawls, markers, since)
        manifest["complete_before"] = done
        manifest["pending"] = todo
        _say(f"run {config.run_id}: {len(done)} crawls complete in {warehouse}; to do: {', '.join(todo) or 'none'}")
        save()
        for crawl in todo:
            record: dict[str, Any] = {"started_at": _now()}
            manifest["crawls"][crawl] = record
            _say(f"{crawl}: extract -> dedup -> classify")
            try:
                status = run_crawl(spark, config, crawl, record, lock)
            except InputError as exc:
                # Usually the newest crawl, listed before its paths files are published: try next month.
                record["status"] = "inputs_unavailable"
                record["error"] = str(exc)
                _say(f"{crawl}: {exc}; stopping here, later crawls wait for it")
                status = 0
                break
            finally:
                record["finished_at"] = _now()
                save()
            if status:
                _say(f"{crawl}: stopped ({record['status']}); rerun to resume from the files not done")
                break
        ran = [c for c, r in manifest["crawls"].items() if r.get("status") == "complete"]
        if not status and (ran or not path_exists(spark, table_path(warehouse, "stats"))):
            from leakwatch.jobs.report import run_report
            from leakwatch.jobs.stats import run_stats

            series: dict[str, Any] = {}
            lock.heartbeat()
            manifest["stats"] = _timed(series, "stats", lambda: run_stats(spark, config))
            manifest["report"] = _timed(series, "report", lambda: run_report(spark, config))
            manifest["seconds"] = series["seconds"]
        manifest["status"] = "ok" if not status else "failed"
        manifest["failed_files"] = sorted({tuple(f) for r in manifest["crawls"].values()
                                           for f in r.get("failed_files", [])})
    except BaseException as exc:
        manifest["status"] = "error"
        manifest["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        manifest["finished_at"] = _now()
        save()
        lock.release()
    _say(f"run {config.run_id} {manifest['status']}: manifest {manifest_path}")
    return status


def run(config: Config) -> int:
    """CLI entry of `leakwatch monthly`."""
    if config.monthly.lock_stale_hours <= 0:
        raise ConfigError("--lock-stale-hours must be positive")
    # Checked here: an InputError during a crawl is taken to mean its manifest is not published yet.
    if config.inputs.sample_files is not None and config.inputs.sample_files < 1:
        raise ConfigError("--sample-files must be at least 1")
    spark = get_spark(config.spark, "leakwatch-monthly")
    try:
        return run_monthly(spark, config)
    except LockHeld as exc:
        print(f"leakwatch monthly: {exc}", file=sys.stderr)
        return LOCK_HELD_STATUS


