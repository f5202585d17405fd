"""The pipeline through spark-submit on a real Spark standalone cluster (one master, one worker with
one core, on 127.0.0.1, from the pyspark install) with `make dist`'s environment archive: its tables
equal those of a local-mode run over the same sample shards."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest

from leakwatch.cli import main
from leakwatch.validation.pages import human_pages, write_shard

REPO = Path(__file__).resolve().parents[2]
SHARDS = {"CC-MAIN-2021-04": dt.datetime(2021, 1, 15, tzinfo=dt.UTC),
          "CC-MAIN-2024-10": dt.datetime(2024, 2, 20, tzinfo=dt.UTC)}
# Columns that name the run, not its results: its id, when it ran, the git commit checked out then.
RUN_COLUMNS = {"run_id", "finished_at", "started_at", "code_version"}
# Two whole pipeline runs plus a cluster's start: beyond the suite's 600 s per test on a loaded machine.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1500)]


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports, every daemon's port named: a port left to a daemon's own choice
    can be one picked here for another (seen: the worker's RPC took the master UI's, and the poll spoke HTTP to it)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def wait_until(check, seconds: float, what: str, procs: list[subprocess.Popen]) -> None:
    """Poll `check` until it is true; fail with the daemons' state after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{what}: {proc.args[-1]} exited with {proc.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {seconds:.0f} s")


def alive_workers(ui_port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as response:
        return int(json.load(response).get("aliveworkers", 0))


def start_daemon(stack: ExitStack, args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A Spark daemon (or spark-submit) in its own process group, killed (group and all) when the test ends."""
    with open(log, "wb") as out:  # the daemon keeps its own copy of the descriptor
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=20)

    stack.callback(stop)
    return proc


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shards")
    for n, (crawl, start) in enumerate(SHARDS.items()):
        with open(folder / f"{crawl}-00000.warc.gz", "wb") as out:
            write_shard(out, crawl, human_pages(12, 4, start, seed=n), created=start)
    return folder


def table(warehouse: Path, name: str, keys: list[str]) -> pd.DataFrame:
    frame = pd.read_parquet(warehouse / name)
    frame = frame.drop(columns=[c for c in frame.columns if c in RUN_COLUMNS])
    frame["crawl"] = frame["crawl"].astype(str)
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.mark.packaging
def test_spark_submit_on_standalone_cluster_equals_local_mode(spark, shards, env_archive, tmp_path):
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    args = ["run", str(shards), "--replicates", "20"]
    local = tmp_path / "local"

    master_port, master_ui, worker_port, worker_ui = free_ports(4)
    env = dict(os.environ, SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY="256m",
               SPARK_LOG_DIR=str(tmp_path / "logs"), SPARK_WORKER_DIR=str(tmp_path / "work"))
    spark_class = str(spark_home / "bin" / "spark-class")
    cluster = tmp_path / "cluster"
    with ExitStack() as stack:
        master = start_daemon(stack, [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                      "--port", str(master_port), "--webui-port", str(master_ui)],
                              env, tmp_path / "master.log")
        url = f"spark://127.0.0.1:{master_port}"
        worker = start_daemon(stack, [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                      "--port", str(worker_port), "--cores", "1", "--memory", "1500m",
                                      "--webui-port", str(worker_ui),
                                      "--work-dir", str(tmp_path / "work"), url],
                              env, tmp_path / "worker.log")
        wait_until(lambda: alive_workers(master_ui) == 1, 120, "the worker registering with the master",
                   [master, worker])
        # The cluster's run goes on beside the local-mode run in this process, so the two JVMs' starts and
        # waits overlap.
        submit_log = tmp_path / "spark-submit.log"
        submit = start_daemon(
            stack,
            ["bash", str(REPO / "deploy" / "spark-submit.sh"), "--master", url, "--executor-memory", "1g",
             "--conf", "spark.cores.max=1", "--conf", "spark.driver.host=127.0.0.1",
             "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.driver.memory=1g",
             "--conf", "spark.ui.enabled=false", "--", *args, "--out", str(cluster)],
            dict(env, SPARK_SUBMIT=str(spark_home / "bin" / "spark-submit"), LEAKWATCH_DRIVER_PYTHON=sys.executable),
            submit_log,
        )
        assert main([*args, "--out", str(local)]) == 0
        try:
            returncode = submit.wait(timeout=900)
        except subprocess.TimeoutExpired:
            tail = submit_log.read_text(errors="replace")[-6000:]
            pytest.fail(f"spark-submit did not finish within 900 s; the end of its log:\n{tail}")
        assert returncode == 0, submit_log.read_text(errors="replace")[-9000:]
        # The session's SQL settings hold under spark-submit too: no truncated-plan WARN from stats.
        assert "Truncated the string representation" not in submit_log.read_text(errors="replace")
        # The work ran on the worker's executor, with the archive's Python.
        apps = list((tmp_path / "work").glob("app-*/*/stderr"))
        assert apps, "no executor ran on the standalone worker"
        assert list((tmp_path / "work").glob("app-*/*/environment/bin/python")), "the env archive was not unpacked"

    for name, keys in [("documents", ["doc_id"]), ("clusters", ["doc_id"]), ("scores", ["doc_id"]),
                       ("stats", ["time_slice", "period", "crawl", "view", "dimension", "value"])]:
        pd.testing.assert_frame_equal(table(cluster, name, keys), table(local, name, keys), obj=name)
    assert len(table(local, "documents", ["doc_id"])) > 0
