"""CorpusIngest on files in each corpus's own layout, written in tmp_path: rows mapped to documents, every
row accounted for, damaged files, and the same rows read from local paths, HTTP and moto's S3."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq

from leakwatch.udfs.corpora import CorpusOptions, corpus_format_of
from leakwatch.udfs.corpus_ingest import CorpusIngest
from leakwatch.udfs.ingest import IngestOptions

from ..corpora import (
    c4_rows,
    dolma_rows,
    redpajama_ccnet_rows,
    redpajama_hf_rows,
    text,
    write_fineweb,
    write_jsonl,
)
from ..servers import Faults, FaultyProxy, StaticServer, moto_s3

FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "read_timeout": 10}
def read(path, preset: str | None = None, fmt: str | None = None, crawl=None, corpus=None, **options):
    """(documents, report) of one file."""
    fmt = fmt or corpus_format_of(str(path))
    corpus = corpus or CorpusOptions(preset=preset)
    ingest = CorpusIngest(str(path), crawl, "run1", IngestOptions(**options), corpus.mapping(), corpus.origin(fmt), fmt)
    docs = list(ingest.documents())
    return docs, ingest.report


def balanced(report) -> bool:
    return report.records == report.kept + sum(report.skipped.values())


# -- presets --------------------------------------------------------------------------------------

def test_fineweb_parquet(tmp_path):
    path = tmp_path / "000_00000.parquet"
    write_fineweb(path)
    docs, report = read(path, "fineweb")
    assert report.status == "ok" and report.records == report.kept == 6 and balanced(report)
    assert {d["crawl"] for d in docs} == {"CC-MAIN-2024-10"} and dict(report.kept_by_crawl) == {"CC-MAIN-2024-10": 6}
    first = docs[0]
    assert first["warc_record_id"] == "<urn:uuid:00000000-aaaa-4bbb-8ccc-000000000000>" and first["origin"] == "fineweb"
    assert (first["language"], first["language_score"]) == ("en", 0.93)  # the corpus's own, not fastText's
    assert first["fetch_time"] == dt.datetime(2024, 2, 20, 8, 30, tzinfo=dt.UTC) and first["fetch_month"] == "2024-02"
    assert (first["host"], first["registered_domain"], first["tld"]) == ("www.site0.example.org", "example.org", "org")
    assert first["n_words"] == len(first["text"].split()) and first["warc_offset"] == 0
    # Stable ids from the corpus's own id: equal on a second read, unequal to a WARC record's hash of the same id.
    again, _ = read(path, "fineweb")
    assert [d["doc_id"] for d in again] == [d["doc_id"] for d in docs] and len({d["doc_id"] for d in docs}) == 6
    assert report.as_row("run1")["crawl"] == "CC-MAIN-2024-10"


def test_c4_json_gz_takes_its_crawl_from_the_timestamp_and_its_language_from_fasttext(tmp_path):
    path = tmp_path / "c4-train.00000-of-01024.json.gz"
    write_jsonl(path, c4_rows())
    docs, report = read(path, "c4")
    assert report.status == "ok" and report.kept == 5 and balanced(report)
    # 2019-04-22 lies in CC-MAIN-2019-18's capture window.
    assert {d["crawl"] for d in docs} == {"CC-MAIN-2019-18"}
    assert {d["language"] for d in docs} == {"en"} and all(0.5 < d["language_score"] <= 1 for d in docs)
    assert docs[0]["warc_record_id"] is None and docs[3]["warc_offset"] == 3
    assert report.bytes_read == path.stat().st_size


def test_redpajama_documents_and_its_hugging_face_rows(tmp_path):
    ccnet, hf = tmp_path / "en_head.json.gz", tmp_path / "rpv2.jsonl"
    write_jsonl(ccnet, redpajama_ccnet_rows())
    write_jsonl(hf, redpajama_hf_rows(), gz=False)
    raw_docs, raw_report = read(ccnet, "redpajama")
    hf_docs, hf_report = read(hf, "redpajama")
    assert raw_report.kept == hf_report.kept == 4
    # The crawl from cc_segment's path, or (the Hugging Face rows have none) from date_download.
    assert {d["crawl"] for d in raw_docs} == {d["crawl"] for d in hf_docs} == {"CC-MAIN-2023-06"}
    assert [d["url"] for d in raw_docs] == [d["url"] for d in hf_docs]  # meta is a JSON string there
    assert [d["text"] for d in raw_docs] == [d["text"] for d in hf_docs]
    assert hf_docs[2]["warc_record_id"] == "2023-06/0000/en_head.json.gz/2" and raw_docs[2]["warc_record_id"] is None
    assert raw_docs[0]["language_score"] == 0.97 and hf_docs[0]["language"] == "en"


def test_dolma_nested_metadata_and_ids_unique_within_a_source(tmp_path):
    path = tmp_path / "0933_uk_all.jsonl.gz"
    write_jsonl(path, dolma_rows())
    docs, report = read(path, "dolma")
    assert report.kept == 3 and balanced(report)
    assert [d["url"] for d in docs] == ["https://a.example.com/x", "https://b.example.com/y", "https://c.example.com/z"]
    assert [d["warc_record_id"] for d in docs] == ["common-crawl/17", "c4/17", "dclm/cc-3"]
    assert len({d["doc_id"] for d in docs}) == 3
    # `created` of 2020-05-27 is in CC-MAIN-2020-24; the WARC-Date wins over a missing `created`.
    assert [d["crawl"] for d in docs] == ["CC-MAIN-2020-24", "CC-MAIN-2019-18", "CC-MAIN-2024-10"]


def test_a_generic_mapping_reads_dotted_paths_alike_in_parquet_structs_and_json_objects(tmp_path):
    corpus = CorpusOptions(text_field="body", url_field="meta.link", date_field="meta.when", crawl_field="snap",
                           id_field="key")
    rows = [{"body": text(i), "key": i, "snap": "my-corpus-v2",
             "meta": {"link": f"https://x{i}.example.com/", "when": "2021-01-20T00:00:00Z"}} for i in range(3)]
    write_jsonl(tmp_path / "c.jsonl.gz", rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "c.parquet")
    json_docs, _ = read(tmp_path / "c.jsonl.gz", corpus=corpus)
    parquet_docs, _ = read(tmp_path / "c.parquet", corpus=corpus)
    fields = ("crawl", "url", "fetch_time", "text", "warc_record_id")
    assert [[d[f] for f in fields] for d in json_docs] == [[d[f] for f in fields] for d in parquet_docs]
    assert json_docs[1]["crawl"] == "my-corpus-v2" and json_docs[1]["warc_record_id"] == "1"
    # --crawl names the crawl of every row of the inputs, whatever their fields say.
    forced, _ = read(tmp_path / "c.parquet", corpus=corpus, crawl="CC-MAIN-2021-04")
    assert {d["crawl"] for d in forced} == {"CC-MAIN-2021-04"}


# -- every row accounted for ----------------------------------------------------------------------

def test_malformed_json_lines_are_skipped_each_with_its_reason(tmp_path):
    good = c4_rows(2)
    rows = [
        good[0],
        b"this is not json",
        b"[1, 2, 3]",
        b'{"text": "caf\xe9 au lait", "url": "https://x.example.com/"}',  # Latin-1, not UTF-8
        b'{"text": "lone \\ud800 surrogate", "url": "https://x.example.com/", "timestamp": "2019-04-22T00:00:00Z"}',
        {"url": "https://x.example.com/", "timestamp": "2019-04-22T00:00:00Z"},
        {"text": 42, "url": "https://x.example.com/"},
        {"text": "   ", "url": "https://x.example.com/"},
        {"text": text(9), "timestamp": "2019-04-22T00:00:00Z"},
        {"text": text(9), "url": "https://x.example.com/", "timestamp": "yesterday"},
        {"text": text(9), "url": "https://x.example.com/", "timestamp": "2019-03-01T00:00:00Z"},  # between crawls
        {"text": "x" * 5000, "url": "https://x.example.com/", "timestamp": "2019-04-22T00:00:00Z"},
        b"",
        b"   ",
        good[1],
    ]
    path = tmp_path / "bad.jsonl.gz"
    write_jsonl(path, rows)
    docs, report = read(path, "c4", max_payload_bytes=4000)
    assert report.status == "ok" and len(docs) == report.kept == 2
    assert dict(report.skipped) == {
        "not_json": 1, "not_object": 1, "not_utf8": 2, "missing_field": 1, "bad_field": 1, "empty_text": 1,
        "no_url": 1, "bad_date": 1, "no_crawl": 1, "too_large": 1,
    }
    assert report.records == 13 and balanced(report)  # blank lines are not rows


def test_a_bad_crawl_field_and_rows_of_several_crawls(tmp_path):
    path = tmp_path / "mixed.parquet"
    write_fineweb(path, n=3)
    table = pq.read_table(path)
    dumps = pa.array(["CC-MAIN-2024-10", "2023-06", "not a crawl!"])
    pq.write_table(table.set_column(table.schema.get_field_index("dump"), "dump", dumps), path)
    docs, report = read(path, "fineweb")
    assert [d["crawl"] for d in docs] == ["CC-MAIN-2024-10", "CC-MAIN-2023-06"]
    assert dict(report.skipped) == {"bad_crawl": 1} and dict(report.kept_by_crawl) == {
        "CC-MAIN-2024-10": 1, "CC-MAIN-2023-06": 1}


def test_malformed_parquet_rows_are_skipped_with_reasons(tmp_path):
    path = tmp_path / "rows.parquet"
    texts = pa.array([text(0).encode(), None, b"\xff\xfe broken", text(3).encode()], pa.binary()).view(pa.string())
    pq.write_table(pa.table({
        "text": texts, "url": ["https://a.example.com/", "https://b.example.com/", "https://c.example.com/", None],
        "dump": ["CC-MAIN-2024-10"] * 4, "date": ["2024-02-21T00:00:00Z"] * 4,
    }), path)
    docs, report = read(path, "fineweb")
    assert len(docs) == 1 and dict(report.skipped) == {"missing_field": 1, "not_utf8": 1, "no_url": 1}
    assert report.status == "ok" and balanced(report)


def test_a_parquet_file_without_the_text_column_fails_naming_file_column_and_preset(tmp_path):
    path = tmp_path / "notext.parquet"
    pq.write_table(pa.table({"content": [text(0)], "url": ["https://a.example.com/"]}), path)
    docs, report = read(path, "fineweb")
    assert docs == [] and report.status == "failed" and report.records == 0
    assert str(path) in report.error_message and "'text'" in report.error_message
    assert "fineweb" in report.error_message and "content, url" in report.error_message
    assert "--text-field" in report.error_message


def test_a_truncated_gzip_keeps_the_rows_before_the_damage_and_is_partial(tmp_path):
    whole = tmp_path / "whole.json.gz"
    write_jsonl(whole, c4_rows(400))
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    docs, report = read(cut, "c4")
    assert report.status == "partial" and report.error_class == "TruncatedLine"
    assert 50 < report.kept == len(docs) < 400 and report.skipped["truncated"] == 1 and balanced(report)
    expected = [r["text"] for r in c4_rows(400)][: len(docs)]
    assert [d["text"] for d in docs] == expected  # the rows before the damage, intact


def test_files_that_are_not_of_their_format_fail(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"<html>not parquet</html>")
    _, report = read(junk, "fineweb")
    assert report.status == "failed" and "not a readable parquet file" in report.error_message
    binary = tmp_path / "x.jsonl"
    binary.write_bytes(b"PAR1\x00\x01binary")
    _, report = read(binary, "c4")
    assert report.status == "failed" and "is not JSON lines" in report.error_message
    _, report = read(tmp_path / "missing.jsonl.gz", "c4")
    assert report.status == "failed" and report.error_class == "NotFound"


# -- remote inputs --------------------------------------------------------------------------------

def test_parquet_over_http_reads_only_its_columns_and_survives_faults(tmp_path):
    path = tmp_path / "fw.parquet"
    # A large column the mapping does not read: it must not be fetched.
    write_fineweb(path, n=40, token_count=[os.urandom(50000).hex() for _ in range(40)])
    local, local_report = read(path, "fineweb")
    faults = Faults(errors=[503, 429], cut_bodies=2, cut_at=300)
    with StaticServer(str(tmp_path), faults) as server:
        remote, report = read(server.url + "fw.parquet", "fineweb", **FAST)
    assert report.status == "ok" and [d["text"] for d in remote] == [d["text"] for d in local]
    assert [d["doc_id"] for d in remote] == [d["doc_id"] for d in local] and len(remote) == 40
    assert report.bytes_read < path.stat().st_size / 3
    assert report.attempts >= faults.injected == 4


def test_json_gz_over_http_survives_faults(tmp_path):
    path = tmp_path / "c4.json.gz"
    write_jsonl(path, c4_rows(300))
    local, _ = read(path, "c4")
    with StaticServer(str(tmp_path), Faults(errors=[500], cut_bodies=2, cut_at=1000)) as server:
        remote, report = read(server.url + "c4.json.gz", "c4", **FAST)
    assert report.status == "ok" and report.attempts == 4 and report.bytes_read == path.stat().st_size
    # Without an id of its own a row is known by its file and row number: the same rows, other ids.
    assert [(d["warc_offset"], d["text"]) for d in remote] == [(d["warc_offset"], d["text"]) for d in local]


def test_parquet_and_jsonl_from_moto_s3(tmp_path, monkeypatch):
    write_fineweb(tmp_path / "fw.parquet", n=12)
    write_jsonl(tmp_path / "d.jsonl.gz", dolma_rows())
    with moto_s3(monkeypatch, tmp_path, "corpora") as s3:
        _read_from_s3(tmp_path, s3)


def _read_from_s3(tmp_path, s3) -> None:
    client = s3["client"]
    for name in ("fw.parquet", "d.jsonl.gz"):
        client.put_object(Bucket="corpora", Key=f"data/{name}", Body=(tmp_path / name).read_bytes())
    options = {"s3_endpoint_url": s3["endpoint"], "s3_anonymous": "no", **FAST}
    for name, preset in (("fw.parquet", "fineweb"), ("d.jsonl.gz", "dolma")):
        local, _ = read(tmp_path / name, preset)
        remote, report = read(f"s3://corpora/data/{name}", preset, fmt=corpus_format_of(name), **options)
        assert report.status == "ok" and [d["text"] for d in remote] == [d["text"] for d in local]
    with FaultyProxy(s3["port"], Faults(errors=[503], cut_bodies=1, cut_at=500)) as proxy:
        remote, report = read("s3://corpora/data/fw.parquet", "fineweb", **{**options, "s3_endpoint_url": proxy.url})
    assert report.status == "ok" and len(remote) == 12
    _, missing = read("s3://corpora/data/nope.parquet", "fineweb", **options)
    assert missing.status == "failed" and "NoSuchKey" in missing.error_message
