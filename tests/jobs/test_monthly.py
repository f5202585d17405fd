"""`leakwatch monthly` over a fake Common Crawl mirror on 127.0.0.1: idempotent reruns, a new crawl
appended, the cross-crawl index growing by the new crawl only, the warehouse lock, and a run killed
mid-way whose rerun ends with the same stats as an uninterrupted run."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from leakwatch.cli import main
from leakwatch.crawls import pending_crawls
from leakwatch.errors import LOCK_HELD, ConfigError
from leakwatch.jobs.lock import lock_is_stale
from leakwatch.validation.pages import human_pages, write_shard
from tests.servers import StaticServer

REPO = Path(__file__).resolve().parents[2]
CRAWLS = {
    "CC-MAIN-2021-04": dt.datetime(2021, 1, 15, tzinfo=dt.UTC),
    "CC-MAIN-2023-06": dt.datetime(2023, 1, 26, tzinfo=dt.UTC),
    "CC-MAIN-2024-10": dt.datetime(2024, 2, 20, tzinfo=dt.UTC),
}
# The tests run the first crawl, then the second as the new one (the third only feeds the unit test).
FIRST, NEW = list(CRAWLS)[:2]
FILES_PER_CRAWL, PAGES_PER_FILE = 2, 10
# Statistics settings small enough for a test; the rest are the defaults.
SETTINGS = "[stats]\nreplicates = 20\ntop_domains = 5\n"
# Each test runs whole monthly runs (a minute or two on a quiet 2-core machine, several under load):
# beyond the suite's 600 s per test.
pytestmark = pytest.mark.timeout(1500)


def crawl_entry(crawl: str) -> dict:
    start = CRAWLS[crawl]
    return {"id": crawl, "name": crawl, "from": start.isoformat(), "to": (start + dt.timedelta(days=12)).isoformat()}


def list_crawls(cache: Path, crawls: list[str]) -> None:
    """The crawl list `leakwatch.crawls.load_crawls` reads ($XDG_CACHE_HOME/leakwatch/crawls.json)."""
    (cache / "leakwatch").mkdir(parents=True, exist_ok=True)
    (cache / "leakwatch" / "crawls.json").write_text(json.dumps([crawl_entry(c) for c in crawls]))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """crawl-data/<id>/warc.paths.gz and its WARC files, served over HTTP on 127.0.0.1."""
    root = tmp_path_factory.mktemp("mirror")
    for n, crawl in enumerate([FIRST, NEW]):
        start = CRAWLS[crawl]
        entries = []
        for i in range(FILES_PER_CRAWL):
            rel = f"crawl-data/{crawl}/segments/1/warc/{crawl}-{i:05d}.warc.gz"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            with open(root / rel, "wb") as out:
                write_shard(out, crawl, human_pages(PAGES_PER_FILE, 4, start, seed=10 * n + i), created=start)
            entries.append(rel)
        with gzip.open(root / f"crawl-data/{crawl}/warc.paths.gz", "wt") as fh:
            fh.write("\n".join(entries) + "\n")
    with StaticServer(str(root)) as server:
        yield server.url


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    list_crawls(folder, [FIRST])
    return folder


def monthly_args(warehouse: Path, mirror: str, settings: Path, *extra: str) -> list[str]:
    return ["monthly", "--warehouse", str(warehouse), "--base-url", mirror, "--config", str(settings), *extra]


def settings_file(folder: Path) -> Path:
    path = folder / "settings.toml"
    path.write_text(SETTINGS)
    return path


@pytest.fixture(scope="module")
def baseline(spark, mirror, tmp_path_factory):
    """A warehouse after one uninterrupted monthly run over the first crawl."""
    folder = tmp_path_factory.mktemp("baseline")
    list_crawls(folder / "cache", [FIRST])
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    try:
        status = main(monthly_args(folder / "wh", mirror, settings_file(folder)))
    finally:
        if old is None:
            os.environ.pop("XDG_CACHE_HOME")
        else:
            os.environ["XDG_CACHE_HOME"] = old
    assert status == 0
    return folder / "wh"


def row_counts(warehouse: Path) -> dict:
    """Rows per table and crawl, read straight from the parquet files (valid or not)."""
    counts = {}
    tables = ["documents", "ingest_log", "clusters", "scores", "url_history"]
    index = next((warehouse / "lsh_index").glob("*/bands"))
    for name, path in [(t, warehouse / t) for t in tables] + [("lsh_bands", index)]:
        frame = pd.read_parquet(path, columns=["crawl"])
        counts[name] = frame["crawl"].astype(str).value_counts().sort_index().to_dict()
    counts["stats"] = len(pd.read_parquet(warehouse / "stats"))
    return counts


def manifests(warehouse: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((warehouse / "runs").glob("*.json"))]


def manifest(warehouse: Path, run_id: str) -> dict:
    # By id: two runs started within one second have ids whose order is their random suffix's.
    return json.loads((warehouse / "runs" / f"{run_id}.json").read_text())


def stats_without_run_id(warehouse: Path) -> pd.DataFrame:
    """The stats table less what names the run: its id, and the git commit checked out when it ran."""
    frame = pd.read_parquet(warehouse / "stats").drop(columns=["run_id", "code_version"])
    keys = ["time_slice", "period", "crawl", "view", "dimension", "value"]
    return frame.sort_values(keys).reset_index(drop=True)


def test_pending_crawls_order_and_default_start():
    crawls = [crawl_entry(c) for c in CRAWLS] + [{"id": "CC-MAIN-2008-2009", "from": "2008"}]
    crawls.sort(key=lambda c: c["from"])
    first, second, third = CRAWLS
    assert pending_crawls(crawls, {}, None) == [third]
    assert pending_crawls(crawls, {}, first) == list(CRAWLS)
    assert pending_crawls(crawls, {first: "complete"}, None) == [second, third]
    # A crawl a crashed run had started is where the default start is, and it is redone.
    assert pending_crawls(crawls, {first: "started"}, None) == list(CRAWLS)
    assert pending_crawls(crawls, {first: "complete", second: "complete"}, second) == [third]
    assert pending_crawls(crawls, dict.fromkeys(CRAWLS, "complete"), None) == []
    with pytest.raises(ConfigError, match="not in the crawl list"):
        pending_crawls(crawls, {}, "CC-MAIN-1999-01")


def test_lock_staleness_rules():
    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    fresh = (now - dt.timedelta(hours=1)).isoformat()
    old = (now - dt.timedelta(hours=30)).isoformat()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here, elsewhere = socket.gethostname(), "another-host.invalid"
    assert lock_is_stale({"host": here, "pid": os.getpid(), "started_at": old, "heartbeat": fresh}, 24, now) is None
    assert "gone" in lock_is_stale({"host": here, "pid": dead.pid, "started_at": fresh, "heartbeat": fresh}, 24, now)
    assert lock_is_stale({"host": elsewhere, "pid": dead.pid, "started_at": old, "heartbeat": fresh}, 24, now) is None
    assert "heartbeat" in lock_is_stale({"host": elsewhere, "pid": 1, "started_at": old, "heartbeat": old}, 24, now)


@pytest.mark.spark
def test_monthly_twice_adds_nothing_and_a_new_crawl_appends(spark, mirror, baseline, cache, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    shutil.copytree(baseline, warehouse)
    settings = settings_file(tmp_path)
    first = row_counts(warehouse)
    assert set(first["documents"]) == {FIRST}
    assert first["documents"] == first["clusters"] == first["scores"]
    assert all(n == FILES_PER_CRAWL for n in first["ingest_log"].values())
    assert json.loads((warehouse / "_monthly" / f"{FIRST}.json").read_text())["status"] == "complete"
    assert not (warehouse / "_lock").exists()
    [run] = manifests(warehouse)
    # No --since on an empty warehouse: the newest crawl of the list.
    assert run["status"] == "ok" and run["pending"] == [FIRST]
    record = run["crawls"][FIRST]
    assert record["status"] == "complete" and record["reconciliation"]["holds"]
    assert record["reconciliation"]["kept"] == first["documents"][FIRST]
    assert set(record["seconds"]) == {"extract", "dedup", "classify"}
    assert set(run["seconds"]) == {"stats", "report"}
    assert run["fingerprints"]["dedup"] in str(next((warehouse / "lsh_index").glob("*/bands")))
    assert run["versions"]["spark"] == spark.version and run["failed_files"] == []

    # Twice: nothing to do, no rows added anywhere, stats untouched.
    assert main(monthly_args(warehouse, mirror, settings, "--run-id", "second")) == 0
    assert row_counts(warehouse) == first
    second = manifest(warehouse, "second")
    assert second["pending"] == [] and second["crawls"] == {} and "stats" not in second

    # Common Crawl publishes a new crawl: only it is processed, and the index grows by it alone.
    list_crawls(cache, [FIRST, NEW])
    assert main(monthly_args(warehouse, mirror, settings, "--run-id", "third")) == 0
    third = row_counts(warehouse)
    new = NEW
    for table in ("documents", "ingest_log", "clusters", "scores", "lsh_bands", "url_history"):
        assert {c: n for c, n in third[table].items() if c != new} == first[table], table
        assert third[table].get(new, 0) > 0, table
    assert set(pd.read_parquet(warehouse / "stats")["crawl"]) == {FIRST, NEW}
    assert manifest(warehouse, "third")["pending"] == [new]
    assert "monthly:" in capsys.readouterr().err


@pytest.mark.spark
def test_lock_and_unpublished_crawl(spark, mirror, baseline, cache, tmp_path, capsys):
    """A live run's lock refuses a second run; a dead run's is taken over; an unpublished crawl waits."""
    warehouse = tmp_path / "wh"
    shutil.copytree(baseline, warehouse)
    settings = settings_file(tmp_path)
    now = dt.datetime.now(dt.UTC).isoformat()
    lock = {"run_id": "other-run", "host": socket.gethostname(), "started_at": now, "heartbeat": now}
    (warehouse / "_lock").write_text(json.dumps(dict(lock, pid=os.getpid())))
    assert main(monthly_args(warehouse, mirror, settings)) == LOCK_HELD
    err = capsys.readouterr().err
    assert "held by run other-run" in err and "_lock" in err
    assert json.loads((warehouse / "_lock").read_text())["run_id"] == "other-run"

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (warehouse / "_lock").write_text(json.dumps(dict(lock, pid=dead.pid)))
    assert main(monthly_args(warehouse, mirror, settings)) == 0
    assert "taking over the stale lock of run other-run" in capsys.readouterr().err
    assert not (warehouse / "_lock").exists()

    # A crawl listed before its warc.paths.gz is published: the run stops there, cleanly, to try again.
    unpublished = list(CRAWLS)[2]
    list_crawls(cache, [FIRST, unpublished])
    assert main(monthly_args(warehouse, mirror, settings, "--run-id", "unpublished")) == 0
    record = manifest(warehouse, "unpublished")["crawls"][unpublished]
    assert record["status"] == "inputs_unavailable" and "warc.paths.gz" in record["error"]
    assert "later crawls wait for it" in capsys.readouterr().err


@pytest.mark.spark
def test_killed_run_resumes_to_the_same_stats(spark, mirror, baseline, cache, tmp_path):
    warehouse = tmp_path / "wh"
    settings = settings_file(tmp_path)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    args = monthly_args(warehouse, mirror, settings, "--master", "local[1]", "--driver-memory", "1g")
    first_log = warehouse / "ingest_log" / f"crawl={FIRST}"
    # Its own process group, so the kill reaches the run's JVM too.
    proc = subprocess.Popen([sys.executable, "-m", "leakwatch.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not first_log.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        assert first_log.exists(), "the first crawl's files never reached ingest_log within 300 s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stderr.close()
    # Killed mid-way: the files are logged, the crawl is started, not complete, and the dead run
    # holds a lock it will never release.
    assert (warehouse / "_lock").exists()
    assert json.loads((warehouse / "_monthly" / f"{FIRST}.json").read_text())["status"] == "started"
    assert manifests(warehouse)[0]["status"] == "running"

    assert main(monthly_args(warehouse, mirror, settings, "--run-id", "resumed")) == 0
    resumed = manifest(warehouse, "resumed")
    assert resumed["status"] == "ok"
    # The files the killed run finished are not read again.
    assert resumed["crawls"][FIRST]["reconciliation"]["resumed_skip"] == FILES_PER_CRAWL
    # Same statistics as the uninterrupted run (run_id and code_version name the run and are left out).
    pd.testing.assert_frame_equal(stats_without_run_id(warehouse), stats_without_run_id(baseline))
    valid = row_counts(warehouse)
    assert valid["clusters"] == valid["scores"] == row_counts(baseline)["scores"]
