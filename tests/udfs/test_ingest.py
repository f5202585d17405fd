"""Per-record ingest on real WARC/WET/ARC bytes: what is kept, what is skipped and why."""

from __future__ import annotations

import gzip
import random

import pytest

from leakwatch.schemas.values import SKIP_REASONS
from leakwatch.udfs.ingest import FileIngest, IngestOptions, crawl_from_path, parse_content_type, parse_warc_date
from leakwatch.validation.pages import Page, human_paragraphs
from tests.warcs import (
    WHEN,
    article,
    chunked,
    english_page,
    gzip_bomb,
    http_ok,
    write_arc,
    write_pages,
    write_records,
)

CRAWL = "CC-MAIN-2024-10"


def ingest(path, crawl=None, **options):
    run = FileIngest(str(path), crawl, "run-test", IngestOptions(**options))
    docs = list(run.documents())
    report = run.report
    # Every record read is kept or skipped for a declared reason, whatever happened to the file.
    assert report.records == report.kept + sum(report.skipped.values())
    assert set(report.skipped) <= set(SKIP_REASONS)
    assert report.kept == len(docs)
    return docs, report


@pytest.mark.parametrize("gzip_records", [True, False])
def test_cc_style_shard_keeps_html_responses_only(tmp_path, gzip_records):
    pages = [english_page(i) for i in range(5)]
    path = write_pages(tmp_path / f"{CRAWL}-x.warc{'.gz' if gzip_records else ''}", CRAWL, pages, gzip_records)
    docs, report = ingest(path)
    assert report.status == "ok"
    assert report.records == 1 + 3 * 5  # warcinfo + request/response/metadata per page
    assert report.records_by_type == {"warcinfo": 1, "request": 5, "response": 5, "metadata": 5}
    assert report.skipped == {"record_type": 11}
    assert [d["url"] for d in docs] == [p.url for p in pages]
    first = docs[0]
    assert first["crawl"] == CRAWL and first["language"] == "en" and first["language_score"] > 0.5
    assert first["fetch_time"] == WHEN and first["fetch_month"] == "2024-03"
    assert first["registered_domain"] == "example0.com" and first["tld"] == "com"
    assert first["host"] == "www0.example0.com"
    assert human_paragraphs()[0][:60] in first["text"]
    assert first["n_words"] == len(first["text"].split()) and first["n_chars"] == len(first["text"])
    assert len({d["doc_id"] for d in docs}) == 5


def test_doc_ids_are_stable_across_reads_and_copies(tmp_path):
    pages = [english_page(i) for i in range(3)]
    a = write_pages(tmp_path / "a.warc.gz", CRAWL, pages)
    b = tmp_path / "copy.warc.gz"
    b.write_bytes(a.read_bytes())
    ids_a = [d["doc_id"] for d in ingest(a)[0]]
    assert ids_a == [d["doc_id"] for d in ingest(a)[0]]
    # WARC-Record-ID wins over the path: the same record read from another place keeps its id.
    assert ids_a == [d["doc_id"] for d in ingest(b)[0]]


def test_skip_reasons_are_counted(tmp_path):
    html = article(human_paragraphs()[:2]).encode()
    not_found = Page("https://a.example.com/404", html, WHEN, status="404 Not Found")
    redirect = Page("https://a.example.com/moved", b"", WHEN, status="301 Moved Permanently")
    image = Page("https://a.example.com/x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, WHEN, content_type="image/png")
    json_page = Page("https://a.example.com/api", b'{"a": 1}', WHEN, content_type="application/json")
    empty = Page("https://a.example.com/empty", b"<html><body><script>x=1</script></body></html>", WHEN)
    sniffed = Page("https://a.example.com/noctype", b"<!DOCTYPE html>" + html, WHEN, content_type="")
    pages = [english_page(1), not_found, redirect, image, json_page, empty, sniffed]
    path = write_pages(tmp_path / f"{CRAWL}-skips.warc.gz", CRAWL, pages)
    docs, report = ingest(path)
    assert [d["url"] for d in docs] == [pages[0].url, sniffed.url]
    assert report.skipped["http_status"] == 2
    assert report.skipped["not_html"] == 2
    assert report.skipped["empty_text"] == 1


def test_revisit_wet_conversion_and_resource_records(tmp_path):
    text = " ".join(human_paragraphs()[:3])
    records = [
        (
            "revisit",
            "https://a.example.com/",
            b"",
            None,
            {"WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"},
        ),
        ("conversion", "https://b.example.com/page", text.encode(), None, {"WARC-Refers-To": "<urn:uuid:x>"}),
        ("resource", "file:///x.txt", b"hello", None, None),
        ("conversion", "https://c.example.com/empty", b"   ", None, None),
    ]
    path = write_records(tmp_path / f"{CRAWL}-wet.warc.wet.gz", records, crawl=CRAWL)
    docs, report = ingest(path)
    assert [d["url"] for d in docs] == ["https://b.example.com/page"]
    assert docs[0]["text"] == text and docs[0]["charset_source"] == "wet"
    assert report.skipped == {"record_type": 2, "revisit": 1, "empty_text": 1}


def test_chunked_and_gzip_content_encoding_are_decoded(tmp_path):
    html = article(human_paragraphs()[5:8]).encode()
    gz = gzip.compress(html)
    records = [
        (
            "response",
            "https://a.example.com/chunked",
            chunked(html),
            http_ok("text/html", [("Transfer-Encoding", "chunked")]),
            None,
        ),
        (
            "response",
            "https://a.example.com/gz",
            gz,
            http_ok("text/html; charset=utf-8", [("Content-Encoding", "gzip")], len(gz)),
            None,
        ),
    ]
    docs, report = ingest(write_records(tmp_path / "enc.warc.gz", records, crawl=CRAWL))
    assert report.kept == 2
    assert docs[0]["text"] == docs[1]["text"]
    assert human_paragraphs()[5][:50] in docs[0]["text"]


def test_charsets_from_header_meta_and_detection(tmp_path):
    russian = "Съешь же ещё этих мягких французских булок да выпей чаю. " * 8
    chinese = "我们的网站提供最新的新闻和信息，欢迎访问。这是一个测试页面，内容是中文。" * 6
    japanese = "日本語のページです。これはテストのための文章で、文字コードはシフトJISです。" * 6
    records = [
        (
            "response",
            "https://ru.example.ru/",
            article([russian]).encode("cp1251"),
            http_ok("text/html; charset=windows-1251"),
            None,
        ),
        (
            "response",
            "https://zh.example.cn/",
            article([chinese], charset_meta="gb2312").encode("gb18030"),
            http_ok("text/html"),
            None,
        ),
        ("response", "https://ja.example.jp/", article([japanese]).encode("shift_jis"), http_ok("text/html"), None),
        # Declared UTF-8 but really Latin-1: the declared charset fails, detection decodes it.
        (
            "response",
            "https://fr.example.fr/",
            article(["Déjà vu, café crème et œuvres complètes. " * 8]).encode("cp1252"),
            http_ok("text/html; charset=utf-8"),
            None,
        ),
    ]
    docs, report = ingest(write_records(tmp_path / "cs.warc.gz", records, crawl=CRAWL))
    by_host = {d["host"]: d for d in docs}
    assert by_host["ru.example.ru"]["charset"] == "cp1251" and by_host["ru.example.ru"]["charset_source"] == "http"
    assert "французских булок" in by_host["ru.example.ru"]["text"]
    assert by_host["ru.example.ru"]["language"] == "ru"
    assert by_host["zh.example.cn"]["charset_source"] == "meta" and by_host["zh.example.cn"]["language"] == "zh"
    assert "最新的新闻" in by_host["zh.example.cn"]["text"]
    assert by_host["ja.example.jp"]["charset_source"] == "detected" and by_host["ja.example.jp"]["language"] == "ja"
    assert "Déjà vu" in by_host["fr.example.fr"]["text"] and by_host["fr.example.fr"]["decode_errors"] == 0


def test_undecodable_bytes_are_replaced_and_counted(tmp_path):
    body = article(["Plain English text that is long enough to keep. " * 6]).encode() + b"\xff\xfe\xfa" * 50
    records = [("response", "https://x.example.com/", body, http_ok("text/html; charset=ascii-bogus"), None)]
    docs, report = ingest(write_records(tmp_path / "bad.warc.gz", records, crawl=CRAWL))
    assert report.kept == 1  # unknown charset label -> detection; never a crash
    assert "Plain English text" in docs[0]["text"]


def test_gzip_bomb_and_huge_record_are_skipped_too_large(tmp_path):
    bomb = gzip_bomb(64 << 20)  # ~64 KB on disk, 64 MiB inflated
    huge = b"<html><body>" + b"<p>big</p>" * 200_000
    records = [
        (
            "response",
            "https://bomb.example.com/",
            bomb,
            http_ok("text/html", [("Content-Encoding", "gzip")], len(bomb)),
            None,
        ),
        ("response", "https://huge.example.com/", huge, http_ok("text/html"), None),
        ("response", "https://ok.example.com/", article(human_paragraphs()[:2]).encode(), http_ok("text/html"), None),
    ]
    docs, report = ingest(write_records(tmp_path / "big.warc.gz", records, crawl=CRAWL), max_payload_bytes=1 << 20)
    assert report.skipped == {"record_type": 1, "too_large": 2}
    assert [d["url"] for d in docs] == ["https://ok.example.com/"]


def test_truncated_file_keeps_records_before_the_damage(tmp_path):
    pages = [english_page(i) for i in range(6)]
    full = write_pages(tmp_path / "full.warc.gz", CRAWL, pages).read_bytes()
    cut = tmp_path / f"{CRAWL}-cut.warc.gz"
    cut.write_bytes(full[: int(len(full) * 0.6)])
    docs, report = ingest(cut)
    assert report.status == "partial"
    assert report.error_class and report.error_message
    assert 1 <= len(docs) < 6
    assert [d["url"] for d in docs] == [p.url for p in pages[: len(docs)]]


def test_uncompressed_truncated_file_is_partial(tmp_path):
    full = write_pages(
        tmp_path / "full.warc", CRAWL, [english_page(i) for i in range(4)], gzip_records=False
    ).read_bytes()
    cut = tmp_path / f"{CRAWL}-cut.warc"
    cut.write_bytes(full[: len(full) - 300])
    docs, report = ingest(cut)
    # The cut falls in the last page's metadata record: its response is whole and kept.
    assert report.status == "partial" and report.skipped["truncated"] == 1
    assert "Content-Length" in report.error_message
    assert len(docs) == 4


def test_arc_files_are_read(tmp_path):
    html = article(human_paragraphs()[10:12]).encode()
    path = write_arc(tmp_path / "old.arc", [("http://example.com/a", html), ("http://example.org/b", html)])
    docs, report = ingest(path, crawl="CC-MAIN-2008-2009")
    assert report.status == "ok" and [d["url"] for d in docs] == ["http://example.com/a", "http://example.org/b"]
    # One gzip member for the whole file (not per record): warcio stops after the first record.
    gz = tmp_path / "old.arc.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    docs, report = ingest(gz, crawl="CC-MAIN-2008-2009")
    assert report.status == "partial" and "non-chunked gzip" in report.error_message


def test_crawl_comes_from_hint_path_or_warcinfo_else_the_file_fails(tmp_path):
    page = english_page(3)
    with_info = write_pages(tmp_path / "noname.warc.gz", "CC-MAIN-2023-50", [page])
    assert ingest(with_info)[0][0]["crawl"] == "CC-MAIN-2023-50"
    assert ingest(with_info, crawl="MY-CRAWL")[0][0]["crawl"] == "MY-CRAWL"
    no_info = write_records(tmp_path / "bare.warc.gz", [("response", page.url, page.body, http_ok("text/html"), None)])
    docs, report = ingest(no_info)
    assert docs == [] and report.status == "failed" and report.error_class == "CrawlUnknown"
    assert "--crawl" in report.error_message and report.skipped == {"crawl_unknown": 1}
    assert crawl_from_path("s3://commoncrawl/crawl-data/CC-MAIN-2021-04/segments/x.warc.gz") == "CC-MAIN-2021-04"


def test_not_a_warc_and_missing_file_fail_with_reasons(tmp_path):
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"this is not a warc file\n" * 10)
    docs, report = ingest(junk, crawl="X")
    assert docs == [] and report.status == "failed" and report.records == 0
    assert report.error_class == "NotAnArchive" and "not a WARC or ARC" in report.error_message
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    assert ingest(empty, crawl="X")[1].error_message == "the file is empty"
    docs, report = ingest(tmp_path / "nope.warc.gz", crawl="X")
    assert report.status == "failed" and "no such file" in report.error_message


def test_fuzzed_real_bytes_never_escape(tmp_path):
    """Mutations of real WARC bytes: truncate, flip, splice, duplicate members; all accounted for."""
    pages = [english_page(i) for i in range(4)]
    base = write_pages(tmp_path / "base.warc.gz", CRAWL, pages).read_bytes()
    plain = write_pages(tmp_path / "base.warc", CRAWL, pages, gzip_records=False).read_bytes()
    rng = random.Random(1234)
    statuses = set()
    for i in range(300):
        data = bytearray(rng.choice([base, plain]))
        mutation = rng.choice(["truncate", "flip", "splice", "duplicate", "zero"])
        if mutation == "truncate":
            data = data[: rng.randrange(len(data))]
        elif mutation == "flip":
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif mutation == "splice":
            a, b = sorted(rng.sample(range(len(data)), 2))
            data = data[:a] + data[b:]
        elif mutation == "duplicate":
            a, b = sorted(rng.sample(range(len(data)), 2))
            data = data[:b] + data[a:b] + data[b:]
        else:
            a = rng.randrange(len(data))
            data[a : a + 64] = bytes(min(64, len(data) - a))
        path = tmp_path / f"fuzz{i}.warc.gz"
        path.write_bytes(bytes(data))
        _, report = ingest(path, crawl=CRAWL)
        statuses.add(report.status)
        assert report.status in ("ok", "partial", "failed")
        assert report.status == "ok" or report.error_message
        path.unlink()
    assert {"ok", "partial"} <= statuses


def test_header_parsing_helpers():
    assert parse_content_type('text/html; charset="UTF-8"') == ("text/html", "UTF-8")
    assert parse_content_type(None) == ("", None)
    assert parse_warc_date("2021-01-15T13:41:01Z").isoformat() == "2021-01-15T13:41:01+00:00"
    assert parse_warc_date("not a date") is None
    assert parse_warc_date("1970-01-01T00:00:00Z") is None
