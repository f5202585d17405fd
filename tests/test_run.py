"""`leakwatch run` and `leakwatch demo` end to end in local Spark, and the sample shards with their truth."""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest
from warcio.archiveiterator import ArchiveIterator

from leakwatch.cli import main
from leakwatch.validation.measure import demo_calibration
from leakwatch.validation.pages import Page, render_page, write_shard
from leakwatch.validation.samples import SampleCrawl, build_samples, calibration_texts, llm_texts, shard_paragraphs

A, B, C = "CC-MAIN-2021-04", "CC-MAIN-2023-50", "CC-MAIN-2024-33"
CRAWLS = (
    SampleCrawl(A, dt.datetime(2021, 1, 15, tzinfo=dt.UTC), 0.0),
    SampleCrawl(B, dt.datetime(2023, 11, 28, tzinfo=dt.UTC), 0.2),
    SampleCrawl(C, dt.datetime(2024, 8, 3, tzinfo=dt.UTC), 0.4),
)
PLANTED = "<script>alert('leak')</script>"
# Whole-pipeline runs: each is ~40 Spark jobs, minutes when the 2 cores are shared with other work.
PIPELINE = pytest.mark.timeout(1500)


def responses(path: Path) -> list[tuple[str, str]]:
    """(url, html) of every response record of a WARC file."""
    with open(path, "rb") as fh:
        return [
            (r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read().decode("utf-8"))
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        ]


def article_words(page_html: str) -> list[str]:
    article = page_html.split("<article>", 1)[1].split("</article>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", article)).split()


def test_shipped_llm_pages_are_web_texts_of_the_promised_shape():
    texts = llm_texts()
    assert len(texts) == 60 and len({t["text"] for t in texts}) == 60
    assert {"how-to", "product-review", "travel-blog", "listicle", "news-explainer", "recipe-intro",
            "seo-landing", "forum-answer"} == {t["style"] for t in texts}
    assert all(250 <= len(t["text"].split()) <= 450 and t["topic"] for t in texts)


def test_sample_truth_matches_the_pages_in_the_shards(tmp_path):
    shards, truth = build_samples(tmp_path, CRAWLS, pages_per_crawl=40, seed=5)
    llm_vocab = [set(t["text"].split()) for t in llm_texts()]
    seen: dict[str, str] = {}
    for shard, spec in zip(shards, CRAWLS, strict=True):
        pages = responses(shard)
        expected = truth["crawls"][spec.crawl]
        words = [article_words(body) for _, body in pages]
        # An LLM page is one whose article shares nearly all its words with a shipped LLM text (near-copies too).
        is_llm = [max(len(set(w) & v) / len(set(w) | v) for v in llm_vocab) > 0.8 for w in words]
        scorable = [len(w) >= 50 for w in words]
        captures = expected["captures"]
        assert len(pages) == captures["pages"] == 40
        assert sum(is_llm) == captures["llm_pages"] == int(spec.llm_share * 40 + 0.5)
        assert sum(scorable) == captures["scorable_pages"] < 40  # a few short stub pages are not covered
        assert sum(a and b for a, b in zip(is_llm, scorable, strict=True)) == captures["scorable_llm_pages"]
        assert captures["scorable_share"] == captures["scorable_llm_pages"] / captures["scorable_pages"]
        assert expected["pre_chatgpt"] == (spec.crawl == A)
        recrawled = sum(seen.get(url) == body for url, body in pages)
        assert recrawled == expected["kinds"]["recrawl"] and (recrawled > 0) == (spec.crawl != A)
        assert expected["first_seen"]["pages"] == 40 - recrawled
        assert expected["kinds"]["near_copy"] > 0 and expected["unique"]["pages"] < 40
        seen.update(pages)


def test_samples_are_deterministic_cached_and_seeded(tmp_path):
    one, truth_one = build_samples(tmp_path / "one", CRAWLS, pages_per_crawl=20, seed=3)
    two, truth_two = build_samples(tmp_path / "two", CRAWLS, pages_per_crawl=20, seed=3)
    assert truth_one == truth_two
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    stamps = [p.stat().st_mtime_ns for p in one]
    build_samples(tmp_path / "one", CRAWLS, pages_per_crawl=20, seed=3)
    assert [p.stat().st_mtime_ns for p in one] == stamps  # cached: not written again
    other, _ = build_samples(tmp_path / "one", CRAWLS, pages_per_crawl=20, seed=4)
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in two]


def test_samples_refuse_more_llm_pages_than_were_shipped(tmp_path):
    crawls = (SampleCrawl(C, dt.datetime(2024, 8, 3, tzinfo=dt.UTC), 0.9),)
    with pytest.raises(ValueError, match="60 shipped LLM texts are used up"):
        build_samples(tmp_path, crawls, pages_per_crawl=100)


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
    assert html.escape(f"{PLANTED} Repotting", quote=True) in page  # and its text


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


def test_calibration_pages_are_held_out_of_every_shard():
    texts = calibration_texts()
    human = [t for t, llm in texts if not llm]
    llm = [t for t, is_llm in texts if is_llm]
    in_shards = set(shard_paragraphs())
    used = [p for t in human for p in t.split("\n\n")]
    assert used and len(used) == len(set(used)) and not set(used) & in_shards
    assert all(4 <= len(t.split("\n\n")) <= 12 for t in human)
    assert len(llm) == 60 and not set(llm) & {item["text"] for item in llm_texts()}


def test_demo_measures_error_rates_on_the_held_out_pages(tmp_path):
    from leakwatch.config import Config

    counts, path = demo_calibration(tmp_path, Config())
    texts = calibration_texts()
    n_llm = sum(llm for _, llm in texts)
    assert 0 < counts["n_pos"] <= n_llm and 0 < counts["n_neg"] <= len(texts) - n_llm
    assert 0 <= counts["tp"] <= counts["n_pos"] and 0 <= counts["fp"] <= counts["n_neg"]
    can_correct = counts["tp"] / counts["n_pos"] > counts["fp"] / counts["n_neg"]
    # A file for the stats job only when the counts can correct a flagged share.
    assert (path is not None) == can_correct == (tmp_path / "calibration.json").exists()
    if path is not None:
        data = json.loads(path.read_text())
        assert data == {**{k: counts[k] for k in ("threshold", "tp", "n_pos", "fp", "n_neg")}, "source": data["source"]}
