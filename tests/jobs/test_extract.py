"""`leakwatch extract` end to end in local Spark: tables, reconciliation, exit status, resume,
crawl manifests over HTTP, TOML config, and one run through spark-submit."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from leakwatch.cli import main
from leakwatch.jobs.extract import CONCURRENT_WRITERS, rows_of_run
from leakwatch.jobs.warehouse import read_documents
from tests.servers import StaticServer
from tests.warcs import english_page, write_pages

REPO = Path(__file__).resolve().parents[2]
A, B = "CC-MAIN-2021-04", "CC-MAIN-2024-10"


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_pages(folder / f"{A}-0.warc.gz", A, [english_page(i) for i in range(6)])
    write_pages(folder / f"{B}-0.warc.gz", B, [english_page(i) for i in range(6, 10)])
    full = write_pages(tmp_path / "whole.warc.gz", B, [english_page(i) for i in range(10, 16)]).read_bytes()
    (folder / f"{B}-cut.warc.gz").write_bytes(full[: int(len(full) * 0.5)])
    (folder / f"{B}-junk.warc.gz").write_bytes(b"<html>not an archive</html>\n")
    return folder


def read_table(warehouse: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(warehouse / table)


@pytest.mark.spark
def test_extract_end_to_end(spark, inputs, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    code = main(["extract", str(inputs), "--out", str(warehouse), "--max-failed-share", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    log = read_table(warehouse, "ingest_log").set_index("path")
    docs = read_table(warehouse, "documents")
    assert len(log) == 4
    assert sorted(log["status"]) == ["failed", "ok", "ok", "partial"]
    assert log["kept"].sum() == len(docs)
    assert f"{log['kept'].sum()} kept" in out and "reconciliation ok" in out and "failed:" in out
    junk = log.loc[str(inputs / f"{B}-junk.warc.gz")]
    assert junk["status"] == "failed" and junk["error_class"] == "NotAnArchive"
    by_crawl = docs.groupby("crawl", observed=True).size().to_dict()
    assert by_crawl[A] == 6 and by_crawl[B] >= 5
    assert docs["doc_id"].is_unique
    # Any failed file fails the run by default.
    assert main(["extract", str(inputs / f"{B}-junk.warc.gz"), "--out", str(tmp_path / "wh2")]) == 1


@pytest.mark.spark
def test_resume_rereads_only_unfinished_files_and_supersedes_their_rows(spark, inputs, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    main(["extract", str(inputs), "--out", str(warehouse), "--max-failed-share", "1", "--run-id", "first"])
    before = read_documents(spark, str(warehouse)).count()
    capsys.readouterr()
    code = main(
        ["extract", str(inputs), "--out", str(warehouse), "--resume", "--max-failed-share", "1", "--run-id", "second"]
    )
    err = capsys.readouterr().err
    assert code == 0 and "2 already done, skipped by --resume" in err
    log = read_table(warehouse, "ingest_log")
    assert sorted(log[log.run_id == "second"]["path"]) == sorted(
        str(inputs / name) for name in (f"{B}-cut.warc.gz", f"{B}-junk.warc.gz")
    )
    # The partial file was read twice; only its latest read counts.
    assert read_documents(spark, str(warehouse)).count() == before
    assert len(read_table(warehouse, "documents")) > before


@pytest.mark.spark
def test_reconciliation_counts_the_rows_stored_in_this_runs_files(spark, inputs, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    for run_id in ("one", "two"):
        args = ["extract", str(inputs), "--out", str(warehouse), "--max-failed-share", "1", "--run-id", run_id]
        assert main(args) == 0
    # The run's setting of the shared session is put back.
    assert spark.conf.get(CONCURRENT_WRITERS[0]) != CONCURRENT_WRITERS[1]
    docs = read_table(warehouse, "documents")
    files = [str(p) for p in (warehouse / "documents").glob("crawl=*/*.parquet")]
    assert len(files) == 2 * 3  # per run, one file per task that kept pages: A-0, B-0 and B-cut
    for run_id in ("one", "two"):
        assert rows_of_run(spark, files, run_id) == (docs.run_id == run_id).sum() > 0
    # A file that mixes runs proves no row to be either run's.
    mixed = tmp_path / "mixed"
    spark.read.parquet(str(warehouse / "documents")).coalesce(1).write.parquet(str(mixed))
    mixed_files = [str(p) for p in mixed.glob("*.parquet")]
    assert rows_of_run(spark, mixed_files, "one") == rows_of_run(spark, mixed_files, "two") == 0
    # A file whose crawl only its warcinfo tells, into a crawl that already has rows: the earlier runs'
    # files there are read too, and not counted.
    plain = write_pages(tmp_path / "plain.warc.gz", A, [english_page(i) for i in range(20, 23)])
    assert main(["extract", str(plain), "--out", str(warehouse), "--run-id", "three"]) == 0
    last = capsys.readouterr().out.split("extract: 1 files")[-1]
    assert "= 3 kept + " in last and "; 3 document rows written: reconciliation ok" in last
    docs = read_table(warehouse, "documents")
    assert set(docs[docs.run_id == "three"]["crawl"]) == {A}


@pytest.mark.spark
def test_rows_the_files_do_not_prove_fail_the_reconciliation(spark, inputs, tmp_path, capsys):
    # Without run_id statistics in the written files nothing proves the rows are this run's: the check
    # reads the stored files, so it must fail (exit 3), although every task yielded its rows.
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    key = "parquet.column.statistics.enabled#run_id"
    hadoop.set(key, "false")
    try:
        code = main(["extract", str(inputs / f"{A}-0.warc.gz"), "--out", str(tmp_path / "wh")])
    finally:
        hadoop.unset(key)
    out = capsys.readouterr().out
    assert code == 3
    assert "6 kept + " in out and "0 document rows written: reconciliation MISMATCH" in out


@pytest.mark.spark
def test_crawl_id_resolves_its_manifest_over_http_and_samples(spark, tmp_path):
    root = tmp_path / "mirror"
    crawl_dir = root / "crawl-data" / B
    (crawl_dir / "segments").mkdir(parents=True)
    entries = []
    for i in range(4):
        write_pages(crawl_dir / "segments" / f"{B}-{i}.warc.gz", B, [english_page(10 * i + j) for j in range(2)])
        entries.append(f"crawl-data/{B}/segments/{B}-{i}.warc.gz")
    (crawl_dir / "warc.paths.gz").write_bytes(gzip.compress("\n".join(entries).encode()))
    warehouse = tmp_path / "wh"
    with StaticServer(str(root)) as server:
        code = main(
            [
                "extract",
                "--crawl",
                B,
                "--base-url",
                server.url,
                "--sample-files",
                "2",
                "--seed",
                "7",
                "--out",
                str(warehouse),
            ]
        )
    assert code == 0
    log = read_table(warehouse, "ingest_log")
    assert len(log) == 2 and set(log["status"]) == {"ok"} and all(p.startswith(server.url) for p in log["path"])
    assert len(read_table(warehouse, "documents")) == 4


def test_bad_inputs_are_usage_errors(tmp_path, capsys):
    assert main(["extract", str(tmp_path / "nothing-*.warc.gz"), "--out", str(tmp_path)]) == 2
    assert "no input files match" in capsys.readouterr().err
    assert main(["extract", "--out", str(tmp_path)]) == 2


@pytest.mark.spark
def test_extract_through_spark_submit(inputs, tmp_path):
    spark_submit = Path(sys.executable).parent / "spark-submit"
    if not spark_submit.exists():
        pytest.skip("spark-submit is not installed beside this interpreter")
    warehouse = tmp_path / "wh"
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    result = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            str(REPO / "deploy" / "driver.py"),
            "extract",
            str(inputs / f"{A}-0.warc.gz"),
            "--out",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reconciliation ok" in result.stdout
    assert len(read_table(warehouse, "documents")) == 6


@pytest.mark.spark
def test_missing_or_old_java_is_reported_with_how_to_install(tmp_path, monkeypatch):
    from leakwatch.errors import JavaMissingError
    from leakwatch.jobs.spark import check_java

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(JavaMissingError, match="has no bin/java.*apt-get install openjdk-17"):
        check_java()
    fake = tmp_path / "jdk11" / "bin"
    fake.mkdir(parents=True)
    (fake / "java").write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    (fake / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk11"))
    with pytest.raises(JavaMissingError, match="found Java 11"):
        check_java()
