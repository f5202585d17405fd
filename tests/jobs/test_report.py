"""The report job on local Spark: a readable page from the warehouse, crawled text always escaped."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from PIL import Image

from leakwatch.cli import main
from leakwatch.config import Config
from leakwatch.jobs.report import load_health, run_report
from leakwatch.schemas.tables import DOCUMENTS, INGEST_LOG, SCORES, STATS
from leakwatch.schemas.values import ESTIMATOR_COLUMNS, SYNTHETIC_TRUTH

pytestmark = pytest.mark.spark

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUN = "run-1"
CRAWLS = {  # crawl -> (capture date, pre-ChatGPT, prevalence of the captures/all row)
    "CC-MAIN-2021-04": ("2021-01-15", True, 0.004),
    "CC-MAIN-2022-33": ("2022-08-07", True, 0.0),
    "CC-MAIN-2023-50": ("2023-11-28", False, 0.061),
    "CC-MAIN-2024-33": ("2024-08-02", False, 0.118),
}


def _stats_row(crawl: str, view: str = "captures", dimension: str = "all", value: str = "all",
               time_slice: str = "crawl", period: str | None = None, prevalence: float | None = 0.1,
               n_docs: int = 1000, **overrides) -> dict:
    """One stats row with plausible numbers derived from the prevalence (schema STATS)."""
    date, pre, _ = CRAWLS.get(crawl, (None, False, 0.0))
    n_scored = int(n_docs * 0.62)
    raw = None if prevalence is None else 0.033 + prevalence * (0.40 - 0.033)
    row = {
        "time_slice": time_slice, "period": period or crawl, "crawl": crawl, "crawl_date": date,
        "pre_chatgpt": pre, "view": view, "dimension": dimension, "value": value, "n_docs": n_docs,
        "n_domains": n_docs // 4, "n_scored": n_scored, "coverage": n_scored / n_docs,
        "n_flagged": 0 if raw is None else round(raw * n_scored), "raw_share": raw,
        "mean_p_llm": None if raw is None else raw * 0.9, "prevalence": prevalence,
        "ci_low": None if prevalence is None else max(prevalence - 0.021, 0.0),
        "ci_high": None if prevalence is None else prevalence + 0.027,
        "n_sites": 40, "llm_site_share": 0.05, "near_dup_share": 0.12, "n_words": n_docs * 480,
        "chatbot_leftovers_pmw": 0.2 + 40 * (prevalence or 0.0), "llm_style_words_pmw": 90 + 900 * (prevalence or 0.0),
        "neutral_control_pmw": 2100.0, "chatbot_leftovers_excess_pmw": None if pre else 30 * (prevalence or 0.0),
        "llm_style_words_excess_pmw": None if pre else 800 * (prevalence or 0.0), "threshold": 0.9995,
        "tpr": 0.40, "fpr": 0.033, "replicates": 1000, "model_id": "sha256:abc123",
        "estimator": "mle_v1", "measurable": prevalence is not None, "not_measurable": None if prevalence is not None
        else "3 scored pages (fewer than 100)", "human_baseline": "CC-MAIN-2021-04, CC-MAIN-2022-33 (this slice)",
        "baseline_pages": 5000, "baseline_drift": 0.004, "baseline_moved": False,
        **{f"{c}{part}": None if prevalence is None else prevalence + k / 1000 + d
           for k, c in enumerate(ESTIMATOR_COLUMNS) for part, d in (("", 0.0), ("_low", -0.02), ("_high", 0.03))},
        "llm_component": "3300 scored texts in 1148 groups of 11 generators", "estimators": "acc_v1,bound_v1,mle_v1",
        "binning": "logit0.5x49@0.9995|words150-400-1000", "word_model": "wordfreq635:9612d8f705ec",
        "minhash_fingerprint": "5ng_128p_s1_xxh32_b16r8_t0.8_n1", "extractor_version": "resiliparse-0.15",
        "lexicon_version": "lex-1", "code_version": "0.1.0+test", "run_id": "stats-1",
    }
    row.update(overrides)
    return row


def _full_stats() -> list[dict]:
    """Four crawls (two pre-ChatGPT), three views, languages and TLDs, month slices, one NaN CI."""
    rows = []
    for crawl, (_, _, prev) in CRAWLS.items():
        for view, factor in (("captures", 1.0), ("unique", 1.1), ("first_seen", 1.4)):
            rows.append(_stats_row(crawl, view, prevalence=prev * factor, n_docs=int(4000 / factor)))
        for lang, n in (("en", 2500), ("de", 700), ("ru", 400), ("zh", 300), (SCRIPT, 12)):
            rows.append(_stats_row(crawl, dimension="language", value=lang, prevalence=prev * n / 2500, n_docs=n))
        for tld, n in (("com", 2200), ("org", 600), ("de", 500), ("ru", 300)):
            rows.append(_stats_row(crawl, dimension="tld", value=tld, prevalence=prev * 0.8, n_docs=n))
        month = CRAWLS[crawl][0][:7]
        rows.append(_stats_row(crawl, time_slice="fetch_month", period=month, prevalence=prev))
        for year in ("2019", "2021", "2023"):
            if year <= month[:4]:
                rows.append(_stats_row(crawl, time_slice="published_month", period=f"{year}-06",
                                       prevalence=prev if year == "2023" else 0.01))
    # A language too small to estimate: not measurable, no estimate.
    rows.append(_stats_row("CC-MAIN-2024-33", dimension="language", value="sw", n_docs=3, prevalence=None))
    return rows


def _document(doc_id: int, crawl: str, url: str, text: str) -> dict:
    return {
        "doc_id": doc_id, "crawl": crawl, "warc_path": f"file:///data/{crawl}.warc.gz", "warc_offset": doc_id,
        "warc_record_id": None, "url": url, "host": "example.com", "registered_domain": "example.com",
        "tld": "com", "fetch_time": None, "fetch_month": None, "http_last_modified": None,
        "published_date": None, "language": "en", "language_score": 0.9, "charset": "utf-8",
        "charset_source": "header", "decode_errors": 0, "n_chars": len(text), "n_words": len(text.split()),
        "text": text, "text_hash": doc_id, "extractor_version": "test", "run_id": RUN,
    }


def _score(doc_id: int, crawl: str, p_llm: float | None) -> dict:
    return {
        "doc_id": doc_id, "crawl": crawl, "p_llm": p_llm, "scored": p_llm is not None, "model_id": "sha256:abc123",
        "n_words": 100, "chatbot_leftovers": 0, "llm_style_words": 0, "neutral_control": 0, "marker_terms": {},
        "lexicon_version": "lex-1", "run_id": RUN,
    }


def _log(path: str, crawl: str, status: str, error: str | None = None, skipped: dict | None = None) -> dict:
    return {
        "path": path, "crawl": crawl, "status": status, "error_class": "ArchiveLoadFailed" if error else None,
        "error_message": error, "attempts": 1, "records": 30, "records_by_type": {"response": 10},
        "kept": 0 if status == "failed" else 10, "skipped": skipped or {}, "decode_replacements": 0,
        "bytes_read": 1, "seconds": 0.1, "extractor_version": "test", "run_id": RUN,
        "finished_at": dt.datetime(2024, 9, 1, tzinfo=dt.UTC),
    }


LATEST = "CC-MAIN-2024-33"
LONG_TEXT = "It is worth noting that the landscape of modern gardening is ever evolving. " * 12


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory) -> str:
    """Stats of four crawls, plus documents, scores and an ingest_log with planted scripts."""
    root = str(tmp_path_factory.mktemp("report-warehouse"))
    spark.createDataFrame(_full_stats(), STATS).write.parquet(f"{root}/stats")
    docs = [_document(i, LATEST, f"https://site{i}.example/page", f"Page {i}. " + LONG_TEXT) for i in range(1, 14)]
    docs += [
        _document(100, LATEST, f"https://evil.example/{SCRIPT}?q=\"'", f"{SCRIPT} {LONG_TEXT}"),
        _document(101, LATEST, "javascript:alert(2)", "A page with a script URL. " + LONG_TEXT),
        _document(102, "CC-MAIN-2023-50", "https://older.example/", "Not the latest crawl. " + LONG_TEXT),
    ]
    spark.createDataFrame(docs, DOCUMENTS).write.partitionBy("crawl").parquet(f"{root}/documents")
    scores = [_score(i, LATEST, 0.5 + i / 100) for i in range(1, 14)]
    scores += [_score(100, LATEST, 0.9999), _score(101, LATEST, 0.9998), _score(102, "CC-MAIN-2023-50", 1.0)]
    spark.createDataFrame(scores, SCORES).write.partitionBy("crawl").parquet(f"{root}/scores")
    logs = [
        _log(f"file:///data/{LATEST}.warc.gz", LATEST, "ok", skipped={"not_html": 12, "http_status": 8}),
        _log("file:///data/CC-MAIN-2023-50.warc.gz", "CC-MAIN-2023-50", "ok", skipped={"revisit": 20}),
        _log(f"file:///data/{SCRIPT}.warc.gz", LATEST, "failed", error=f"not an archive: {SCRIPT}"),
        _log("file:///data/cut.warc.gz", LATEST, "partial", error="gzip stream ends early at byte 4096"),
    ]
    spark.createDataFrame(logs, INGEST_LOG).write.parquet(f"{root}/ingest_log")
    return root


@pytest.fixture(scope="module")
def report(spark, warehouse) -> Path:
    """The report of the full warehouse."""
    path = run_report(spark, Config(warehouse=warehouse, run_id="report-1"))
    return Path(path)


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text("utf-8"), "html.parser")


def _assert_charts_are_png(index: Path, soup: BeautifulSoup) -> list[str]:
    names = [img["src"] for img in soup.find_all("img")]
    for name in names:
        data = (index.parent / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            assert image.size[0] >= 600 and image.size[1] >= 200, (name, image.size)
    return names


def test_report_pages_charts_and_escaping(report):
    assert report.name == "index.html" and report.parent.name == "report"
    page = report.read_text("utf-8")
    soup = _soup(report)
    assert soup.title.string == "leakwatch report"
    names = _assert_charts_are_png(report, soup)
    assert set(names) == {"prevalence.png", "views.png", "language.png", "tld.png", "markers.png", "months.png"}
    # The planted script (URL, text, language value, file path, error message) only ever appears escaped.
    assert SCRIPT not in page and "<script" not in page.lower()
    assert soup.find("script") is None
    for table_id in ("examples", "problems", "by-language"):
        assert ESCAPED in str(soup.find("table", id=table_id)), table_id
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert all(h.startswith(("http://", "https://")) or h in ("stats.csv", "stats.json") for h in hrefs), hrefs
    assert f"https://evil.example/{SCRIPT}?q=\"'" in hrefs  # the parsed href is the exact URL, quotes included
    assert "javascript:alert(2)" in soup.find("table", id="examples").get_text()  # shown, not linked
    # Examples: the ten highest-scored pages of the latest crawl only, best first.
    example_rows = soup.find("table", id="examples").tbody.find_all("tr")
    shown = [float(tr.td["data-value"]) for tr in example_rows]
    assert shown == [0.9999, 0.9998] + [0.5 + i / 100 for i in range(13, 5, -1)]
    assert "older.example" not in page
    snippet = example_rows[2].find("div", class_="snippet").get_text()
    assert snippet.startswith("Page 13. It is worth noting") and len(snippet) <= 302 and snippet.endswith("…")


def test_headline_table_equals_the_stats_rows(report, warehouse, spark):
    stats = spark.read.parquet(f"{warehouse}/stats").toPandas()
    want = stats[(stats.time_slice == "crawl") & (stats.view == "captures") & (stats.dimension == "all")]
    want = want.set_index("crawl")
    table = _soup(report).find("table", id="headline")
    headers = [th.get_text() for th in table.thead.find_all("th")]
    columns = {"pages": "n_docs", "scored": "n_scored", "coverage": "coverage", "raw share": "raw_share",
                "prevalence": "prevalence", "CI low": "ci_low", "CI high": "ci_high"}
    rows = table.tbody.find_all("tr")
    assert [tr.td.get_text() for tr in rows] == list(CRAWLS)  # oldest first
    for tr in rows:
        cells = dict(zip(headers, tr.find_all("td"), strict=True))
        crawl = cells["crawl"].get_text()
        assert ("pre-ChatGPT" in cells["era"].get_text()) == CRAWLS[crawl][1]
        assert ("pre" in tr.get("class", [])) == CRAWLS[crawl][1]
        for header, column in columns.items():
            assert float(cells[header]["data-value"]) == want.loc[crawl, column], (crawl, column)
    latest = want.loc[LATEST]
    assert cells["prevalence"].get_text() == f"{latest.prevalence * 100:.1f}%"
    assert cells["CI low"].get_text() == f"{latest.ci_low * 100:.1f}%"
    summary = _soup(report).find("p", class_="lead").get_text()
    assert f"In {LATEST}, an estimated 11.8% " in summary and "CC-MAIN-2022-33 0%" in summary


def test_stats_copies_equal_the_table(report, warehouse, spark):
    stats = spark.read.parquet(f"{warehouse}/stats").toPandas()
    key = ["time_slice", "view", "dimension", "value", "crawl", "period"]
    stats = stats.sort_values(key).reset_index(drop=True)
    from_csv = pd.read_csv(report.parent / "stats.csv", keep_default_na=False, na_values=[""],
                           float_precision="round_trip")
    from_json = pd.DataFrame(json.loads((report.parent / "stats.json").read_text("utf-8")))
    assert len(from_json) == len(from_csv) == len(stats) == len(_full_stats())
    for copy in (from_csv, from_json):
        assert list(copy.columns) == STATS.fieldNames()
        copy = copy.sort_values(key).reset_index(drop=True)
        for column in STATS.fieldNames():
            for mine, theirs in zip(copy[column], stats[column], strict=True):
                if isinstance(theirs, float) and math.isnan(theirs) or theirs is None:
                    assert mine is None or (isinstance(mine, float) and math.isnan(mine)), column
                else:
                    assert mine == theirs, (column, mine, theirs)


def test_health_section_counts_files_and_skips(report):
    soup = _soup(report)
    table = soup.find("table", id="health")
    headers = [th.get_text() for th in table.thead.find_all("th")]
    rows = {tr.td.get_text(): dict(zip(headers, [td.get_text() for td in tr.find_all("td")], strict=True))
            for tr in table.tbody.find_all("tr")}
    assert rows[LATEST]["files"] == "3" and rows[LATEST]["failed"] == "1" and rows[LATEST]["partial"] == "1"
    assert rows[LATEST]["kept"] == "20" and rows[LATEST]["skipped: not_html"] == "12"
    assert rows["CC-MAIN-2023-50"]["skipped: revisit"] == "20" and rows["CC-MAIN-2023-50"]["skipped: not_html"] == "0"
    problems = soup.find("table", id="problems").get_text()
    assert "gzip stream ends early at byte 4096" in problems and f"not an archive: {SCRIPT}" in problems


def test_health_read_once_equals_the_spark_aggregations(spark, warehouse):
    """load_health sums the log in pandas after one read; the three Spark aggregations it replaced
    (kept as the oracle in benchmarks/reference.py) give the same tables on planted skips and failures."""
    from benchmarks.reference import load_health_spark

    new, old = load_health(spark, warehouse), load_health_spark(spark, warehouse)
    assert new.n_problems == old.n_problems == 2
    pd.testing.assert_frame_equal(new.per_crawl, old.per_crawl, check_dtype=False)
    pd.testing.assert_frame_equal(new.problems.reset_index(drop=True), old.problems, check_dtype=False)
    assert list(new.problems["status"]) == ["failed", "partial"]


def test_provenance_and_how_to_read(report):
    soup = _soup(report)
    provenance = {tr.find_all("td")[0].get_text(): tr.find_all("td")[1].get_text()
                  for tr in soup.find("table", id="provenance").tbody.find_all("tr")}
    assert provenance["model_id"] == "sha256:abc123" and provenance["estimator"] == "mle_v1"
    assert provenance["llm_component"].startswith("3300 scored texts") and provenance["binning"].startswith("logit")
    assert provenance["tpr"] == "40.0%" and provenance["fpr"] == "3.3%" and provenance["threshold"] == "0.9995"
    assert provenance["minhash_fingerprint"].startswith("5ng_") and provenance["report run id"] == "report-1"
    text = soup.get_text(" ")
    assert "human component" in text and "negative control" in text and "not measurable" in text


def test_every_estimator_side_by_side_and_no_warning_when_the_control_holds(report):
    soup = _soup(report)
    table = soup.find("table", id="estimators")
    headers = [th.get_text() for th in table.thead.find_all("th")]
    assert headers[:4] == ["crawl", "scored", "hdyb (hdyb_v1)", "mle (mle_v1)"] and "spread of the estimates" in headers
    latest = dict(zip(headers, table.tbody.find_all("tr")[-1].find_all("td"), strict=True))
    assert float(latest["hdy (hdy_v1)"]["data-value"]) == pytest.approx(0.118 + 0.002)
    assert latest["bound (bound_v1)"].get_text().startswith("≥ ")
    # hdyb 0.118, mle +0.001, hdy +0.002, acc +0.004, wordfreq +0.005: the estimates (not the bound) spread 0.5 pp.
    assert latest["spread of the estimates"].get_text() == "0.5 pp"
    assert not soup.find_all("p", class_="note")  # the control reads 0.4% and 0%: near zero, nothing to warn


def _small_warehouse(spark, root: Path, rows: list[dict], truth: dict | None = None) -> Path:
    spark.createDataFrame(rows, STATS).write.parquet(str(root / "stats"))
    if truth is not None:
        (root / SYNTHETIC_TRUTH).write_text(json.dumps(truth))
    return Path(run_report(spark, Config(warehouse=str(root), run_id="report-3")))


def test_failed_control_unmeasurable_latest_crawl_and_synthetic_truth(spark, tmp_path):
    rows = [_stats_row("CC-MAIN-2021-04", prevalence=0.08, ci_low=0.03),
            # Too wide to be measurable, but its interval excludes 0: a failed control all the same.
            _stats_row("CC-MAIN-2022-33", prevalence=None, mle=0.4, mle_low=0.1, mle_high=0.9,
                       not_measurable="interval 80 pp wide (wider than 30 pp)"),
            _stats_row("CC-MAIN-2023-50", prevalence=0.06),
            _stats_row("CC-MAIN-2024-33", prevalence=None, n_docs=40, baseline_moved=True)]
    truth = {"source": "the demo's synthetic sample shards (leakwatch demo)",
             "crawls": {"CC-MAIN-2021-04": 0.0, "CC-MAIN-2022-33": 0.0, "CC-MAIN-2023-50": 0.052,
                        "CC-MAIN-2024-33": 0.158}}
    soup = _soup(_small_warehouse(spark, tmp_path, rows, truth))
    notes = " ".join(p.get_text() for p in soup.find_all("p", class_="note"))
    assert "Synthetic data." in notes and "the demo's synthetic sample shards" in notes
    assert "Negative control failed. CC-MAIN-2021-04, captured before ChatGPT, reads 8.1%" in notes  # mle: +0.001
    assert "CC-MAIN-2022-33, captured before ChatGPT, reads 40.0% (95% CI 10.0" in notes
    assert "The human baseline moved" in notes
    assert "(synthetic demo data)" in soup.h1.get_text()
    lead = soup.find("p", class_="lead").get_text()
    # The headline is the latest measurable crawl, with the truth beside it; the latest crawl says why not.
    assert "In CC-MAIN-2023-50, an estimated 6.0%" in lead and "truth of these synthetic pages: 5.2%" in lead
    assert "CC-MAIN-2024-33 (3 scored pages (fewer than 100))" in lead
    headline = soup.find("table", id="headline").tbody.find_all("tr")[-1].get_text(" ")
    assert "not measurable" in headline
    estimators = soup.find("table", id="estimators")
    assert "truth" in [th.get_text() for th in estimators.thead.find_all("th")]


def test_one_crawl_no_control_no_examples_through_hadoop(spark, tmp_path):
    """One post-ChatGPT crawl, an empty first_seen view, NaN CIs, no scores, no ingest_log, a file:// URI."""
    crawl = "CC-MAIN-2025-30"
    nan = float("nan")
    alone = {"ci_low": nan, "ci_high": nan, "chatbot_leftovers_excess_pmw": None, "llm_style_words_excess_pmw": None}
    rows = [_stats_row(crawl, view, prevalence=p, **alone) for view, p in (("captures", 0.2), ("unique", None))]
    rows.append(_stats_row(crawl, dimension="language", value="en", prevalence=0.2, **alone))
    spark.createDataFrame(rows, STATS).write.parquet(str(tmp_path / "stats"))
    index = run_report(spark, Config(warehouse=f"file://{tmp_path}", run_id="report-2"))
    assert index == f"file://{tmp_path}/report/index.html"
    local = tmp_path / "report" / "index.html"
    soup = _soup(local)
    page = local.read_text("utf-8")
    assert "no pre-ChatGPT crawl" in page and "No scored pages to show." in page
    assert "No <code>ingest_log</code>" in page
    names = _assert_charts_are_png(local, soup)
    assert set(names) == {"prevalence.png", "views.png", "language.png", "markers.png"}
    cells = soup.find("table", id="headline").tbody.find_all("td")
    assert [c.get_text() for c in cells[-3:-1]] == ["n/a", "n/a"]
    views = soup.find("table", id="views").tbody.get_text()
    assert views.count("n/a") >= 3  # unique: no prevalence; first_seen: no row at all
    assert (tmp_path / "report" / "stats.csv").read_text("utf-8").count("\n") == len(rows) + 1


def test_missing_stats_says_to_run_stats(spark, tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stats table" in err and f"leakwatch stats --out {tmp_path}" in err
