"""`leakwatch extract` on derived corpora in local Spark: a mixed run of WARC and corpus files (one
documents table, one ingest_log, damaged files accounted for), resume per file, and corpus files read
from a local HTTP server and from moto's S3 server."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leakwatch.cli import main
from leakwatch.jobs.warehouse import read_documents
from leakwatch.sources import s3_client
from leakwatch.validation.pages import human_paragraphs
from tests.corpora import c4_rows, dolma_rows, text, write_fineweb, write_jsonl
from tests.servers import StaticServer, moto_s3
from tests.warcs import english_page, write_pages

A, B = "CC-MAIN-2021-04", "CC-MAIN-2024-10"
FAST = ["--backoff-base", "0.01", "--backoff-max", "0.05"]


def fineweb_lines(n: int, start: int = 0) -> list[dict]:
    """FineWeb's fields as JSON lines."""
    return [{"text": text(i), "id": f"<urn:uuid:{i:08d}-line>", "dump": B, "url": f"https://l{i}.example.com/",
             "date": "2024-02-25T00:00:00Z"} for i in range(start, start + n)]


@pytest.fixture
def mixed(tmp_path) -> Path:
    """A WARC of crawl A, FineWeb parquet of dump B, and damaged corpus files."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_pages(folder / f"{A}-0.warc.gz", A, [english_page(i) for i in range(5)])
    write_fineweb(folder / "000_00000.parquet", n=6)
    whole = write_jsonl(tmp_path / "whole.jsonl.gz", fineweb_lines(300, start=100)).read_bytes()
    (folder / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    pq.write_table(pa.table({"content": [text(0)], "url": ["https://a.example.com/"]}), folder / "notext.parquet")
    write_jsonl(folder / "lines.jsonl.gz", [*fineweb_lines(2, start=50), b"{not json", {"text": " ", "url": "u"}])
    return folder


def read_table(warehouse: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(warehouse / table)


@pytest.mark.spark
def test_a_mixed_run_of_warc_and_corpus_files_then_resume(spark, mixed, tmp_path, capsys):
    warehouse = tmp_path / "wh"
    args = ["extract", str(mixed), "--preset", "fineweb", "--out", str(warehouse), "--max-failed-share", "1"]
    assert main([*args, "--run-id", "first"]) == 0
    out = capsys.readouterr().out
    assert "reconciliation ok" in out
    log = read_table(warehouse, "ingest_log").set_index("path")
    assert len(log) == 5 and (log["records"] == log["kept"] + log["skipped"].map(lambda s: sum(v for _, v in s))).all()
    row = log.loc[str(mixed / "000_00000.parquet")]
    assert row["status"] == "ok" and row["crawl"] == B and dict(row["kept_by_crawl"]) == {B: 6}
    assert row["extractor_version"].startswith("leakwatch-corpus/1")
    cut = log.loc[str(mixed / "cut.jsonl.gz")]
    assert cut["status"] == "partial" and dict(cut["skipped"]) == {"truncated": 1} and 10 < cut["kept"] < 300
    notext = log.loc[str(mixed / "notext.parquet")]
    assert notext["status"] == "failed" and "--text-field" in notext["error_message"]
    lines = log.loc[str(mixed / "lines.jsonl.gz")]
    assert dict(lines["skipped"]) == {"not_json": 1, "empty_text": 1} and lines["kept"] == 2
    warc = log.loc[str(mixed / f"{A}-0.warc.gz")]
    assert warc["crawl"] == A and dict(warc["kept_by_crawl"]) == {A: 5}
    docs = read_documents(spark, str(warehouse)).toPandas()
    assert len(docs) == log["kept"].sum() and docs["doc_id"].is_unique
    assert docs.groupby("origin").size().to_dict() == {"fineweb": 6 + 2 + cut["kept"], "warc": 5}
    assert set(docs["crawl"]) == {A, B}
    # Resume per file: only the partial and the failed files are read again.
    assert main([*args, "--run-id", "second", "--resume"]) == 0
    assert "3 already done, skipped by --resume" in capsys.readouterr().err
    again = read_table(warehouse, "ingest_log")
    reread = sorted(again[again.run_id == "second"]["path"])
    assert reread == [str(mixed / "cut.jsonl.gz"), str(mixed / "notext.parquet")]
    assert read_documents(spark, str(warehouse)).count() == len(docs)


@pytest.mark.spark
def test_corpus_rows_of_several_crawls_in_one_file(spark, tmp_path, capsys):
    # C4 has no dump field: each row's crawl comes from its timestamp's capture window.
    rows = c4_rows(3) + [{**r, "timestamp": "2024-02-25T00:00:00Z"} for r in c4_rows(2, start=3)]
    path = write_jsonl(tmp_path / "c4-train.00000-of-01024.json.gz", rows)
    warehouse = tmp_path / "wh"
    assert main(["extract", str(path), "--format", "jsonl", "--preset", "c4", "--out", str(warehouse)]) == 0
    assert "5 document rows written: reconciliation ok" in capsys.readouterr().out
    log = read_table(warehouse, "ingest_log")
    assert dict(log.iloc[0]["kept_by_crawl"]) == {"CC-MAIN-2019-18": 3, B: 2}
    assert log.iloc[0]["crawl"] == "CC-MAIN-2019-18"  # the crawl most of its rows went to
    assert read_documents(spark, str(warehouse), [B]).count() == 2


@pytest.mark.spark
def test_corpus_files_over_http_and_from_moto_s3(spark, tmp_path, monkeypatch, capsys):
    served = tmp_path / "served"
    served.mkdir()
    write_jsonl(served / "c4.json.gz", c4_rows(4))
    with StaticServer(str(served)) as server:
        code = main(["extract", server.url + "c4.json.gz", "--preset", "c4", "--out", str(tmp_path / "http"), *FAST])
    assert code == 0
    assert read_table(tmp_path / "http", "ingest_log").iloc[0]["path"] == server.url + "c4.json.gz"
    assert len(read_table(tmp_path / "http", "documents")) == 4
    write_fineweb(tmp_path / "fw.parquet", n=5)
    write_jsonl(tmp_path / "d.jsonl.gz", dolma_rows())
    with moto_s3(monkeypatch, tmp_path, "corpora") as s3:
        client = s3["client"]
        # Public read, like the public corpora's buckets: the Spark workers send unsigned requests.
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::corpora/*"}]}
        client.put_bucket_policy(Bucket="corpora", Policy=json.dumps(policy))
        for name in ("fw.parquet", "d.jsonl.gz"):
            client.put_object(Bucket="corpora", Key=f"data/{name}", Body=(tmp_path / name).read_bytes())
        remote = ["--s3-endpoint-url", s3["endpoint"], "--s3-anonymous", "yes", *FAST]
        s3_client.cache_clear()
        fineweb = ["extract", "s3://corpora/data/fw.parquet", "--preset", "fineweb", "--out", str(tmp_path / "s3")]
        assert main([*fineweb, *remote]) == 0
        dolma = ["extract", "s3://corpora/data/d.jsonl.gz", "--preset", "dolma", "--out", str(tmp_path / "s3")]
        assert main([*dolma, *remote]) == 0
    docs = read_table(tmp_path / "s3", "documents")
    assert docs.groupby("origin").size().to_dict() == {"fineweb": 5, "dolma": 3}
    assert set(read_table(tmp_path / "s3", "ingest_log")["status"]) == {"ok"}


@pytest.mark.timeout(1500)
@pytest.mark.spark
def test_run_on_a_corpus_dedups_classifies_and_reports_it_by_dump(spark, tmp_path):
    old, new = "CC-MAIN-2023-06", B
    folder = tmp_path / "fineweb"
    folder.mkdir()
    texts = [" ".join(human_paragraphs()[3 * i : 3 * i + 3]) for i in range(14)]  # distinct, not near copies
    write_fineweb(folder / "000_00000.parquet", n=8, dump=old, text=texts[:8])
    # The later dump holds two texts of the earlier one again, under other URLs: first seen in the old dump.
    urls = [f"https://copy{i}.example.net/" for i in range(8)]
    write_fineweb(folder / "000_00001.parquet", n=8, dump=new, start=8, text=texts[6:], url=urls)
    warehouse = tmp_path / "wh"
    assert main(["run", str(folder), "--preset", "fineweb", "--out", str(warehouse), "--replicates", "20"]) == 0
    docs = read_documents(spark, str(warehouse)).toPandas()
    clusters = read_table(warehouse, "clusters")
    assert len(clusters) == len(read_table(warehouse, "scores")) == len(docs) == 16
    copies = clusters[(clusters.crawl == new) & (clusters.first_seen_crawl_content == old)]
    assert len(copies) == 2
    stats = read_table(warehouse, "stats")
    rows = stats[(stats.time_slice == "crawl") & (stats.view == "captures") & (stats.dimension == "all")]
    assert rows.set_index("crawl")["n_docs"].to_dict() == {old: 8, new: 8}
    page = (warehouse / "report" / "index.html").read_text("utf-8")
    assert "<h1>How much of FineWeb is LLM-written?</h1>" in page  # the report names the corpus, by dump
    assert "<p>Data: FineWeb: 16 documents. A dump is" in page and "<h2>Prevalence over dumps</h2>" in page
    assert '<table id="headline"><thead><tr><th>dump</th><th>dump date</th>' in page
