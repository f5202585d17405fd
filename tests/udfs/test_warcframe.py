"""The fast gzip-member path of udfs.warcframe reads exactly what warcio reads, and hands warcio the rest."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from leakwatch.udfs import warcframe
from leakwatch.udfs.ingest import FileIngest, IngestOptions
from leakwatch.udfs.warcframe import Records
from tests.conftest import SHARED_DATA
from tests.udfs.test_ingest import CRAWL, ingest
from tests.warcs import chunked, english_page, http_ok, write_arc, write_pages, write_records

CAP = 5 << 20


def listing(data: bytes, fast: bool, cap: int = CAP) -> tuple[list, str | None, Records]:
    """Everything leakwatch reads of each record, with either path; the error that ended the file."""
    records = Records(io.BufferedReader(io.BytesIO(data), 1 << 16), fast, cap)
    out: list = []
    error = None
    try:
        for offset, record in records:
            head = record.rec_headers
            item = [offset, record.rec_type, record.format, record.length, record.content_type,
                    head.headers, head.protocol, head.statusline]
            if record.rec_type == "response":
                http = record.http_headers
                item.append(None if http is None else (http.protocol, http.statusline, http.headers))
                item.append(record.content_stream().read())
            records.finish(record)
            item.append(getattr(record.raw_stream, "limit", None))
            out.append(item)
    except Exception as exc:  # noqa: BLE001 - compared between the two paths
        error = f"{type(exc).__name__}: {exc}"
    return out, error, records


def assert_same_as_warcio(data: bytes) -> Records:
    fast, fast_error, records = listing(data, True)
    slow, slow_error, _ = listing(data, False)
    assert fast == slow
    assert fast_error == slow_error
    return records


def unusual_records() -> list[tuple]:
    """Records whose headers and payloads take the less common branches of warcio's parsing."""
    html = b"<html><body><p>" + "Grüße aus Köln, wie geht es?".encode() * 40 + b"</p></body></html>"
    return [
        ("response", "http://example.com/plain", html, http_ok("text/html; charset=utf-8"), None),
        ("response", "http://example.com/chunked", chunked(html),
         http_ok("text/html", [("Transfer-Encoding", "chunked")]), None),
        ("response", "http://example.com/gz", gzip.compress(html), http_ok("text/html", [("Content-Encoding", "gzip")]),
         None),
        ("response", "http://example.com/dup", html, http_ok("text/html", [("Content-Type", "text/plain")]), None),
        ("response", "dns:example.com", b"example.com. 300 IN A 93.184.216.34", None, None),
        ("request", "http://example.com/plain", b"GET /plain HTTP/1.1\r\nHost: example.com\r\n\r\n", None,
         None),
        ("revisit", "http://example.com/plain", b"", http_ok("text/html"),
         {"WARC-Profile": "identical-payload-digest"}),
        ("metadata", "http://example.com/plain", b"fetchTimeMs: 12\r\n", None, None),
        ("resource", "file:///a b.txt", b"a resource with a space in its URI", None, None),
        ("conversion", "http://example.com/plain", "Grüße aus Köln".encode(), None, None),
        ("response", "http://example.com/empty", b"", http_ok("text/html"), None),
    ]


def test_clean_gzip_records_take_the_fast_path_and_equal_warcio(tmp_path):
    path = write_records(tmp_path / "mixed.warc.gz", unusual_records(), crawl=CRAWL)
    records = assert_same_as_warcio(path.read_bytes())
    assert records.handed_off_at is None
    assert records.fast_records == len(unusual_records()) + 1  # and the warcinfo record


def member(warc_headers: bytes, block: bytes) -> bytes:
    """One gzip member holding a hand-written WARC record (bytes warcio's writer would not produce)."""
    head = b"WARC/1.0\r\n" + warc_headers + b"Content-Length: %d\r\n\r\n" % len(block)
    return gzip.compress(head + block + b"\r\n\r\n")


def test_headers_the_fast_path_does_not_mirror_go_through_warcios_parser(monkeypatch):
    page = b"<html><body><p>une page</p></body></html>"
    quirks = [
        b"NoColonHere\r\n",  # mirrored: warcio drops such a line, so does the fast path
        b"X-Note: caf\xe9\r\n",  # Latin-1, not UTF-8: warcio's parser from here on
        b"X-Long: first part\r\n  continued\r\n",  # a continuation line
        b"X-A: 1\nX-B: 2\r\n",  # a bare LF inside the block
    ]
    data = b"".join(
        member(b"WARC-Type: response\r\nWARC-Target-URI: http://example.com/%d\r\n" % i,
               b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + quirk + b"\r\n" + page)
        for i, quirk in enumerate(quirks)
    )
    data += member(b"WARC-Type: resource\r\nWARC-Target-URI: file:///caf\xe9.txt\r\n", b"a resource")
    used = []

    def spy(name: str, parse):
        return lambda stream, *args: used.append(name) or parse(stream, *args)

    for name in ("http_parser", "warc_parser"):
        parser = getattr(warcframe._loader, name)
        monkeypatch.setattr(parser, "parse", spy(name, parser.parse))
    records = assert_same_as_warcio(data)
    assert records.fast_records == len(quirks) + 1 and records.handed_off_at is None
    # Only the fast path calls these two parsers (warcio's own reader has its own instances).
    assert used == ["http_parser"] * 3 + ["warc_parser"]


def test_plain_bytes_after_gzip_members_and_a_response_without_uri_are_warcios(tmp_path):
    gz = write_pages(tmp_path / "gz.warc.gz", CRAWL, [english_page(0)]).read_bytes()
    plain = write_pages(tmp_path / "plain.warc", CRAWL, [english_page(1)], gzip_records=False).read_bytes()
    records = assert_same_as_warcio(gz + plain)  # warcio reads on uncompressed after the members
    assert records.handed_off_at == len(gz) and records.fast_records == 4
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>no uri</p>"
    records = assert_same_as_warcio(gz + member(b"WARC-Type: response\r\n", block))
    assert records.handed_off_at == len(gz)


def test_uncompressed_and_arc_files_are_warcio_only(tmp_path):
    plain = write_pages(tmp_path / "plain.warc", CRAWL, [english_page(i) for i in range(3)], gzip_records=False)
    arc = write_arc(tmp_path / "old.arc", [("http://example.com/", b"<html><body><p>old</p></body></html>")])
    for path in (plain, arc):
        run = FileIngest(str(path), CRAWL, "run", IngestOptions())
        assert len(list(run.documents())) == run.report.kept > 0 and run.report.status == "ok"
        assert run.records.fast_records == 0 and run.records.handed_off_at is None


def test_warcio_takes_over_at_the_first_irregular_member(tmp_path):
    path = write_pages(tmp_path / "pages.warc.gz", CRAWL, [english_page(i) for i in range(6)])
    clean = path.read_bytes()
    offsets = [item[0] for item in listing(clean, True)[0]]
    # Member 4 holds two records (a whole-file gzip inside a per-record one): warcio's to judge.
    start, end = offsets[4], offsets[6]
    double = gzip.compress(gzip.decompress(clean[start:end]))
    data = clean[:start] + double + clean[end:]
    records = assert_same_as_warcio(data)
    assert records.handed_off_at == start and records.fast_records == 4


def test_a_member_over_the_cap_goes_to_warcio_which_skips_it(tmp_path):
    big = b"<html><body><p>" + b"x" * 300_000 + b"</p></body></html>"
    path = write_records(
        tmp_path / "big.warc.gz",
        [("response", "http://example.com/big", big, http_ok("text/html"), None),
         ("response", "http://example.com/small", b"<p>small page</p>", http_ok("text/html"), None)],
        crawl=CRAWL,
    )
    fast, fast_error, records = listing(path.read_bytes(), True, cap=100_000)
    assert (fast, fast_error) == listing(path.read_bytes(), False)[:2]
    assert records.fast_records == 1 and records.handed_off_at == fast[1][0]
    docs, report = ingest(path, max_payload_bytes=200_000)
    assert report.status == "ok" and report.skipped["too_large"] == 1 and [d["url"] for d in docs] == [
        "http://example.com/small"
    ]


def test_a_corrupt_member_ends_the_file_with_its_offset(tmp_path):
    path = write_pages(tmp_path / "pages.warc.gz", CRAWL, [english_page(i) for i in range(4)])
    data = bytearray(path.read_bytes())
    offsets = [item[0] for item in listing(bytes(data), True)[0]]
    target = offsets[5]
    data[target + 40 : target + 60] = bytes(20)  # inside the deflate stream of member 5
    records, error, _ = listing(bytes(data), True)
    assert len(records) == 5 and error.startswith(f"CorruptMember: the gzip member at offset {target} is corrupt")
    path.write_bytes(bytes(data))
    docs, report = ingest(path)
    assert report.status == "partial" and report.error_class == "CorruptMember" and report.records == 5
    assert len(docs) == 1  # the page before the damage; nothing from the damaged member


def test_a_cut_member_is_warcios_truncated_record(tmp_path):
    path = write_pages(tmp_path / "pages.warc.gz", CRAWL, [english_page(i) for i in range(3)])
    data = path.read_bytes()
    cut = data[: len(data) - 200]
    fast, fast_error, records = listing(cut, True)
    assert (fast, fast_error) == listing(cut, False)[:2]
    assert records.handed_off_at is not None and fast[-1][-1] != 0  # unread bytes, or no bound at all
    path.write_bytes(cut)
    _, report = ingest(path)
    assert report.status == "partial" and report.skipped["truncated"] == 1


def test_arc_doc_ids_are_stable_across_reads(tmp_path):
    arc = write_arc(tmp_path / "old.arc", [("http://example.com/", b"<html><body><p>old page</p></body></html>")])
    first, _ = ingest(arc, crawl=CRAWL)
    second, _ = ingest(arc, crawl=CRAWL)
    assert first[0]["doc_id"] == second[0]["doc_id"] and first[0]["warc_record_id"] is None


def test_fuzzed_gzip_files_read_the_same_until_the_damage(tmp_path):
    """On damaged bytes the fast path may stop earlier than warcio, never later, and keeps the same
    documents before that point; on intact bytes it reads exactly what warcio reads."""
    base = write_pages(tmp_path / "base.warc.gz", CRAWL, [english_page(i) for i in range(5)]).read_bytes()
    rng = random.Random(7)
    stricter = 0
    for _ in range(150):
        data = bytearray(base)
        mutation = rng.choice(["truncate", "flip", "splice", "duplicate", "zero"])
        a, b = sorted(rng.sample(range(len(data)), 2))
        if mutation == "truncate":
            data = data[:a]
        elif mutation == "flip":
            data[a] ^= 1 << rng.randrange(8)
        elif mutation == "splice":
            data = data[:a] + data[b:]
        elif mutation == "duplicate":
            data = data[:b] + data[a:b] + data[b:]
        else:
            data[a : a + 64] = bytes(min(64, len(data) - a))
        fast, fast_error, _ = listing(bytes(data), True)
        slow, slow_error, _ = listing(bytes(data), False)
        if (fast, fast_error) == (slow, slow_error):
            continue
        # Where they differ, the fast path met corrupt gzip data that warcio reads past or around.
        stricter += 1
        assert fast_error is not None
        intact = len(fast) - 1 if fast and fast[-1][-1] else len(fast)
        assert fast[:intact] == slow[:intact]
    assert 0 < stricter < 150, stricter


@pytest.mark.parametrize("name", ["real_cc/resiliparse_CC-MAIN-2020-34_excerpt.warc.gz",
                                  "real_web/pywb_dupes_revisits.warc.gz", "real_web/warcio_post-test.warc.gz",
                                  "malformed/warcio_example-bad-non-chunked.warc.gz",
                                  "malformed/warcio_example-wrong-chunks.warc.gz",
                                  "malformed/resiliparse_clipped.warc.gz"])
def test_shared_gzip_files_read_as_warcio_reads_them(shared_data, name):
    records = assert_same_as_warcio((SHARED_DATA / "warc" / name).read_bytes())
    assert records.fast_records or records.handed_off_at == 0

