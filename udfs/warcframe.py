"""Records of a WARC/ARC stream as warcio records, with a fast path for clean gzip-per-record WARC.

warcio parses every header line in Python through several buffered-reader layers: about a third
of a Common Crawl page's ingest time. Common Crawl files are gzip-per-record WARC, and almost
every member is regular: one record, a block of exactly its Content-Length, blank lines after it.
For such a member, `Records` decompresses it in one zlib call and parses its headers with the same
string operations warcio uses (a header block that is not plain CRLF-separated UTF-8 goes through
warcio's own parser), then builds the same warcio record objects.

Anything else is warcio's: ARC and uncompressed files are read by warcio from the start, and the
first member the fast path does not fully understand (truncated gzip, a member over the size cap,
odd framing, no gzip at all) hands the rest of the file, from that member's first byte, to warcio's
ArchiveIterator; tests/udfs/test_warcframe.py checks that both paths give equal records. One exception
is stricter than warcio: a gzip member whose compressed data fails zlib's checks raises
CorruptMember, where warcio may end the file silently or keep text from the damaged bytes.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders

CHUNK = 1 << 16
SLICE = 1 << 14
_WARC_VERSIONS = (b"WARC/1.0\r\n", b"WARC/1.1\r\n")
_HTTP_SCHEMES = ("http:", "https:")
# warcio parses HTTP headers for these record types. The fast path parses them for responses only,
# the one type leakwatch reads them of: warcio's lenient parser cannot fail on a request's or a
# revisit's headers, so skipping them changes nothing but time.
_HTTP_RECORDS = ("response", "request", "revisit")
# warcio's record loader as ArchiveIterator configures it: its parsers read what the fast path does not.
_loader = ArcWarcRecordLoader(verify_http=False)


class _Prefixed:
    """A read-only stream: `head` bytes, then the rest of `tail` (how warcio takes over mid-file)."""

    def __init__(self, head: bytes, tail):
        self._head = memoryview(head)
        self._tail = tail

    def read(self, size: int = -1) -> bytes:
        if self._head:
            n = len(self._head) if size is None or size < 0 else min(size, len(self._head))
            out, self._head = bytes(self._head[:n]), self._head[n:]
            return out
        return self._tail.read(size)


def _split_head(data: bytes, start: int, end: int) -> list[str] | None:
    """The header lines of data[start:end] (which ends before a blank line), decoded and stripped
    as warcio does; None where warcio could read them otherwise (then warcio's parser is used)."""
    segment = data[start:end]
    # Lines end in CRLF only, none is a continuation, nothing but CRLF breaks a line.
    if segment.count(b"\n") != segment.count(b"\r\n") or segment.count(b"\r") != segment.count(b"\n"):
        return None
    if b"\r\n " in segment or b"\r\n\t" in segment or segment[:1] in (b" ", b"\t"):
        return None
    try:
        text = segment.decode("utf-8")  # warcio decodes line by line: the same for valid UTF-8
    except UnicodeDecodeError:
        return None
    lines = [line.rstrip() for line in text.split("\r\n")]
    # A line that strips to nothing (e.g. U+3000) would end warcio's header block early.
    return lines if all(lines) else None


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    """(name, value) pairs from stripped header lines, as warcio's parser makes them."""
    pairs = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.rstrip(" \t"), value.lstrip()))
    return pairs


class _Headers(StatusAndHeaders):
    """warcio's StatusAndHeaders, made from pairs that are already str (skips its per-pair conversion)."""

    def __init__(self, statusline: str, headers: list[tuple[str, str]], protocol: str, total_len: int):
        self.statusline = statusline
        self.headers = headers
        self.protocol = protocol
        self.total_len = total_len
        self.headers_buff = None


class _Irregular(Exception):
    """A member the fast path does not read exactly as warcio would: warcio takes over there."""


class CorruptMember(ValueError):
    """A gzip member whose compressed data is damaged: nothing after it can be trusted."""


class Records:
    """Iterate `(offset, record)` over an archive stream; call `finish(record)` before the next.

    `offset` is the record's first byte in the (compressed) file, as warcio reports it. Records are
    warcio `ArcWarcRecord`s either way; `record.raw_stream.limit` is what warcio leaves unread.
    """

    def __init__(self, stream, gzipped_warc: bool, max_member_bytes: int):
        self._stream = stream
        self._fast = gzipped_warc
        self._cap = max_member_bytes
        self._data = b""
        self._i = 0  # start of unread data in self._data
        self._base = 0  # file offset of self._data[0]
        self._iterator: ArchiveIterator | None = None
        self._offset_base = 0
        self.fast_records = 0
        self.handed_off_at: int | None = None

    def __iter__(self) -> Iterator[tuple[int, ArcWarcRecord]]:
        if self._fast:
            while True:
                start = self._base + self._i
                try:
                    record = self._next_member()
                except _Irregular:
                    self.handed_off_at = start
                    break
                if record is None:
                    return
                self.fast_records += 1
                yield start, record
            tail = _Prefixed(self._data[self._i :], self._stream)
            self._data = b""
        else:
            tail = self._stream
        self._offset_base = self.handed_off_at or 0
        self._iterator = ArchiveIterator(tail, arc2warc=True)
        for record in self._iterator:
            # Not get_record_offset(): it reads the record to its end before we see the payload.
            yield self._offset_base + self._iterator.offset, record

    def finish(self, record: ArcWarcRecord) -> None:
        """Read the record to its end (warcio's read_to_end), so its unread `limit` is known."""
        if self._iterator is not None:
            self._iterator.read_to_end(record)
        else:
            record.raw_stream.read()

    def _fill(self) -> bool:
        """Read more of the stream into the buffer (keeping unread bytes); False at its end."""
        chunk = self._stream.read(CHUNK)
        if not chunk:
            return False
        self._base += self._i
        self._data = self._data[self._i :] + chunk
        self._i = 0
        return True

    def _next_member(self) -> ArcWarcRecord | None:
        """The record of the gzip member at the read position; None at the end of the stream."""
        if self._i >= len(self._data) and not self._fill():
            return None
        start = self._base + self._i
        try:
            return self._record(self._inflate())
        except _Irregular:
            self._i = start - self._base  # back to the member's first byte, for warcio
            raise

    def _inflate(self) -> bytes:
        """One whole gzip member from the read position, decompressed; the position moves past it."""
        inflater = zlib.decompressobj(31)
        parts = []
        size = 0
        fed = self._i  # bytes of self._data before `fed` have been given to the inflater
        while True:
            if fed >= len(self._data):
                offset = fed - self._i
                if not self._fill():
                    raise _Irregular  # the member is cut short: warcio reports the truncation
                fed = self._i + offset
            # Small slices: what the member leaves unused is copied out by zlib on every call.
            piece = memoryview(self._data)[fed : fed + SLICE]
            try:
                out = inflater.decompress(piece, self._cap + 1 - size)
            except zlib.error as exc:
                if not self._data.startswith(b"\x1f\x8b", self._i):
                    raise _Irregular from exc  # not gzip here: warcio reads such data uncompressed
                # warcio would stop reading this member silently, or call its bytes an unknown format.
                raise CorruptMember(
                    f"the gzip member at offset {self._base + self._i} is corrupt ({exc}): the file is damaged there"
                ) from exc
            parts.append(out)
            size += len(out)
            if size > self._cap or inflater.unconsumed_tail:
                raise _Irregular  # a huge record or a bomb: warcio streams it and applies the caps
            if inflater.eof:
                self._i = fed + len(piece) - len(inflater.unused_data)
                return b"".join(parts)
            fed += len(piece)

    def _record(self, content: bytes) -> ArcWarcRecord:
        """The warcio record of one member's content, or _Irregular."""
        if not content.startswith(_WARC_VERSIONS):
            raise _Irregular
        end = content.find(b"\r\n\r\n")
        lines = _split_head(content, 0, end) if end > 0 else None
        if lines is not None:
            rec_headers = _Headers("", _headers(lines[1:]), lines[0], end + 4)
        else:
            try:  # e.g. Latin-1 bytes in a header: warcio's own parser reads them
                rec_headers = _loader.warc_parser.parse(io.BytesIO(content))
            except Exception as exc:  # noqa: BLE001 - whatever it is, warcio will meet it again
                raise _Irregular from exc
        length_value = rec_headers.get_header("Content-Length") or ""
        if not (length_value.isascii() and length_value.isdigit()):
            raise _Irregular
        length = int(length_value)
        block_start = rec_headers.total_len
        block_end = block_start + length
        # After the block, warcio reads blank lines to the member's end; anything else is its to judge.
        if len(content) < block_end or content[block_end:].strip():
            raise _Irregular
        rec_type = rec_headers.get_header("WARC-Type")
        if rec_headers.get_header("WARC-Target-URI") is None and length and rec_type in _HTTP_RECORDS:
            raise _Irregular  # warcio fails on such a record (it reads the URI's scheme)
        uri = _loader._ensure_target_uri_format(rec_headers)  # warcio's own fix of Wget's <...> and spaces
        block = io.BytesIO(content)
        block.seek(block_start)
        raw = LimitReader(block, length)
        http_headers = None
        if rec_type == "response" and length and uri.startswith(_HTTP_SCHEMES):
            http_headers = self._http_headers(content, block_start, block_end, raw)
        return ArcWarcRecord(
            "warc", rec_type, rec_headers, raw, http_headers, rec_headers.get_header("Content-Type"), length
        )

    @staticmethod
    def _http_headers(content: bytes, start: int, end: int, raw: LimitReader) -> StatusAndHeaders:
        """The HTTP status and headers at the start of a response block; `raw` moves past them."""
        head_end = content.find(b"\r\n\r\n", start, end)
        lines = _split_head(content, start, head_end) if head_end > start else None
        if lines is None:
            return _loader.http_parser.parse(raw)  # warcio's own parser for anything unusual
        protocol, _, status = lines[0].partition(" ")
        consumed = head_end + 4 - start
        raw.stream.seek(head_end + 4)
        raw.limit -= consumed
        return _Headers(status.strip(), _headers(lines[1:]), protocol, consumed)

