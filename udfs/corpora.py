"""Derived corpora (C4, FineWeb, RedPajama, Dolma, any parquet or JSON lines): where a row's fields are,
and what its values mean (dates, crawl names, the crawl a date falls in). Plain Python.

A mapping lists candidate dotted paths per role, the first one present in a row (or a file's columns)
wins; a preset holds the field names a corpus documents, the `[corpus]` settings override them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from leakwatch.schemas.values import CRAWL_NAME
from leakwatch.settings import setting
from leakwatch.udfs.ingest import crawl_from_path, parse_http_date, parse_warc_date

CORPUS_FORMATS = ("parquet", "jsonl")
CORPUS_SUFFIXES = {".parquet": "parquet", ".jsonl": "jsonl", ".jsonl.gz": "jsonl", ".json.gz": "jsonl",
                   ".ndjson": "jsonl", ".ndjson.gz": "jsonl"}
SNAPSHOT = re.compile(r"^(\d{4}-\d{2})$")  # RedPajama's snapshot ids: 2023-06 is CC-MAIN-2023-06


@dataclass(frozen=True)
class FieldMapping:
    """Where each field of a row is: candidate dotted paths per role, the first one present wins."""

    text: tuple[str, ...] = ("text",)
    url: tuple[str, ...] = ("url",)
    date: tuple[str, ...] = ()
    crawl: tuple[str, ...] = ()
    id: tuple[str, ...] = ()
    id_scope: tuple[str, ...] = ()  # a field the id is unique within (Dolma's `source`)
    language: tuple[str, ...] = ()
    language_score: tuple[str, ...] = ()


ROLES = tuple(f.name for f in fields(FieldMapping))
REQUIRED_ROLES = ("text", "url")  # the URL too: dedup's URL history and the domain bootstrap need it

# Field names as each corpus documents them (README "Measure a pretraining corpus" says where from).
PRESETS: dict[str, FieldMapping] = {
    # allenai/c4: json.gz lines {text, url, timestamp}; no id, no language field.
    "c4": FieldMapping(date=("timestamp",)),
    # HuggingFaceFW/fineweb(-edu): parquet {text, id, dump, url, date, file_path, language, language_score, ...};
    # id is the capture's WARC-Record-ID, dump its CC-MAIN crawl.
    "fineweb": FieldMapping(date=("date",), crawl=("dump",), id=("id",), language=("language",),
                            language_score=("language_score",)),
    # RedPajama-Data-V2's documents: CCNet json.gz lines {raw_content, url, date_download, language,
    # language_score, cc_segment, ...} (no id: the dataset's doc_id is file + row, as here without one);
    # or its Hugging Face rows {raw_content, doc_id, meta}, meta a JSON string of url, language, date_download.
    "redpajama": FieldMapping(text=("raw_content",), url=("url", "meta.url"),
                              date=("date_download", "meta.date_download"), crawl=("cc_segment",),
                              id=("doc_id",), language=("language", "meta.language"),
                              language_score=("language_score",)),
    # allenai/dolma: jsonl.gz {id, text, source, added, created, metadata{...}}; an id is unique within its
    # source; the URL is metadata.url (as dolma's URL dedup reads it) or, in Dolma 3's Common Crawl rows,
    # the WARC headers in metadata; `created` is the document's (best-guess) date.
    "dolma": FieldMapping(url=("metadata.url", "metadata.WARC-Target-URI"), date=("metadata.WARC-Date", "created"),
                          id=("id",), id_scope=("source",)),
}


@dataclass(frozen=True)
class CorpusOptions:
    """How the rows of parquet and JSON-lines inputs map to documents."""

    preset: str | None = setting(None, "field names of a known corpus", choices=tuple(PRESETS), metavar="PRESET",
                                 default_help="none: text and url, and the --*-field settings")
    text_field: str | None = setting(None, "field of a row's text (a dotted path for nested fields)", metavar="PATH",
                                     default_help="the preset's, else text")
    url_field: str | None = setting(None, "field of a row's URL", metavar="PATH", default_help="the preset's, else url")
    date_field: str | None = setting(None, "field of a row's capture date (ISO 8601, HTTP date or epoch seconds)",
                                     metavar="PATH", default_help="the preset's")
    crawl_field: str | None = setting(None, "field of a row's crawl or dump (a CC-MAIN id, a path holding one, "
                                      "YYYY-WW, or any crawl name); without one the crawl comes from the date",
                                      metavar="PATH", default_help="the preset's")
    id_field: str | None = setting(None, "field of a row's own id, for a stable doc_id", metavar="PATH",
                                   default_help="the preset's, else file and row number")
    language_field: str | None = setting(None, "field of a row's language code; without one fastText identifies it",
                                         metavar="PATH", default_help="the preset's")
    name: str | None = setting(None, "the corpus's name, in documents.origin", flags=("--corpus-name",),
                               metavar="NAME", default_help="the preset, else the input format")

    def mapping(self) -> FieldMapping:
        """The preset's mapping (or the generic one) with the fields given here in its place."""
        base = PRESETS[self.preset] if self.preset else FieldMapping()
        given = {"text": self.text_field, "url": self.url_field, "date": self.date_field, "crawl": self.crawl_field,
                 "id": self.id_field, "language": self.language_field}
        return replace(base, **{role: (path,) for role, path in given.items() if path})

    def origin(self, file_format: str) -> str:
        """What documents.origin says of a row read with these settings from a file of this format."""
        return self.name or self.preset or file_format


def corpus_format_of(path: str) -> str | None:
    """'parquet' or 'jsonl' from a file name's suffix; None for anything else (an archive)."""
    name = path.rsplit("/", 1)[-1].lower()
    return next((fmt for suffix, fmt in CORPUS_SUFFIXES.items() if name.endswith(suffix)), None)


class CrawlCalendar:
    """The Common Crawl crawl whose capture window holds a date (from the crawl list's from/to)."""

    def __init__(self, crawls: Iterable[dict]):
        self._windows = sorted(
            (_utc(dt.datetime.fromisoformat(c["from"])), _utc(dt.datetime.fromisoformat(c["to"])), c["id"])
            for c in crawls
            if c.get("from") and c.get("to")
        )
        self._starts = [start for start, _, _ in self._windows]

    def crawl_at(self, when: dt.datetime) -> str | None:
        """The crawl captured at `when`: of overlapping windows, the one that started last; None between crawls."""
        i = bisect.bisect_right(self._starts, when)
        for start, end, crawl in reversed(self._windows[max(0, i - 3) : i]):
            if start <= when <= end:
                return crawl
        return None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_date(value: Any) -> dt.datetime | None:
    """A row's date (ISO 8601 or HTTP string, epoch seconds or ms, datetime, date) as aware UTC; None if invalid."""
    if isinstance(value, str):
        return parse_warc_date(value) or parse_http_date(value)
    if isinstance(value, dt.datetime):
        parsed = _utc(value)
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    return parsed if 1990 <= parsed.year <= 2100 else None


def crawl_of(value: Any) -> str | None:
    """A crawl name from a crawl/dump field: CC-MAIN-YYYY-WW anywhere in it, a YYYY-WW snapshot, or a name."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if crawl := crawl_from_path(value):
        return crawl
    if SNAPSHOT.match(value):
        return f"CC-MAIN-{value}"
    return value if CRAWL_NAME.match(value) else None


def lookup(value: Any, parts: tuple[str, ...]) -> Any:
    """The value at a dotted path in nested objects; a JSON object held as a string is parsed on the way."""
    for i, part in enumerate(parts):
        if isinstance(value, str) and value.startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if isinstance(value, list):  # an Arrow map: (key, value) pairs
            value = dict(pair for pair in value if isinstance(pair, tuple) and len(pair) == 2)
        if not isinstance(value, dict):
            return None
        if part not in value:
            return value.get(".".join(parts[i:]))  # a key that holds dots itself
        value = value[part]
    return value
