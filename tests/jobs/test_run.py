"""`leakwatch run` and `leakwatch demo`: every table written and consistent, a late crawl deduplicated
before later ones, a rerun that adds nothing, the report escaping crawled text, a broken only input."""

from __future__ import annotations

import datetime as dt
import html
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from leakwatch.cli import main
from leakwatch.validation.pages import Page, render_page, write_shard
from leakwatch.validation.samples import SampleCrawl, build_samples, llm_texts

A, B, C = "CC-MAIN-2021-04", "CC-MAIN-2023-50", "CC-MAIN-2024-33"
CRAWLS = (
    SampleCrawl(A, dt.datetime(2021, 1, 15, tzinfo=dt.UTC), 0.0),
    SampleCrawl(B, dt.datetime(2023, 11, 28, tzinfo=dt.UTC), 0.2),
    SampleCrawl(C, dt.datetime(2024, 8, 3, tzinfo=dt.UTC), 0.4),
)


PLANTED = "<script>alert('leak')</script>"


# Whole-pipeline runs: each is ~40 Spark jobs, minutes when the 2 cores are shared with other work.
PIPELINE = pytest.mark.timeout(1500)


def planted_shard(path: Path) -> Path:
    """One more page of crawl C with a script in its URL and its text (the report must escape both)."""
    text = llm_texts()[0]["text"].split("\n\n")
    when = dt.datetime(2024, 8, 10, tzinfo=dt.UTC)
    evil = render_page(f"Guide {PLANTED}", [f"{PLANTED} {text[0]}", *text[1:]], random.Random(1))
    pages = [Page(url=f"https://evil.example.com/{PLANTED}", body=evil.encode(), fetch_time=when)]
    with open(path, "wb") as out:
        write_shard(out, C, pages)
    return path


def stats_table(warehouse: Path) -> pd.DataFrame:
    return pd.read_parquet(warehouse / "stats")


def crawl_rows(stats: pd.DataFrame) -> pd.DataFrame:
    rows = stats[(stats.time_slice == "crawl") & (stats.view == "captures") & (stats.dimension == "all")]
    return rows.set_index("crawl")


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """Run 1 over crawls B and C; run 2 adds the older crawl A late; run 3 repeats run 2 (nothing new)."""
    from leakwatch.jobs.warehouse import read_documents

    root = tmp_path_factory.mktemp("run")
    # Ten pages a crawl: the planted page is then among the ten examples of the latest crawl the report shows.
    shards, truth = build_samples(root / "samples", CRAWLS, pages_per_crawl=10, seed=2)
    planted = planted_shard(root / f"{C}-planted.warc.gz")
    warehouse = root / "wh"
    common = ["--out", str(warehouse), "--replicates", "20"]
    outcome = {"truth": truth, "warehouse": warehouse}

    def run(inputs: list[Path], key: str, extra: list[str]) -> None:
        outcome[key] = main(["run", *map(str, inputs), *common, *extra])
        outcome[f"{key}_docs"] = read_documents(spark, str(warehouse)).groupBy("crawl").count().toPandas()
        outcome[f"{key}_clusters"] = pd.read_parquet(warehouse / "clusters")
        outcome[f"{key}_stats"] = stats_table(warehouse)

    run([*shards[1:], planted], "first", [])
    run([*shards, planted], "late", ["--resume"])
    run([*shards, planted], "again", ["--resume"])
    return outcome


@PIPELINE
@pytest.mark.spark
def test_run_writes_every_table_and_they_agree(runs):
    warehouse = runs["warehouse"]
    assert runs["first"] == runs["late"] == runs["again"] == 0
    docs = runs["again_docs"].set_index("crawl")["count"]
    pages = {crawl: t["captures"]["pages"] for crawl, t in runs["truth"]["crawls"].items()}
    assert docs.to_dict() == {A: pages[A], B: pages[B], C: pages[C] + 1}  # + the planted page
    assert len(pd.read_parquet(warehouse / "clusters")) == len(pd.read_parquet(warehouse / "scores")) == docs.sum()
    stats = stats_table(warehouse)
    assert crawl_rows(stats)["n_docs"].to_dict() == docs.to_dict()
    assert crawl_rows(stats)["pre_chatgpt"].to_dict() == {A: True, B: False, C: False}
    assert len(pd.read_csv(f"{warehouse}/stats.csv")) == len(stats)
    assert len(json.loads(Path(f"{warehouse}/stats.json").read_text())) == len(stats)


@PIPELINE
@pytest.mark.spark
def test_a_crawl_that_arrives_late_is_deduplicated_before_the_later_ones(runs):
    recrawls = runs["truth"]["crawls"][B]["kinds"]["recrawl"]
    assert recrawls > 0
    first = runs["first_clusters"]
    assert (first[first.crawl == B].first_seen_crawl_content == A).sum() == 0
    late = runs["late_clusters"]
    assert (late[late.crawl == B].first_seen_crawl_content == A).sum() == recrawls


@PIPELINE
@pytest.mark.spark
def test_a_rerun_with_nothing_new_adds_no_rows_and_rewrites_the_same_stats(runs):
    assert runs["again_docs"].sort_values("crawl").equals(runs["late_docs"].sort_values("crawl"))
    key = ["time_slice", "period", "view", "dimension", "value"]
    late = runs["late_stats"].sort_values(key).reset_index(drop=True)
    again = runs["again_stats"].sort_values(key).reset_index(drop=True)
    # The run id and the code version (a commit may land between the runs) are provenance, not results.
    provenance = ["run_id", "code_version"]
    assert late.drop(columns=provenance).equals(again.drop(columns=provenance))
    assert len(runs["again_clusters"]) == len(runs["late_clusters"])


@PIPELINE
@pytest.mark.spark
def test_the_report_escapes_a_script_in_a_page_url_and_text(runs):
    page = (runs["warehouse"] / "report" / "index.html").read_text("utf-8")
    assert "<script>alert(" not in page
    assert "evil.example.com/&lt;script&gt;alert(" in page  # the example's URL, escaped
    first_word = llm_texts()[0]["text"].split()[0]
    assert html.escape(f"{PLANTED} {first_word}", quote=True) in page  # and its text


@pytest.mark.spark
def test_run_with_only_a_broken_input_says_so_and_exits_1(spark, tmp_path, capsys):
    junk = tmp_path / "CC-MAIN-2024-33-junk.warc.gz"
    junk.write_bytes(b"<html>not an archive</html>\n")
    assert main(["run", str(junk), "--out", str(tmp_path / "wh")]) == 1
    assert "every input of this run failed or held no pages" in capsys.readouterr().err


@PIPELINE
@pytest.mark.spark
def test_demo_runs_the_pipeline_on_the_samples_and_a_rerun_adds_nothing(spark, tmp_path, capsys):
    warehouse, samples = tmp_path / "wh", tmp_path / "samples"
    argv = ["demo", "--out", str(warehouse), "--samples", str(samples), "--pages-per-crawl", "12",
            "--replicates", "20"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    truth = json.loads((samples / "truth.json").read_text())
    assert "reconciliation ok" in out and f"report: {warehouse}/report/index.html" in out
    for crawl, t in truth["crawls"].items():
        share = t["captures"]["scorable_share"]
        line = next(line for line in out.splitlines() if line.startswith(crawl))
        assert f"{100 * share:.1f}%" in line and ("pre-ChatGPT" in line) == t["pre_chatgpt"]
    docs = len(pd.read_parquet(warehouse / "documents"))
    assert docs == 5 * 12
    assert main(argv) == 0
    assert "no rows added" in capsys.readouterr().out
    assert len(pd.read_parquet(warehouse / "documents")) == docs
    # Other shards under the same file names: refused before any is written, not resumed past.
    shards = {p.name: p.read_bytes() for p in samples.glob("*.warc.gz")}
    assert main([*argv[:5], "--pages-per-crawl", "13", *argv[7:]]) == 2
    err = capsys.readouterr().err
    assert "other sample shards (12 pages per crawl" in err and "another --out" in err and len(err.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in samples.glob("*.warc.gz")} == shards
    assert len(pd.read_parquet(warehouse / "documents")) == docs
    # Another seed is other pages too: refused the same way.
    assert main([*argv, "--sample-seed", "1"]) == 2
    assert "seed 0; now 12, seed 1" in capsys.readouterr().err
