"""Every real and malformed WARC in ../shared/data/warc: documents or counted skips, never a crash."""

from __future__ import annotations

import pytest

from leakwatch.schemas.values import SKIP_REASONS
from leakwatch.udfs.ingest import FileIngest, IngestOptions
from tests.conftest import SHARED_DATA

WARC_DIR = SHARED_DATA / "warc"
FILES = sorted(p for p in WARC_DIR.glob("*/*") if p.name != "SOURCES.txt") if WARC_DIR.is_dir() else []

# What each shared file must give: (status, documents kept). Malformed inputs end partial or failed
# with a reason; the rest are read to their end.
EXPECTED = {
    "malformed/jwarc_gzip_extra_sl.warc.gz": ("ok", 0),
    "malformed/pywb_missing-status-text.warc": ("ok", 0),
    "malformed/resiliparse_block-sized-records.warc.gz": ("ok", 0),
    "malformed/resiliparse_clipped.warc.gz": ("partial", 0),
    "malformed/warcio_bad.arc": ("ok", 0),
    "malformed/warcio_example-bad-non-chunked.warc.gz": ("partial", 0),
    "malformed/warcio_example-bad.warc.gz.bad": ("partial", 0),
    "malformed/warcio_example-digest-bad.warc": ("ok", 0),
    "malformed/warcio_example-digest-bad.warc.test": ("failed", 0),
    "malformed/warcio_example-space-in-target-uri.warc.gz": ("ok", 0),
    "malformed/warcio_example-space-in-url.arc": ("partial", 0),
    "malformed/warcio_example-trunc.warc": ("ok", 1),
    "malformed/warcio_example-wget-bad-target-uri.warc.gz": ("ok", 1),
    "malformed/warcio_example-wrong-chunks.warc.gz": ("partial", 0),
    "malformed/warcio_standard-torture-missing.warc": ("ok", 0),
    "malformed/warcio_standard-torture-validate-field.warc": ("partial", 0),
    "malformed/warcio_standard-torture-validate-field.warc.test": ("failed", 0),
    "malformed/warcio_standard-torture-validate-record.warc": ("ok", 0),
    "malformed/warcio_standard-torture-validate-record.warc.test": ("failed", 0),
    "real_cc/jwarc_cc.warc.gz": ("ok", 1),
    "real_cc/resiliparse_CC-MAIN-2020-34_excerpt.warc.gz": ("ok", 16),
    "real_web/pywb_dupes_revisits.warc.gz": ("ok", 1),
    "real_web/resiliparse_clueweb09-quirk.warc.gz": ("ok", 29),
    "real_web/warcio_example-iana.org-chunked.warc": ("ok", 1),
    "real_web/warcio_example-resource.warc.gz": ("ok", 0),
    "real_web/warcio_example.arc": ("ok", 1),
    "real_web/warcio_example.arc.gz": ("ok", 1),
    "real_web/warcio_example.warc": ("ok", 1),
    "real_web/warcio_example.warc.gz": ("ok", 1),
    "real_web/warcio_post-test.warc.gz": ("ok", 0),
}


def test_every_shared_file_has_an_expectation(shared_data):
    assert {str(p.relative_to(WARC_DIR)) for p in FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shared_file_is_accounted_for(shared_data, path):
    run = FileIngest(str(path), None if "CC-MAIN" in path.name else "TEST-CRAWL", "run", IngestOptions())
    docs = list(run.documents())
    report = run.report
    status, kept = EXPECTED[str(path.relative_to(WARC_DIR))]
    assert (report.status, len(docs)) == (status, kept), report.error_message
    assert report.records == report.kept + sum(report.skipped.values())
    assert set(report.skipped) <= set(SKIP_REASONS)
    if status != "ok":
        assert report.error_class and report.error_message
    for doc in docs:
        assert doc["text"].strip() and doc["url"] and doc["crawl"]


def test_real_common_crawl_excerpt(shared_data):
    path = WARC_DIR / "real_cc" / "resiliparse_CC-MAIN-2020-34_excerpt.warc.gz"
    run = FileIngest(str(path), None, "run", IngestOptions())
    docs = list(run.documents())
    assert len(docs) == 16 and run.report.records_by_type["response"] == 16
    assert {d["crawl"] for d in docs} == {"CC-MAIN-2020-34"}  # from the path and warcinfo
    languages = [d["language"] for d in docs]
    # The excerpt holds 11 Chinese pages, one Russian (windows-1251), two German, one Dutch, one English.
    assert languages.count("zh") >= 10 and {"ru", "de", "nl", "en"} <= set(languages)
    russian = next(d for d in docs if d["language"] == "ru")
    assert russian["charset"] == "cp1251" and "пожарной безопасности" in russian["text"]
    assert any(d["charset"] == "gb18030" and d["charset_source"] == "http" for d in docs)  # declared gb2312
    assert not any(d["text"].startswith("\ufeff") for d in docs)
    assert all(d["fetch_month"] == "2020-08" for d in docs)
    assert all(d["registered_domain"] and d["tld"] for d in docs)


def test_clueweb_euc_jp_pages_decode(shared_data):
    run = FileIngest(
        str(WARC_DIR / "real_web" / "resiliparse_clueweb09-quirk.warc.gz"), "ClueWeb09", "run", IngestOptions()
    )
    docs = list(run.documents())
    assert docs and all(d["language"] == "ja" for d in docs)
    assert sum(d["decode_errors"] for d in docs) == 0
