"""A user's mistakes through the real command line, each in its own process: one or two lines that name
what failed, on which input, and what to do; the documented exit status; no traceback; and no JVM (the
JAVA_HOME these runs get holds a stand-in `java` that answers -version and fails loudly if Spark
starts it). README "Errors and exit statuses" lists these cases."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.warcs import english_page, write_pages

JVM_STARTED = "LEAKWATCH-TEST: Spark started a JVM"
CONSOLE_SCRIPT = Path(sys.executable).with_name("leakwatch")


@dataclass
class Ran:
    status: int
    out: str
    err: str


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A working folder with a stand-in java, a user cache, and the inputs the cases name."""
    root = tmp_path_factory.mktemp("mistakes")
    java = root / "java" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f'#!/bin/sh\nif [ "$1" = "-version" ]; then echo \'openjdk version "17.0.9"\' >&2; exit 0; fi\n'
                    f'echo "{JVM_STARTED}" >&2; exit 1\n')
    java.chmod(0o755)
    write_pages(root / "good.warc.gz", "CC-MAIN-2024-10", [english_page(0)])
    (root / "text.warc.gz").write_text("a text file, not a WARC\n")
    (root / "empty.warc.gz").write_bytes(b"")
    (root / "noarchives").mkdir()
    (root / "noarchives" / "notes.txt").write_text("no archive here\n")
    (root / "a_file").write_text("a file\n")
    (root / "confdir").mkdir()
    (root / "badtype.toml").write_text('[inputs]\nsample_files = "ten"\n')
    (root / "range.toml").write_text("[stats]\nreplicates = -5\n")
    (root / "typo.toml").write_text("[inputs]\nsample_file = 3\n")
    (root / "binary.paths.gz").write_bytes(bytes(range(256)) * 4)
    (root / "broken.paths.gz").write_bytes(b"\x1f\x8b\x08\x00 not deflate data")
    (root / "fake.ftz").write_text("not a model\n")
    (root / "binary.jsonl").write_bytes(bytes(range(128, 256)) * 8)
    (root / "texts.jsonl").write_text("".join(json.dumps({"text": f"text {i} " + "word " * 60}) + "\n"
                                               for i in range(200)))
    (root / "notjson.txt").write_text("<html>not json</html>\n")
    (root / "object.json").write_text('{"id": "CC-MAIN-2024-10"}\n')
    for table in ("documents",):
        (root / "wh_docs_only" / table).mkdir(parents=True)
    (root / "wh_no_stats" / "documents").mkdir(parents=True)
    locked = root / "locked"
    locked.mkdir()
    (locked / "_lock").write_text(json.dumps({"run_id": "other-run", "host": socket.gethostname(), "pid": os.getpid(),
                                              "started_at": "2026-01-01T00:00:00+00:00",
                                              "heartbeat": "2099-01-01T00:00:00+00:00"}))
    # A refreshed crawl list that ends early, as an old cache does.
    cache = root / "old-cache" / "leakwatch"
    cache.mkdir(parents=True)
    (cache / "crawls.json").write_text(json.dumps([
        {"id": "CC-MAIN-2019-04", "name": "January 2019", "from": "2019-01-15T00:00:00", "to": "2019-01-24T00:00:00"},
        {"id": "CC-MAIN-2020-05", "name": "January 2020", "from": "2020-01-17T00:00:00", "to": "2020-01-29T00:00:00"},
    ]))
    return root


def leakwatch(place: Path, *args: str, env: dict | None = None, stdout=subprocess.PIPE, unset=()) -> Ran:
    """Run the console script (or `python -m leakwatch.cli`) in `place`, as a user's shell would."""
    command = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "leakwatch.cli"]
    full_env = {**os.environ, "JAVA_HOME": str(place / "java"), "XDG_CACHE_HOME": str(place / "cache"),
                "LEAKWATCH_RUN_ID": "test", **(env or {})}
    for name in ("PYSPARK_GATEWAY_PORT", "PYSPARK_SUBMIT_ARGS", "SPARK_HOME", "SPARK_CONF_DIR", *unset):
        full_env.pop(name, None)
    done = subprocess.run([*command, *args], cwd=place, env=full_env, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    return Ran(done.returncode, done.stdout or "", done.stderr)


def said_once(ran: Ran, status: int, pattern: str) -> None:
    """Exit `status`, at most two lines on stderr that match `pattern`, no traceback, no JVM."""
    assert JVM_STARTED not in ran.err, ran.err
    assert "Traceback" not in ran.err, ran.err
    assert ran.status == status, ran.err
    assert 1 <= len(ran.err.splitlines()) <= 2, ran.err
    assert re.search(pattern, ran.err), ran.err


# (case, arguments, exit status, what stderr must say). {p} is the working folder.
MISTAKES = [
    # flags and values
    ("local-0-threads", ["run", "good.warc.gz", "--master", "local[0]"], 2,
     r"^leakwatch run: argument --master: must be local, local\[N\].* not local\[0\]\n.*--help"),
    ("bad-master", ["extract", "good.warc.gz", "--master", "banana"], 2, r"--master: must be .*not banana"),
    ("bad-memory", ["extract", "good.warc.gz", "--driver-memory", "lots"], 2, r"JVM memory size such as 4g"),
    ("bad-log-level", ["extract", "good.warc.gz", "--log-level", "LOUD"], 2, r"--log-level: must be one of ALL"),
    ("zero-partitions", ["extract", "good.warc.gz", "--shuffle-partitions", "0"], 2, r"must be at least 1, not 0"),
    ("negative-replicates", ["run", "good.warc.gz", "--replicates", "-5"], 2, r"--replicates: must be at least 1"),
    ("nan-share", ["extract", "good.warc.gz", "--max-failed-share", "nan"], 2, r"must be a finite number, not nan"),
    ("share-above-one", ["extract", "good.warc.gz", "--max-failed-share", "2"], 2, r"must be from 0 to 1, not 2"),
    ("negative-payload", ["extract", "good.warc.gz", "--max-payload-bytes", "-1"], 2, r"must be at least 1"),
    ("zero-timeout", ["extract", "good.warc.gz", "--read-timeout", "0"], 2, r"--read-timeout: must be more than 0"),
    ("negative-retries", ["extract", "good.warc.gz", "--retries", "-1"], 2, r"--retries: must be at least 0"),
    ("zero-sample", ["extract", "good.warc.gz", "--sample-files", "0"], 2, r"--sample-files: must be at least 1"),
    ("jaccard-above-one", ["run", "good.warc.gz", "--jaccard-threshold", "1.5"], 2,
     r"--jaccard-threshold must be between 0 and 1"),
    ("seed-text", ["extract", "good.warc.gz", "--seed", "abc"], 2, r"--seed: 'abc' is not an integer"),
    ("last-negative", ["crawls", "--last", "-1"], 2, r"--last: must be at least 1"),
    ("no-pages", ["demo", "--pages-per-crawl", "0"], 2, r"--pages-per-crawl: must be at least 1"),
    ("mistyped-flag", ["stats", "--replciates", "5"], 2, r"unrecognized arguments: --replciates 5; did you mean "
                                                        r"--replicates\?"),
    ("one-value-flag", ["train", "--exclude-generators", "gpt2", "opt"], 2,
     r"unrecognized arguments: opt; --exclude-generators takes one value: repeat it for each"),
    ("mistyped-command", ["extarct"], 2, r"invalid choice: 'extarct'.*did you mean extract\?"),
    # the config file
    ("config-dir", ["extract", "good.warc.gz", "--config", "confdir"], 2, r"--config confdir: is a directory"),
    ("config-type", ["extract", "good.warc.gz", "--config", "badtype.toml"], 2,
     r"^leakwatch extract: badtype.toml: \[inputs\] sample_files must be an integer, not 'ten'"),
    ("config-range", ["stats", "--config", "range.toml"], 2, r"\[stats\] replicates must be at least 1, not -5"),
    ("config-typo", ["extract", "good.warc.gz", "--config", "typo.toml"], 2,
     r"unknown setting 'sample_file' in \[inputs\]"),
    # inputs
    ("glob-matches-nothing", ["extract", "shards/*.warc.gz"], 2, r"no input files match 'shards/\*.warc.gz'"),
    ("dir-without-archives", ["extract", "noarchives"], 2, r"directory noarchives holds no .warc"),
    ("missing-input", ["run", "nosuch.warc.gz"], 2, r"input not found: nosuch.warc.gz"),
    ("ftp-input", ["extract", "ftp://example.org/a.warc.gz"], 2, r"cannot read ftp://"),
    ("binary-manifest", ["extract", "--paths", "binary.paths.gz"], 2, r"--paths: .*not a text file of paths"),
    ("broken-gzip-manifest", ["extract", "--paths", "broken.paths.gz"], 2, r"--paths: .*not a valid gzip file"),
    ("missing-manifest", ["extract", "--paths", "nosuch.paths.gz"], 2, r"--paths: no such file: nosuch.paths.gz"),
    ("unknown-host", ["extract", "https://leakwatch.invalid/a.warc.gz", "--paths", "https://leakwatch.invalid/m.gz"],
     1, r"--paths: cannot reach https://leakwatch.invalid/m.gz: unknown host .*; check the network"),
    # crawl ids
    ("week-99", ["run", "--crawl", "CC-MAIN-2099-99"], 2, r"--crawl CC-MAIN-2099-99: no such crawl: 2099 has no "
                                                         r"week 99"),
    ("future-crawl", ["run", "--crawl", "CC-MAIN-2099-10"], 2, r"no such crawl yet: its week begins on 2099-03-02"),
    ("not-a-crawl", ["run", "--crawl", "not-a-crawl"], 2, r"not a Common Crawl crawl id .*give the files as well"),
    ("no-such-old-crawl", ["extract", "--crawl", "CC-MAIN-2024-03"], 2, r"not in the crawl list, and no such"),
    ("since-future", ["monthly", "--since", "CC-MAIN-2099-10"], 2, r"--since CC-MAIN-2099-10: no such crawl yet"),
    # the warehouse
    ("empty-out", ["extract", "good.warc.gz", "--out="], 2, r"--out is empty"),
    ("root-out", ["extract", "good.warc.gz", "--out", "/"], 2, r"the root directory cannot be a warehouse"),
    ("out-is-file", ["extract", "good.warc.gz", "--out", "a_file"], 2, r"--out a_file: is a file"),
    ("out-under-file", ["extract", "good.warc.gz", "--out", "a_file/wh"], 2, r"a_file is a file, so no directory"),
    ("samples-is-file", ["demo", "--samples", "a_file"], 2, r"^leakwatch demo: --samples a_file: is a file; give a "
                                                            r"directory"),
    ("validation-dir-is-file", ["validate", "--validation-dir", "a_file"], 2, r"--validation-dir a_file: is a file"),
    ("model-dir-under-file", ["train", "--model-dir", "a_file/m"], 2, r"--model-dir a_file/m: \S+a_file is a file, so"),
    ("s3a-without-connector", ["extract", "good.warc.gz", "--out", "s3a://bucket/wh"], 2,
     r"s3a://bucket/wh cannot be written: its connector \(hadoop-aws\) is not on Spark's classpath; .*"
     r"spark.jars.packages=org.apache.hadoop:hadoop-aws:"),
    ("s3-outside-emr", ["extract", "good.warc.gz", "--out", "s3://bucket/wh"], 2, r"EMRFS"),
    ("dedup-no-warehouse", ["dedup", "--out", "nowhere"], 2, r"no warehouse at nowhere: run `leakwatch run INPUT"),
    ("report-before-stats", ["report", "--out", "wh_no_stats"], 2, r"wh_no_stats has no stats table: run "
                                                                   r"`leakwatch stats --out wh_no_stats`"),
    ("stats-before-dedup", ["stats", "--out", "wh_docs_only"], 2, r"has no clusters table: run `leakwatch dedup"),
    ("lock-held", ["monthly", "--warehouse", "locked"], 4, r"locked/_lock is held by run other-run .*Wait for that"),
    # models and the LLM component
    ("fake-model", ["run", "good.warc.gz", "--model", "fake.ftz"], 2,
     r"fake.ftz is not a fasttext model .*: pass --model a .ftz from `leakwatch train`"),
    ("missing-model", ["score", "--model", "nosuch.ftz", "texts.jsonl"], 2, r"model not found at nosuch.ftz"),
    ("missing-llm-texts", ["run", "good.warc.gz", "--llm-texts", "nosuch.jsonl"], 2,
     r"--llm-texts: cannot read nosuch.jsonl: No such file or directory; pass JSONL files"),
    ("llm-texts-not-json", ["run", "good.warc.gz", "--llm-texts", "notjson.txt"], 2,
     r"--llm-texts: notjson.txt:1: not JSON"),
    ("stats-labeled-not-folder", ["run", "good.warc.gz", "--stats-labeled", "a_file"], 2,
     r"--stats-labeled a_file: not a folder of labelled \*.jsonl"),
    ("score-binary", ["score", "binary.jsonl"], 2, r"binary.jsonl:\d+: not UTF-8 text"),
    ("score-not-json", ["score", "notjson.txt"], 2, r"notjson.txt:1: not JSON"),
    # the crawl list
    ("refresh-missing", ["crawls", "--refresh", "nosuch.json"], 2, r"--refresh: no such file: nosuch.json; the crawl"
                                                                  r" list in use is unchanged"),
    ("refresh-not-json", ["crawls", "--refresh", "notjson.txt"], 2, r"not a collinfo.json: not JSON"),
    ("refresh-object", ["crawls", "--refresh", "object.json"], 2, r"expected a JSON list of crawls"),
    ("refresh-offline", ["crawls", "--refresh", "https://leakwatch.invalid/collinfo.json"], 1,
     r"cannot fetch the crawl list: .*unknown host.*check the network.*unchanged \(shipped with leakwatch"),
]


@pytest.fixture(scope="module")
def mistakes_ran(place) -> dict[str, Ran]:
    """Every case of MISTAKES, run a few at a time: each is a process start of ~0.5 s CPU, mostly imports."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {case: pool.submit(leakwatch, place, *args) for case, args, *_ in MISTAKES}
    return {case: run.result() for case, run in runs.items()}


@pytest.mark.parametrize(("case", "status", "pattern"), [(c[0], *c[2:]) for c in MISTAKES],
                         ids=[c[0] for c in MISTAKES])
def test_a_mistake_gets_one_clear_line_before_spark(mistakes_ran, case, status, pattern):
    said_once(mistakes_ran[case], status, pattern)


def test_a_crawl_newer_than_the_list_offers_a_refresh(place):
    old_list = {"XDG_CACHE_HOME": str(place / "old-cache")}
    ran = leakwatch(place, "run", "--crawl", "CC-MAIN-2021-04", env=old_list)
    said_once(ran, 2, r"not in the crawl list, which ends at CC-MAIN-2020-05 \(refreshed .*\); if the crawl is out, "
                      r"`leakwatch crawls --refresh` fetches the current list")


def test_missing_java_is_said_before_anything_else(place):
    said_once(leakwatch(place, "extract", "good.warc.gz", env={"PATH": "/nonexistent"}, unset=["JAVA_HOME"]), 2,
              r"Spark needs Java 17\+, and no java was found on PATH\. Install Java 17")
    said_once(leakwatch(place, "extract", "good.warc.gz", env={"JAVA_HOME": str(place / "nojava")}), 2,
              r"JAVA_HOME=\S+nojava has no bin/java")


def test_a_warehouse_that_cannot_be_written(place, tmp_path):
    locked = tmp_path / "readonly"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes through permission bits; an immutable directory stops it too
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(locked)]).returncode:
            pytest.skip("running as root, where only an immutable directory (chattr +i) is read-only")
    else:
        locked.chmod(0o555)
    try:
        said_once(leakwatch(place, "extract", "good.warc.gz", "--out", str(locked / "wh")), 2,
                  rf"cannot write the warehouse {locked}/wh: (Permission denied|Operation not permitted).*; pass "
                  "--out a directory you can write")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(locked)])
        locked.chmod(0o755)


def test_a_jvm_that_exits_as_it_starts_is_one_line_after_its_own(place, tmp_path):
    # The stand-in java passes the version check, then exits when Spark's launcher runs it.
    ran = leakwatch(place, "extract", "good.warc.gz", "--out", str(tmp_path / "wh"))
    assert ran.status == 2 and JVM_STARTED in ran.err and "Traceback" not in ran.err, ran.err
    assert ran.err.splitlines()[-1].startswith("leakwatch extract: Spark's JVM exited as it started (the lines "
                                               "above are its own); check PYSPARK_SUBMIT_ARGS"), ran.err


@pytest.mark.parametrize("args", [["crawls"], ["score", "texts.jsonl"]], ids=["crawls", "score"])
def test_stdout_closed_early_ends_quietly(place, args):
    read, write = os.pipe()
    os.close(read)  # as `| head` does once it has what it wants: the next write gets EPIPE
    try:
        ran = leakwatch(place, *args, stdout=write)
    finally:
        os.close(write)
    assert (ran.status, ran.err) == (141, "")


def test_help_says_the_default_warehouse(place):
    ran = leakwatch(place, "run", "--help")
    assert ran.status == 0 and "(default: ./warehouse, under the current" in " ".join(ran.out.split())


def test_a_manifest_url_that_is_missing_is_not_a_network_failure(place):
    from tests.servers import StaticServer

    with StaticServer(str(place / "noarchives")) as server:
        ran = leakwatch(place, "extract", "--paths", server.url + "warc.paths.gz")
    said_once(ran, 2, r"--paths: HTTP 404")


def test_the_connector_is_found_where_spark_would_find_it(monkeypatch, tmp_path):
    from leakwatch.errors import WarehouseError
    from leakwatch.jobs.spark import check_filesystem

    for name in ("PYSPARK_SUBMIT_ARGS", "SPARK_HOME", "SPARK_CONF_DIR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(WarehouseError, match="hadoop-aws"):
        check_filesystem("s3a://bucket/wh")
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--packages org.apache.hadoop:hadoop-aws:3.5.0 pyspark-shell")
    check_filesystem("s3a://bucket/wh")
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS")
    (tmp_path / "spark-defaults.conf").write_text("spark.jars /opt/jars/hadoop-aws-3.5.0.jar\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    check_filesystem("s3a://bucket/wh")
    check_filesystem(str(tmp_path / "local"))  # local paths and hdfs:// need no connector
    check_filesystem("hdfs://namenode/wh")


def test_gzip_manifest_helpers_still_read_a_good_manifest(tmp_path):
    from leakwatch.sources import read_lines

    (tmp_path / "warc.paths.gz").write_bytes(gzip.compress(b"a.warc.gz\n\nb.warc.gz\n"))
    assert read_lines(str(tmp_path / "warc.paths.gz")) == ["a.warc.gz", "b.warc.gz"]


def real_java_leakwatch(place: Path, *args: str, **popen) -> subprocess.Popen:
    """The console script with the machine's own Java (these runs start Spark)."""
    command = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "leakwatch.cli"]
    env = {**os.environ, "XDG_CACHE_HOME": str(place / "cache"), "PYSPARK_PYTHON": sys.executable}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    return subprocess.Popen([*command, *args], cwd=place, env=env, text=True, **popen)


@pytest.mark.spark
@pytest.mark.timeout(300)
def test_run_says_why_each_input_failed(place, tmp_path):
    proc = real_java_leakwatch(place, "run", "text.warc.gz", "empty.warc.gz", "--out", str(tmp_path / "wh"),
                               "--master", "local[1]", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=280)
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert re.search(r"extract: failed: \S+/empty.warc.gz: \w+: the file is empty", err), err
    assert re.search(r"extract: failed: \S+/text.warc.gz: NotAnArchive: not a WARC or ARC file", err), err
    assert err.splitlines()[-1].startswith(f"leakwatch run: no documents in {tmp_path / 'wh'}: every input of this "
                                           "run failed or held no pages (extract's lines above say why)")


@pytest.mark.spark
@pytest.mark.timeout(300)
def test_ctrl_c_ends_the_run_quietly_and_leaves_no_process(place, tmp_path):
    import signal
    import time

    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        # A shell gives its foreground job the default SIGINT handling, whatever the test runner's is.
        proc = real_java_leakwatch(place, "run", "good.warc.gz", "--out", str(tmp_path / "wh"), "--master",
                                   "local[1]", stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 240
        while "stage 1/5: extract" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group
        status = proc.wait(timeout=120)
    text = log.read_text()
    assert status == 130 and "Traceback" not in text and "ERROR" not in text, text
    assert text.splitlines()[-1] == ("leakwatch run: interrupted; rerun it to go on; with --resume, the files of a "
                                     "finished extract are not read again")
    for _ in range(100):  # the JVM ends once the driver's pipe to it closes
        left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.2)
    assert not left, f"processes left running after Ctrl-C: {left}"


@pytest.mark.spark
def test_monthly_offline_fails_and_unpublished_waits(spark, place, tmp_path, capsys, monkeypatch):
    from leakwatch.cli import main
    from tests.servers import StaticServer

    monkeypatch.setenv("XDG_CACHE_HOME", str(place / "cache"))
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    warehouse = tmp_path / "wh"
    assert main(["monthly", "--warehouse", str(warehouse), "--base-url", closed, "--retries", "0"]) == 1
    err = capsys.readouterr().err
    assert re.search(r"leakwatch monthly: the manifest of CC-MAIN-\d{4}-\d\d: \S+ gave up after 1 attempts.*"
                     r"check the network", err), err
    (tmp_path / "mirror").mkdir()
    with StaticServer(str(tmp_path / "mirror")) as mirror:  # serves nothing: every manifest is a 404
        assert main(["monthly", "--warehouse", str(warehouse), "--base-url", mirror.url]) == 0
    err = capsys.readouterr().err
    assert "later crawls wait for it" in err and "warehouse has no documents yet: no stats or report" in err, err
    assert not (warehouse / "stats").exists()


def test_the_cli_starts_without_pandas_or_pyarrow():
    """`leakwatch --help` and a refused flag import neither (measured: --help in 0.36 s against 0.81 s
    with them); the commands that need them import them when they run."""
    script = ("import atexit, sys; from leakwatch.cli import main; heavy = ('pandas', 'pyarrow', 'pyspark'); "
              "atexit.register(lambda: print(sorted(m for m in heavy if m in sys.modules))); "
              "sys.exit(main(sys.argv[1:]))")
    for args, code in ((["--help"], 0), (["stats", "--replicates", "0"], 2)):
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
        assert done.returncode == code, done.stderr
        assert done.stdout.strip().splitlines()[-1] == "[]", args
