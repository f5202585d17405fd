"""Builders of real WARC/WET/ARC bytes for tests, written with warcio (ARC by hand: warcio reads it only)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from leakwatch.validation.pages import Page, human_paragraphs, write_shard

WHEN = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def article(paragraphs: list[str], title: str = "A page", charset_meta: str | None = None) -> str:
    """A small HTML article page."""
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head>{meta}<title>{title}</title></head><body><article>{body}</article></body></html>"


def english_page(i: int, url: str | None = None, **kwargs) -> Page:
    """An English HTML page from CPython's docs text."""
    paragraphs = human_paragraphs()
    html = article(paragraphs[i * 3 % len(paragraphs) : i * 3 % len(paragraphs) + 3])
    return Page(
        url=url or f"https://www{i % 7}.example{i % 3}.com/p/{i}", body=html.encode(), fetch_time=WHEN, **kwargs
    )


def write_pages(path: Path, crawl: str, pages: list[Page], gzip_records: bool = True) -> Path:
    """A CC-style WARC of the pages."""
    with open(path, "wb") as out:
        write_shard(out, crawl, pages, gzip=gzip_records)
    return path


def write_records(path: Path, records: list[tuple], gzip_records: bool = True, crawl: str | None = None) -> Path:
    """A WARC of arbitrary records: (type, uri, payload bytes, http StatusAndHeaders|None, extra warc headers)."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzip_records)
        if crawl:
            writer.write_record(writer.create_warcinfo_record(path.name, {"isPartOf": crawl}))
        for rec_type, uri, payload, http, extra in records:
            kwargs = {"http_headers": http} if http is not None else {}
            if rec_type in ("conversion", "resource", "metadata"):
                kwargs["warc_content_type"] = "text/plain"
            record = writer.create_warc_record(
                uri,
                rec_type,
                payload=io.BytesIO(payload),
                warc_headers_dict={"WARC-Date": "2024-03-01T12:00:00Z", **(extra or {})},
                **kwargs,
            )
            writer.write_record(record)
    return path


def http_ok(
    content_type: str, extra: list[tuple[str, str]] | None = None, length: int | None = None
) -> StatusAndHeaders:
    """HTTP/1.1 200 response headers."""
    headers = [("Content-Type", content_type)] + (extra or [])
    if length is not None:
        headers.append(("Content-Length", str(length)))
    return StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")


def chunked(body: bytes, size: int = 100) -> bytes:
    """A body in HTTP chunked transfer encoding."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


def gzip_bomb(decompressed_size: int) -> bytes:
    """A gzip stream that inflates to `decompressed_size` bytes of HTML-looking text."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as gz:
        gz.write(b"<html><body><p>")
        block = b"a" * (1 << 20)
        for _ in range(decompressed_size // len(block)):
            gz.write(block)
    return buffer.getvalue()


def write_arc(path: Path, pages: list[tuple[str, bytes]]) -> Path:
    """An ARC (v1) file holding HTTP responses, written by hand."""
    date = "20240301120000"
    header_body = b"1 0 leakwatch-test\nURL IP-address Archive-date Content-type Archive-length\n"
    parts = [
        b"filedesc://%s 0.0.0.0 %s text/plain %d\n%s\n"
        % (path.name.encode(), date.encode(), len(header_body), header_body)
    ]
    for url, html in pages:
        http = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(html), html)
        parts.append(b"%s 127.0.0.1 %s text/html %d\n%s\n" % (url.encode(), date.encode(), len(http), http))
    path.write_bytes(b"".join(parts))
    return path
