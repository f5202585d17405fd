"""One input file (WARC, WET or ARC; gzipped per record or not) -> document rows + a file report.

Records come from udfs.warcframe: warcio's records, read by a fast path for clean gzip-per-record
WARC members and by warcio itself for everything else.

Every record read is counted once: kept, or skipped with a reason from leakwatch.schemas.values.SKIP_REASONS.
Damage ends the file early: the records before it are kept and the file is `partial`; a file
that cannot be opened or read at all is `failed`. Nothing here raises past `FileIngest.documents`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import importlib.metadata
import io
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from leakwatch.schemas.values import CC_CRAWL_IN_PATH, CRAWL_NAME
from leakwatch.settings import at_least, setting
from leakwatch.sources import FetchOptions, open_input
from leakwatch.udfs.html import decode_html, looks_like_html, main_text, published_date
from leakwatch.udfs.langid import check_model, identify_languages
from leakwatch.udfs.text import hash64, text_hash
from leakwatch.udfs.urls import url_parts
from leakwatch.udfs.warcframe import Records

EXTRACTOR_VERSION = "leakwatch-extract/3 resiliparse/{} warcio/{}".format(
    importlib.metadata.version("resiliparse"), importlib.metadata.version("warcio")
)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml+xhtml"})
# Room for WARC and HTTP headers in a gzip member beyond the payload cap: a bigger member is left to
# warcio, which streams it and skips it as too_large.
MEMBER_HEADROOM = 1 << 20
# Pages whose language is identified in one model call (see identify_languages).
LANGID_BATCH = 64


@dataclass(frozen=True)
class IngestOptions(FetchOptions):
    """What a record must be to be kept, and how inputs are fetched."""

    max_payload_bytes: int = setting(4 * 1024 * 1024, "skip HTTP payloads larger than this once decoded (bytes)",
                                     metavar="N", check=at_least(1))
    # Pages are kept however short; the classifier decides what is long enough to score.
    min_text_chars: int = setting(1, "skip pages with less main-content text (characters)", metavar="N",
                                  check=at_least(0))


@dataclass
class FileReport:
    """The ingest_log row of one input file, filled while it is read."""

    path: str
    crawl: str | None = None
    status: str = "ok"
    error_class: str | None = None
    error_message: str | None = None
    attempts: int = 0
    records: int = 0
    records_by_type: Counter = field(default_factory=Counter)
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    decode_replacements: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    kept_by_crawl: Counter = field(default_factory=Counter)  # filled by readers whose rows span crawls
    extractor_version: str = EXTRACTOR_VERSION

    def fail(self, status: str, exc: BaseException) -> None:
        """Record why the file ended early."""
        self.status = status
        self.error_class = type(exc).__name__
        self.error_message = (str(exc) or repr(exc)).strip()[:2000]

    def as_row(self, run_id: str) -> dict[str, Any]:
        """The file's ingest_log row; its crawl is the one most of its kept rows went to, when not known before."""
        crawl = self.crawl or (self.kept_by_crawl.most_common(1)[0][0] if self.kept_by_crawl else "unknown")
        return {
            "path": self.path,
            "crawl": crawl,
            "status": self.status,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "attempts": self.attempts,
            "records": self.records,
            "records_by_type": dict(self.records_by_type),
            "kept": self.kept,
            "skipped": dict(self.skipped),
            "decode_replacements": self.decode_replacements,
            "bytes_read": self.bytes_read,
            "seconds": round(self.seconds, 3),
            "extractor_version": self.extractor_version,
            "run_id": run_id,
            "finished_at": dt.datetime.now(dt.UTC),
            "kept_by_crawl": dict(self.kept_by_crawl) or ({crawl: self.kept} if self.kept else {}),
        }


class NotAnArchive(ValueError):
    """Bytes that are neither WARC nor ARC (after gzip, if gzipped)."""


def sniff_format(head: bytes) -> str:
    """'warc' or 'arc' from a file's first bytes (gzipped or not); NotAnArchive otherwise.

    warcio alone would read any line of five words as an ARC record header.
    """
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(31).decompress(head, 512)
        except zlib.error as exc:
            raise NotAnArchive(f"gzip data is corrupt at the start: {exc}") from exc
    start = head.lstrip(b"\r\n")
    if start.startswith(b"WARC/"):
        return "warc"
    if start.startswith(b"filedesc://"):
        return "arc"
    if not start:
        raise NotAnArchive("the file is empty")
    raise NotAnArchive(f"not a WARC or ARC file: it starts with {start[:40]!r}")


class CrawlUnknown(ValueError):
    """A file whose crawl cannot be told from --crawl, its path or its warcinfo record."""


class TruncatedRecord(EOFError):
    """A record whose block ends before its Content-Length: the file was cut or is corrupt."""


def crawl_from_path(path: str) -> str | None:
    """The CC-MAIN-YYYY-WW crawl id in a Common Crawl path, if any."""
    match = CC_CRAWL_IN_PATH.search(path)
    return match.group(1) if match else None


def parse_warc_date(value: str | None) -> dt.datetime | None:
    """WARC-Date (ISO 8601) as an aware UTC datetime; None if absent or invalid.

    Aware, because PySpark reads naive datetimes in the machine's local zone.
    """
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
    parsed = parsed.astimezone(dt.UTC)
    return parsed if 1990 <= parsed.year <= 2100 else None


def parse_http_date(value: str | None) -> dt.datetime | None:
    """An HTTP date header (RFC 9110) as an aware UTC datetime; None if absent or invalid."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
    parsed = parsed.astimezone(dt.UTC)
    return parsed if 1990 <= parsed.year <= 2100 else None


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """('text/html', 'utf-8') from a Content-Type header; ('', None) when absent."""
    if not value:
        return "", None
    mime, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'")
    return mime.strip().lower(), charset


def read_capped(stream, limit: int) -> bytes | None:
    """Up to `limit` bytes of a stream, or None if it holds more (a bomb or a huge record)."""
    chunks = []
    size = 0
    while True:
        chunk = stream.read(min(1 << 16, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


class FileIngest:
    """Read one input file; `documents()` yields kept rows, `report` accounts for every record."""

    def __init__(self, path: str, crawl_hint: str | None, run_id: str, options: IngestOptions):
        if crawl_hint is not None and not CRAWL_NAME.match(crawl_hint):
            raise ValueError(f"crawl name {crawl_hint!r} must match {CRAWL_NAME.pattern}")
        self.path = path
        self.run_id = run_id
        self.options = options
        self.report = FileReport(path=path, crawl=crawl_hint or crawl_from_path(path))
        self.format: str | None = None
        self.records: Records | None = None

    def documents(self) -> Iterator[dict[str, Any]]:
        """Yield one dict per kept record (keys = DOCUMENTS columns); never raises."""
        started = time.perf_counter()
        report = self.report
        reader = None
        pending: list[dict[str, Any]] = []
        try:
            check_model()
            reader = open_input(self.path, self.options)
            buffered = io.BufferedReader(reader, 1 << 16)
            head = buffered.peek(4096)[:4096]
            self.format = sniff_format(head)
            records = Records(
                buffered,
                gzipped_warc=self.format == "warc" and head[:2] == b"\x1f\x8b",
                max_member_bytes=self.options.max_payload_bytes + MEMBER_HEADROOM,
            )
            self.records = records
            for offset, record in records:
                rec_type = record.rec_type or "unknown"
                report.records += 1
                report.records_by_type[rec_type] += 1
                outcome = self._outcome(record, rec_type, offset)
                records.finish(record)
                # warcio bounds a record's block by its Content-Length: a bound not reached means the
                # file ended inside the record; no bound at all means its header was cut or mangled.
                missing = getattr(record.raw_stream, "limit", None)
                if missing is None or missing > 0:
                    report.skipped["truncated"] += 1
                    raise TruncatedRecord(
                        f"record at offset {offset} has no Content-Length: its header is cut or malformed"
                        if missing is None
                        else f"record at offset {offset} ends {missing} bytes before its Content-Length: "
                        "the file is cut short or corrupt"
                    )
                if isinstance(outcome, str):
                    report.skipped[outcome] += 1
                else:
                    report.kept += 1
                    pending.append(outcome)
                    if len(pending) == LANGID_BATCH:
                        yield from _with_languages(pending)
                        pending = []
        except CrawlUnknown as exc:
            report.skipped["crawl_unknown"] += 1
            report.fail("failed", exc)
        except Exception as exc:  # noqa: BLE001 - any damage ends this file, never the job
            report.fail("partial" if report.records else "failed", exc)
        finally:
            if reader is not None:
                report.attempts = reader.attempts
                report.bytes_read = reader.pos
                reader.close()
        # The pages read before the file's end (or its damage) are kept whatever ended it.
        yield from _with_languages(pending)
        report.seconds = time.perf_counter() - started

    def _outcome(self, record, rec_type: str, offset: int) -> dict[str, Any] | str:
        if rec_type == "warcinfo":
            self._read_warcinfo(record)
            return "record_type"
        if rec_type == "revisit":
            return "revisit"
        if rec_type == "response":
            return self._response(record, offset)
        if rec_type == "conversion":
            return self._conversion(record, offset)
        return "record_type"

    def _read_warcinfo(self, record) -> None:
        if self.report.crawl:
            return
        block = read_capped(record.content_stream(), 1 << 16) or b""
        match = re.search(rb"(?im)^isPartOf:\s*(\S+)", block)
        if match:
            name = match.group(1).decode("ascii", "replace")
            if CRAWL_NAME.match(name):
                self.report.crawl = name

    def _crawl(self) -> str:
        if not self.report.crawl:
            raise CrawlUnknown(
                f"cannot tell which crawl {self.path} belongs to: its path has no CC-MAIN-YYYY-WW "
                "and its warcinfo record has no isPartOf; pass --crawl NAME"
            )
        return self.report.crawl

    def _response(self, record, offset: int) -> dict[str, Any] | str:
        http = record.http_headers
        if http is None or not http.protocol.upper().startswith("HTTP"):
            return "not_http"
        if http.get_statuscode() != "200":
            return "http_status"
        mime, charset = parse_content_type(http.get_header("Content-Type"))
        if mime and mime not in HTML_TYPES:
            return "not_html"
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
        if not url:
            return "no_url"
        try:
            payload = read_capped(record.content_stream(), self.options.max_payload_bytes)
        except Exception:  # noqa: BLE001 - broken chunking / content-encoding in this record only
            return "undecodable"
        if payload is None:
            return "too_large"
        if not mime and not looks_like_html(payload):
            return "not_html"
        try:
            html, codec, charset_source, replacements = decode_html(payload, charset)
        except Exception:  # noqa: BLE001
            return "undecodable"
        self.report.decode_replacements += replacements
        try:
            text = main_text(html)
        except Exception:  # noqa: BLE001 - resiliparse refuses some malformed documents
            return "extract_error"
        fetched = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
        return self._document(
            record, offset, url, text, fetched,
            charset=codec,
            charset_source=charset_source,
            decode_errors=replacements,
            http_last_modified=parse_http_date(http.get_header("Last-Modified")),
            published=published_date(html, fetched),
        )

    def _conversion(self, record, offset: int) -> dict[str, Any] | str:
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
        if not url:
            return "no_url"
        payload = read_capped(record.content_stream(), self.options.max_payload_bytes)
        if payload is None:
            return "too_large"
        text = payload.decode("utf-8", errors="replace").strip()
        replacements = text.count("\ufffd")
        self.report.decode_replacements += replacements
        fetched = parse_warc_date(record.rec_headers.get_header("WARC-Date"))
        return self._document(
            record, offset, url, text, fetched,
            charset="utf-8",
            charset_source="wet",
            decode_errors=replacements,
            http_last_modified=None,
            published=None,
        )

    def _document(self, record, offset, url, text, fetched, **fields) -> dict[str, Any] | str:
        if not text:
            return "empty_text"
        if len(text) < self.options.min_text_chars:
            return "short_text"
        crawl = self._crawl()
        # warcio gives ARC records a random WARC-Record-ID: not an identity.
        record_id = record.rec_headers.get_header("WARC-Record-ID") if self.format == "warc" else None
        host, registered_domain, tld = url_parts(url)
        return {
            "doc_id": hash64(record_id) if record_id else hash64(f"{self.path}@{offset}"),
            "crawl": crawl,
            "warc_path": self.path,
            "warc_offset": offset,
            "warc_record_id": record_id,
            "url": url,
            "host": host,
            "registered_domain": registered_domain,
            "tld": tld,
            "fetch_time": fetched,
            "fetch_month": fetched.strftime("%Y-%m") if fetched else None,
            "http_last_modified": fields["http_last_modified"],
            "published_date": fields["published"],
            "language": None,  # filled by _with_languages
            "language_score": None,
            "charset": fields["charset"],
            "charset_source": fields["charset_source"],
            "decode_errors": fields["decode_errors"],
            "n_chars": len(text),
            "n_words": len(text.split()),
            "text": text,
            "text_hash": text_hash(text),
            "extractor_version": EXTRACTOR_VERSION,
            "run_id": self.run_id,
            "origin": self.format,
        }


def _with_languages(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents with their language and its probability filled in."""
    for doc, (language, score) in zip(docs, identify_languages([d["text"] for d in docs]), strict=True):
        doc["language"] = language
        doc["language_score"] = score
    return docs
