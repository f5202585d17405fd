"""The report page names its data (no Spark): a corpus-only warehouse by its corpus and its slices by what
the preset's crawl column holds, a mixed one by both, a WARC-only one as the crawl; corpus names escaped."""

from __future__ import annotations

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from leakwatch.config import Config
from leakwatch.report.origins import Origins
from leakwatch.report.page import render
from tests.jobs.test_report import ESCAPED, SCRIPT, _stats_row

OLD, NEW = "CC-MAIN-2021-04", "CC-MAIN-2024-33"


def _page(origins: Origins | None) -> BeautifulSoup:
    stats = pd.DataFrame([_stats_row(OLD, prevalence=0.004), _stats_row(NEW, prevalence=0.1),
                          _stats_row(NEW, dimension="language", value="en")])
    files = render(stats, None, pd.DataFrame(), Config(warehouse="wh", run_id="r"), "2026-12-02 00:00:00", None,
                   origins)
    return BeautifulSoup(files["index.html"].decode("utf-8"), "html.parser")


def _headers(soup: BeautifulSoup, table: str) -> list[str]:
    return [th.get_text() for th in soup.find(id=table).find_all("th")]


def _data_line(soup: BeautifulSoup) -> str:
    return next(p.get_text() for p in soup.find_all("p") if p.get_text().startswith("Data: "))


@pytest.mark.parametrize(("preset", "name", "noun", "source"), [
    ("fineweb", "FineWeb", "dump", "dump field"),
    ("c4", "C4", "crawl window", "capture window holds the row's date"),
])
def test_a_corpus_only_warehouse_is_named_by_its_corpus_and_slices(preset, name, noun, source):
    soup = _page(Origins.of([(OLD, preset, 8), (NEW, preset, 5), (NEW, preset, 3)]))
    assert soup.h1.get_text() == f"How much of {name} is LLM-written?"
    assert soup.title.string == f"leakwatch report: {name}"
    assert _data_line(soup).startswith(f"Data: {name}: 16 documents. A {noun} is")
    assert source in _data_line(soup)
    assert f"Prevalence over {noun}s" in {h.get_text() for h in soup.find_all("h2")}
    for table in ("headline", "views", "markers", "estimators"):
        assert _headers(soup, table)[0] == noun
    assert _headers(soup, "headline")[1] == f"{noun} date"
    assert "documents from" not in _headers(soup, "headline")  # one origin: nothing to tell apart
    assert f"in {name} {noun} {NEW}, every capture" in soup.get_text()


def test_a_mixed_warehouse_names_both_and_each_crawls_origins_with_the_corpus_name_escaped():
    soup = _page(Origins.of([(OLD, "warc", 5), (NEW, SCRIPT, 6), (NEW, "warc", 2)]))
    html = str(soup)
    assert SCRIPT not in html and ESCAPED in html
    assert soup.h1.get_text() == f"How much of the crawl and corpus {SCRIPT} is LLM-written?"
    assert _data_line(soup).startswith(f"Data: WARC records: 7 documents · corpus {SCRIPT}: 6 documents. ")
    assert _headers(soup, "headline")[0] == "crawl" and _headers(soup, "headline")[-1] == "documents from"
    cells = {tr.find("td").get_text(): tr.find_all("td")[-1].get_text()
             for tr in soup.find(id="headline").tbody.find_all("tr")}
    assert cells == {OLD: "WARC records 5", NEW: f"corpus {SCRIPT} 6, WARC records 2"}
    assert f"in {NEW}, every capture" in soup.get_text()  # a crawl of both origins is a crawl


def test_a_warc_warehouse_is_the_crawl_and_an_unknown_corpus_keeps_crawl():
    soup = _page(Origins.of([(OLD, "warc", 5), (NEW, "warc", 7)]))
    assert soup.h1.get_text() == "How much of the crawl is LLM-written?"
    assert soup.title.string == "leakwatch report"
    assert _data_line(soup) == "Data: WARC records: 12 documents."
    assert _headers(soup, "headline")[:2] == ["crawl", "crawl date"]
    named = _page(Origins.of([(OLD, "mine", 5), (NEW, "mine", 7)]))  # --corpus-name: its crawl field is unknown
    assert named.h1.get_text() == "How much of corpus mine is LLM-written?"
    assert _headers(named, "headline")[0] == "crawl"
    assert f"in corpus mine crawl {NEW}" in named.get_text()
    unknown = _page(None)  # no documents table: the page as before
    assert unknown.h1.get_text() == "How much of the crawl is LLM-written?"
    assert not [p for p in unknown.find_all("p") if p.get_text().startswith("Data: ")]
