"""`WAREHOUSE/_lock`: one writer per warehouse at a time (monthly takes it).

The lock file holds run id, host, pid, start and heartbeat; it is created exclusively (on HDFS and
local disks only one of two racing runs can), refreshed at each stage, and taken over when its
process is gone (same host) or its heartbeat is older than `--lock-stale-hours`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys

from pyspark.sql import SparkSession

from leakwatch.errors import LockHeld
from leakwatch.jobs.warehouse import read_text, table_path, write_text


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _lock_path(warehouse: str) -> str:
    return table_path(warehouse, "_lock")


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


def held_error(path: str, held: dict, stale_hours: float) -> LockHeld:
    """The error of a run that finds the lock at `path` held by the live run `held`."""
    return LockHeld(
        f"{path} is held by run {held.get('run_id')} (host {held.get('host')}, pid {held.get('pid')}, "
        f"started {held.get('started_at')}, last heartbeat {held.get('heartbeat')}). Wait for that run to "
        f"finish; if it is dead, delete {path} (a lock without a heartbeat for {stale_hours:g} h is taken over "
        "by the next run)"
    )


def check_local_lock(warehouse: str, stale_hours: float) -> None:
    """Before Spark starts: LockHeld if a local warehouse's lock is held by a live run (acquire still decides)."""
    path = table_path(warehouse, "_lock")
    try:
        with open(path, encoding="utf-8") as fh:
            held = json.load(fh)
    except (OSError, ValueError):  # no lock, or one being written: acquire() decides
        return
    try:
        live = isinstance(held, dict) and bool(held) and lock_is_stale(held, stale_hours) is None
    except (KeyError, TypeError, ValueError):  # a malformed lock: acquire() decides
        return
    if live:
        raise held_error(path, held, stale_hours)


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
            raise held_error(self.path, held, self.stale_hours)
        print(f"monthly: taking over the stale lock of run {held.get('run_id')}: {reason}", file=sys.stderr, flush=True)
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
