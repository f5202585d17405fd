"""Builders of derived-corpus files for tests, in each corpus's own layout: FineWeb parquet (pyarrow),
C4 json.gz, RedPajama-V2 CCNet json.gz and Hugging Face rows, Dolma jsonl.gz with nested metadata."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SENTENCES = [
    "The committee met on Tuesday to review the budget for the coming year and the new library.",
    "Rain is expected across the northern hills tonight, with clearer skies by the weekend.",
    "She planted tomatoes, beans and a row of sunflowers along the fence behind the house.",
    "The museum will open a new wing devoted to maps drawn by sailors in the eighteenth century.",
]


def text(i: int) -> str:
    """An English paragraph, distinct for each i."""
    return " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3)) + f" Item {i}."


def write_fineweb(path: Path, n: int = 6, dump: str = "CC-MAIN-2024-10", start: int = 0, **extra) -> Path:
    """A FineWeb parquet file: text, id, dump, url, date, file_path, language, language_score, token_count."""
    rows = range(start, start + n)
    columns = {
        "text": [text(i) for i in rows],
        "id": [f"<urn:uuid:{i:08d}-aaaa-4bbb-8ccc-000000000000>" for i in rows],
        "dump": [dump] * n,
        "url": [f"https://www.site{i % 3}.example.org/post/{i}" for i in rows],
        "date": [f"2024-02-2{i % 9}T08:30:00Z" for i in rows],
        "file_path": [f"s3://commoncrawl/crawl-data/{dump}/segments/1/warc/x.warc.gz"] * n,
        "language": ["en"] * n,
        "language_score": [0.93] * n,
        "token_count": [40] * n,
        **extra,
    }
    pq.write_table(pa.table(columns), path, row_group_size=4)
    return path


def write_jsonl(path: Path, rows: list, gz: bool = True) -> Path:
    """JSON lines (dicts dumped, bytes written as they are), gzipped unless gz=False."""
    lines = b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)
    path.write_bytes(gzip.compress(lines) if gz else lines)
    return path


def c4_rows(n: int = 5, start: int = 0) -> list[dict]:
    """C4 lines: text, url, timestamp (in CC-MAIN-2019-18's capture window)."""
    return [{"text": text(i), "url": f"https://news{i}.example.com/a/{i}", "timestamp": "2019-04-22T03:04:05Z"}
            for i in range(start, start + n)]


def redpajama_ccnet_rows(n: int = 4) -> list[dict]:
    """RedPajama-V2 documents as published: CCNet lines, the crawl in cc_segment's path, no id."""
    segment = "crawl-data/CC-MAIN-2023-06/segments/1674764494826.88/wet/CC-MAIN-20230126-00000.warc.wet.gz"
    return [{"url": f"https://blog{i}.example.net/p", "date_download": "2023-01-28T11:00:00Z", "digest": f"sha1:{i}",
             "length": 300, "nlines": 3, "source_domain": f"blog{i}.example.net", "title": "t",
             "raw_content": text(i), "cc_segment": segment, "original_nlines": 4, "original_length": 350,
             "line_ids": [0, 1, 2], "language": "en", "language_score": 0.97, "perplexity": 250.0,
             "bucket": "head"} for i in range(n)]


def redpajama_hf_rows(n: int = 4) -> list[dict]:
    """RedPajama-V2 rows as its Hugging Face loader gives them: meta is a JSON string."""
    return [{"raw_content": text(i), "doc_id": f"2023-06/0000/en_head.json.gz/{i}",
             "meta": json.dumps({"url": f"https://blog{i}.example.net/p", "partition": "head_middle", "language": "en",
                                 "source_domain": f"blog{i}.example.net", "date_download": "2023-01-28T11:00:00Z",
                                 "digest": f"sha1:{i}"}),
             "quality_signals": "{}"} for i in range(n)]


def dolma_rows() -> list[dict]:
    """Dolma documents: an id unique within its source, created, and the URL in metadata."""
    return [
        {"id": "17", "text": text(0), "source": "common-crawl", "added": "2023-08-01T00:00:00Z",
         "created": "2020-05-27T10:00:00Z", "metadata": {"url": "https://a.example.com/x", "bucket": "head"}},
        # The same id in another source is another document.
        {"id": "17", "text": text(1), "source": "c4", "added": "2023-08-01T00:00:00Z",
         "created": "2019-04-22T03:04:05Z", "metadata": {"url": "https://b.example.com/y"}},
        # Dolma 3's Common Crawl rows: the WARC headers in metadata.
        {"id": "cc-3", "text": text(2), "source": "dclm",
         "metadata": {"WARC-Target-URI": "https://c.example.com/z", "WARC-Date": "2024-02-25T12:00:00Z"}},
    ]
