"""One file of a derived corpus (parquet, or JSON lines gzipped or not) -> document rows + a file report.

The rows are those of udfs.ingest's archive path (the same columns, doc ids of the same form, the
language from fastText where the corpus gives none), so dedup, classify and stats read them
unchanged. Parquet is read row group by row group, through a buffer, only the mapped columns, from a
random-access reader (remote files by Range requests, never whole); JSON lines as a stream.

Every row read is counted once: kept, or skipped with a reason from schemas' SKIP_REASONS. Damage
ends the file early: the rows before it are kept and the file is `partial`; a file that cannot be
read at all, is not of its format, or has no column for the text or the URL, is `failed`. Nothing
here raises past `CorpusIngest.documents`.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.metadata
import io
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from itertools import repeat
from typing import Any

from leakwatch.crawls import load_crawls
from leakwatch.schemas.values import CRAWL_NAME
from leakwatch.sources import open_input, open_ranged
from leakwatch.udfs.corpora import (
    CORPUS_FORMATS,
    REQUIRED_ROLES,
    ROLES,
    CrawlCalendar,
    FieldMapping,
    crawl_of,
    lookup,
    parse_date,
)
from leakwatch.udfs.ingest import LANGID_BATCH, FileReport, IngestOptions, crawl_from_path
from leakwatch.udfs.langid import check_model, identify_languages
from leakwatch.udfs.text import hash64, text_hash
from leakwatch.udfs.urls import url_parts

CORPUS_READER_VERSION = "leakwatch-corpus/1 pyarrow/{}".format(importlib.metadata.version("pyarrow"))
# Rows per Arrow batch: per-batch costs vanish, memory stays small.
BATCH_ROWS = 2048
# pyarrow reads a column chunk through a buffer of this size instead of whole: memory stays flat even
# when a file is one huge row group, and remote reads are requests of about this size.
STREAM_BUFFER = 4 << 20
LINE_CHUNK = 1 << 20
# A \uD800-\uDFFF escape: JSON may spell a lone surrogate, which no UTF-8 writer (Arrow, Spark) takes.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class CorpusFileError(ValueError):
    """A file that is not of its format, or lacks a column the mapping needs: it is `failed`, with this message."""


class TruncatedLine(EOFError):
    """The file ends inside a line: it was cut short or its gzip stream is corrupt."""


class CorpusIngest:
    """Read one corpus file; `documents()` yields kept rows, `report` accounts for every row."""

    def __init__(self, path: str, crawl_hint: str | None, run_id: str, options: IngestOptions,
                 mapping: FieldMapping, origin: str, file_format: str, calendar: CrawlCalendar | None = None):
        if crawl_hint is not None and not CRAWL_NAME.match(crawl_hint):
            raise ValueError(f"crawl name {crawl_hint!r} must match {CRAWL_NAME.pattern}")
        if file_format not in CORPUS_FORMATS:
            raise ValueError(f"corpus format must be one of {CORPUS_FORMATS}, not {file_format!r}")
        self.path = path
        self.run_id = run_id
        self.options = options
        self.mapping = mapping
        self.origin = origin
        self.format = file_format
        self.crawl_hint = crawl_hint
        self.path_crawl = crawl_from_path(path)
        self.calendar = calendar or CrawlCalendar(load_crawls())
        self.report = FileReport(path=path, crawl=crawl_hint, extractor_version=CORPUS_READER_VERSION)
        self._parts = {role: tuple(tuple(p.split(".")) for p in getattr(mapping, role)) for role in ROLES}
        self._crawl_names: dict[Any, str | None] = {}
        self._extractor = f"{CORPUS_READER_VERSION} corpus:{origin}"

    def documents(self) -> Iterator[dict[str, Any]]:
        """Yield one dict per kept row (keys = DOCUMENTS columns); never raises."""
        started = time.perf_counter()
        report = self.report
        reader = None
        pending: list[dict[str, Any]] = []
        try:
            if not self.mapping.language:
                check_model()  # a missing model fails the file before it is read
            parquet = self.format == "parquet"
            reader = open_ranged(self.path, self.options) if parquet else open_input(self.path, self.options)
            for row, values in enumerate(self._parquet_rows(reader) if parquet else self._json_rows(reader)):
                report.records += 1
                outcome = values if isinstance(values, str) else self._document(row, values)
                if isinstance(outcome, str):
                    report.skipped[outcome] += 1
                    continue
                report.kept += 1
                report.kept_by_crawl[outcome["crawl"]] += 1
                pending.append(outcome)
                if len(pending) == LANGID_BATCH:
                    yield from _with_languages(pending)
                    pending = []
        except TruncatedLine as exc:
            report.records += 1
            report.skipped["truncated"] += 1
            report.fail("partial", exc)
        except Exception as exc:  # noqa: BLE001 - any damage ends this file, never the job
            report.fail("partial" if report.records else "failed", exc)
        finally:
            if reader is not None:
                report.attempts = reader.attempts
                report.bytes_read = reader.bytes_read if parquet else reader.pos
                reader.close()
        # The rows read before the file's end (or its damage) are kept whatever ended it.
        yield from _with_languages(pending)
        report.records_by_type = Counter({"row": report.records}) if report.records else Counter()
        report.seconds = time.perf_counter() - started

    # -- parquet -------------------------------------------------------------------------------------

    def _parquet_rows(self, source) -> Iterator[tuple | str]:
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(source, buffer_size=STREAM_BUFFER, pre_buffer=False)
        except Exception as exc:  # noqa: BLE001 - pyarrow's errors for a file that is not parquet vary
            raise CorpusFileError(f"{self.path} is not a readable parquet file: {exc}") from exc
        plans = [self._plan(parquet.schema_arrow, role) for role in ROLES]
        columns = sorted({".".join(plan[0]) for plan in plans if plan})
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False):
            n = batch.num_rows
            bad: set[int] = set()
            values = [_column(batch, plan, bad) if plan else repeat(None, n) for plan in plans]
            rows = zip(*values, strict=True)
            yield from ("not_utf8" if i in bad else row for i, row in enumerate(rows)) if bad else rows

    def _plan(self, schema, role: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """(column path through structs, path inside its values) of a role's first candidate in the schema."""
        import pyarrow as pa

        for parts in self._parts[role]:
            if ".".join(parts) in schema.names:
                return (".".join(parts),), ()
            if parts[0] not in schema.names:
                continue
            kind, depth = schema.field(parts[0]).type, 1
            while depth < len(parts) and pa.types.is_struct(kind) and kind.get_field_index(parts[depth]) >= 0:
                kind, depth = kind.field(parts[depth]).type, depth + 1
            # The rest of the path inside a string (JSON) or map column is looked up row by row.
            if depth == len(parts) or pa.types.is_string(kind) or pa.types.is_large_string(kind) or (
                    pa.types.is_map(kind)):
                return parts[:depth], parts[depth:]
        if role in REQUIRED_ROLES:
            raise CorpusFileError(
                f"{self.path} has no {role} column {' or '.join(map(repr, getattr(self.mapping, role)))} "
                f"(the {role} field of the {self.origin} mapping); its columns are: {', '.join(schema.names)}. "
                f"Name it with --{role}-field (a dotted path for a nested field)"
            )
        return None

    # -- JSON lines ----------------------------------------------------------------------------------

    def _json_rows(self, raw) -> Iterator[tuple | str]:
        buffered = io.BufferedReader(raw, 1 << 16)
        stream = gzip.GzipFile(fileobj=buffered) if buffered.peek(2)[:2] == b"\x1f\x8b" else buffered
        roots = {parts[0] for role in ROLES for parts in self._parts[role] if len(parts) > 1}
        first = True
        for line in _lines(stream, self.options.max_payload_bytes):
            if line is None:
                yield "too_large"
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                yield "not_utf8"
                continue
            if first:
                first, text = False, text.removeprefix("\ufeff")
                if not text.lstrip().startswith("{"):
                    raise CorpusFileError(f"{self.path} is not JSON lines: it starts with {text[:40]!r}")
            try:
                obj = json.loads(text)
            except ValueError:
                yield "not_json"
                continue
            if not isinstance(obj, dict):
                yield "not_object"
                continue
            for root in roots:  # a nested object held as a JSON string (RedPajama's meta): parsed once
                if isinstance(value := obj.get(root), str) and value.startswith("{"):
                    with contextlib.suppress(ValueError):
                        obj[root] = json.loads(value)
            values = tuple(self._json_value(obj, role) for role in ROLES)
            yield "not_utf8" if _SURROGATE_ESCAPE.search(text) and not _encodable(values) else values

    def _json_value(self, obj: dict, role: str) -> Any:
        for parts in self._parts[role]:
            value = obj.get(parts[0]) if len(parts) == 1 else lookup(obj, parts)
            if value is not None:
                return value
        return None

    # -- one row -------------------------------------------------------------------------------------

    def _document(self, row: int, values: tuple) -> dict[str, Any] | str:
        text, url, date, crawl_value, key, scope, language, language_score = values
        if text is None:
            return "missing_field"
        if not isinstance(text, str) or not isinstance(url, str | None) or not isinstance(key, str | int | None):
            return "bad_field"
        if len(text) > self.options.max_payload_bytes:
            return "too_large"
        text = text.strip()
        if not text:
            return "empty_text"
        if len(text) < self.options.min_text_chars:
            return "short_text"
        url = (url or "").strip()
        if not url:
            return "no_url"
        fetched = parse_date(date) if date is not None else None
        if date is not None and fetched is None:
            return "bad_date"
        crawl, reason = self._crawl(crawl_value, fetched)
        if reason:
            return reason
        own_id = None if key is None else str(key) if scope is None else f"{scope}/{key}"
        host, registered_domain, tld = url_parts(url)
        given_language = language.strip().lower() if isinstance(language, str) and language.strip() else None
        return {
            # Namespaced: FineWeb's id is the capture's WARC-Record-ID, whose bare hash is the WARC row's doc_id.
            "doc_id": hash64(f"{self.origin}:{own_id}") if own_id else hash64(f"{self.path}@{row}"),
            "crawl": crawl,
            "warc_path": self.path,
            "warc_offset": row,
            "warc_record_id": own_id,
            "url": url,
            "host": host,
            "registered_domain": registered_domain,
            "tld": tld,
            "fetch_time": fetched,
            "fetch_month": f"{fetched.year:04d}-{fetched.month:02d}" if fetched else None,
            "http_last_modified": None,
            "published_date": None,
            "language": given_language,  # fastText's, filled by _with_languages, where the corpus gives none
            "language_score": _score(language_score) if given_language else None,
            "charset": "utf-8",
            "charset_source": "corpus",
            "decode_errors": 0,
            "n_chars": len(text),
            "n_words": len(text.split()),
            "text": text,
            "text_hash": text_hash(text),
            "extractor_version": self._extractor,
            "run_id": self.run_id,
            "origin": self.origin,
        }

    def _crawl(self, value: Any, fetched) -> tuple[str | None, str | None]:
        """(crawl, None) from --crawl, the row's crawl field, its file's path or its date; else (None, reason)."""
        if self.crawl_hint:
            return self.crawl_hint, None
        if value is not None:
            if value not in self._crawl_names:  # a file holds few distinct dumps: each parsed once
                self._crawl_names[value] = crawl_of(value)
            crawl = self._crawl_names[value]
            return (crawl, None) if crawl else (None, "bad_crawl")
        crawl = self.path_crawl or (self.calendar.crawl_at(fetched) if fetched else None)
        return (crawl, None) if crawl else (None, "no_crawl")


def _column(batch, plan: tuple[tuple[str, ...], tuple[str, ...]], bad: set[int]) -> list:
    """A role's values in a batch, as Python objects; rows whose strings are not UTF-8 go into `bad`."""
    import pyarrow.compute as pc

    column_path, inner = plan
    array = batch.column(column_path[0])
    for name in column_path[1:]:
        array = pc.struct_field(array, name)
    try:
        values = array.to_pylist()
    except UnicodeDecodeError:  # Arrow does not check a parquet string column's UTF-8; Python does
        values = []
        for i in range(len(array)):
            try:
                values.append(array[i].as_py())
            except UnicodeDecodeError:
                values.append(None)
                bad.add(i)
    return [lookup(value, inner) for value in values] if inner else values


def _lines(stream, cap: int) -> Iterator[bytes | None]:
    """The non-blank lines of a byte stream without their newline; None for a line over `cap` bytes, which
    is never held whole. A stream that fails inside a line ends them with TruncatedLine, else with its error."""
    carry = b""
    oversized = False
    while True:
        try:
            chunk = stream.read1(LINE_CHUNK)  # read() would drop what it inflated before a gzip error
        except Exception as exc:  # EOFError, BadGzipFile, zlib.error, a network error out of retries
            if carry or oversized:
                raise TruncatedLine(f"the file ends inside a line: {type(exc).__name__}: {exc}") from exc
            raise
        if not chunk:
            break
        lines = (carry + chunk if carry else chunk).split(b"\n")
        carry = lines.pop()
        for line in lines:
            if oversized:
                oversized = False
                yield None
            elif len(line) > cap:
                yield None
            elif line and not line.isspace():
                yield line
        if len(carry) > cap:
            oversized, carry = True, b""
    if oversized:
        yield None
    elif carry and not carry.isspace():
        yield carry


def _encodable(values: tuple) -> bool:
    try:
        for value in values:
            if isinstance(value, str):
                value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _score(value: Any) -> float | None:
    try:
        return round(float(value), 4) if value is not None else None
    except (TypeError, ValueError):
        return None


def _with_languages(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents, with the language fastText finds where the corpus gave none."""
    missing = [doc for doc in docs if doc["language"] is None]
    if missing:
        for doc, (language, score) in zip(missing, identify_languages([d["text"] for d in missing]), strict=True):
            doc["language"] = language
            doc["language_score"] = score
    return docs
