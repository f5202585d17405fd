"""Open local files, s3:// objects and http(s):// URLs as one retrying, streaming byte reader, or as a
seekable one for formats read from their end (parquet).

A network read that fails mid-file (reset, timeout, 5xx, SlowDown) is resumed from the byte it
stopped at with a Range request, after a backoff with jitter; permanent errors (404, access
denied) fail at once. Nothing is held in memory beyond the read buffer (the seekable reader keeps
a few small blocks).
"""

from __future__ import annotations

import functools
import gzip
import http.client
import io
import os
import random
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import urllib3.exceptions

from leakwatch.settings import above, at_least, setting

USER_AGENT = "leakwatch/0.1 (+https://github.com/leakwatch/leakwatch)"
# The seekable reader serves reads smaller than a block from whole aligned blocks it keeps (the last
# CACHED_BLOCKS): pyarrow reads a footer's length, the footer, then small column chunks, and one
# request for each would be slow over a network.
BLOCK = 1 << 16
CACHED_BLOCKS = 16


@dataclass(frozen=True)
class FetchOptions:
    """Timeouts and retry policy for remote inputs."""

    retries: int = setting(5, "retries per remote file (a read that fails mid-file resumes where it stopped)",
                           metavar="N", check=at_least(0))
    connect_timeout: float = setting(10.0, "seconds to connect", metavar="S", check=above(0))
    read_timeout: float = setting(60.0, "seconds without a byte before a read is retried", metavar="S",
                                  check=above(0))
    backoff_base: float = setting(0.5, "seconds of the first backoff between retries (doubled each time, jittered)",
                                  metavar="S", check=at_least(0))
    backoff_max: float = setting(30.0, "longest backoff between retries, seconds", metavar="S", check=at_least(0))
    s3_endpoint_url: str | None = setting(None, "S3-compatible endpoint", metavar="URL",
                                          default_help="AWS, or $AWS_ENDPOINT_URL")
    s3_anonymous: str = setting("auto", "unsigned S3 requests: auto (when no credentials are configured), yes, no",
                                choices=("auto", "yes", "no"))


class PermanentError(OSError):
    """The input cannot be read and retrying will not help (missing, forbidden, malformed URI)."""


class NotFound(PermanentError):
    """No such file, object or URL (HTTP 404/410, S3 NoSuchKey)."""


class HostUnknown(PermanentError):
    """The host name does not resolve: a typo or no network; retrying at once would not help."""


class TransientError(OSError):
    """A failure worth retrying (throttling, 5xx, short body)."""


class RetriesExhausted(OSError):
    """A transient failure that outlasted the retry budget."""


def _transient_types() -> tuple[type[BaseException], ...]:
    import botocore.exceptions as bex

    return (
        TransientError,
        ConnectionError,
        TimeoutError,
        socket.timeout,
        http.client.HTTPException,
        urllib3.exceptions.HTTPError,
        bex.ConnectionError,
        bex.HTTPClientError,
        bex.IncompleteReadError,
        bex.ResponseStreamingError,
    )


def _wait_to_retry(reader, exc: BaseException, pos: int) -> None:
    """Sleep before the next attempt of a reader (jittered exponential backoff), or give up."""
    retries = len(reader.retry_log)
    if retries >= reader.options.retries:
        raise RetriesExhausted(
            f"{reader.name}: gave up after {reader.attempts} attempts; last error: {type(exc).__name__}: {exc}"
        ) from exc
    reader.retry_log.append(f"{type(exc).__name__} at byte {pos}")
    delay = min(reader.options.backoff_max, reader.options.backoff_base * 2**retries)
    time.sleep(random.uniform(0, delay))


# (offset, end inclusive or None for the rest) -> a stream from byte `offset`.
Opener = Callable[..., "Opened"]


class Opened:
    """A freshly opened byte stream positioned at `offset`, plus what the server said of its size."""

    def __init__(self, stream: BinaryIO, total_size: int | None, retries_inside: int = 0):
        self.stream = stream
        self.total_size = total_size
        self.retries_inside = retries_inside


class RetryingReader(io.RawIOBase):
    """A read-only stream over `opener(offset)` that reopens at the current offset on failure."""

    def __init__(self, opener: Opener, name: str, options: FetchOptions):
        self.name = name
        self.options = options
        self.pos = 0
        self.attempts = 0
        self.retry_log: list[str] = []
        self._opener = opener
        self._transient = _transient_types()
        self._total: int | None = None
        self._stream: BinaryIO | None = None
        self._open()

    def _backoff(self, exc: BaseException) -> None:
        _wait_to_retry(self, exc, self.pos)

    def _open(self) -> None:
        while True:
            self.attempts += 1
            try:
                opened = self._opener(self.pos)
            except PermanentError:
                raise
            except self._transient as exc:
                self._backoff(exc)
                continue
            self.attempts += opened.retries_inside
            self._stream = opened.stream
            if opened.total_size is not None:
                self._total = opened.total_size
            return

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while True:
            try:
                data = self._stream.read(len(buffer))
                if not data and self._total is not None and self.pos < self._total:
                    raise TransientError(f"stream ended at byte {self.pos} of {self._total}")
            except self._transient as exc:
                self._close_stream()
                self._backoff(exc)
                self._open()
                continue
            n = len(data)
            buffer[:n] = data
            self.pos += n
            return n

    def _close_stream(self) -> None:
        _close_quietly(self._stream)

    def close(self) -> None:
        self._close_stream()
        super().close()


class RangedReader(io.RawIOBase):
    """A seekable, read-only file over `opener(offset, end)`: every read is one bounded Range request, resumed
    from the byte it reached on failure. Counts its requests, attempts and the bytes it fetched."""

    def __init__(self, opener: Opener, name: str, options: FetchOptions):
        self.name = name
        self.options = options
        self.attempts = 0
        self.requests = 0
        self.bytes_read = 0
        self.retry_log: list[str] = []
        self._opener = opener
        self._transient = _transient_types()
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        # The size comes with the first block, which pyarrow reads anyway for a small file.
        self._blocks[0], self.size = self._request(0, BLOCK - 1)

    def _request(self, start: int, end: int) -> tuple[bytes, int]:
        """Bytes start..end (inclusive; fewer at the object's end) and the object's size, with retries."""
        parts: list[bytes] = []
        got = 0
        total: int | None = None
        self.requests += 1
        while True:
            self.attempts += 1
            stream = None
            try:
                opened = self._opener(start + got, end)
                self.attempts += opened.retries_inside
                stream = opened.stream
                total = opened.total_size if opened.total_size is not None else total
                if total is None:
                    raise PermanentError(f"{self.name}: the server did not give the object's size (no Content-Range)")
                want = min(end, total - 1) - start + 1
                while got < want:  # a server may send more than asked: read what was asked, then close
                    chunk = stream.read(min(want - got, 1 << 20))
                    if not chunk:
                        raise TransientError(f"range {start}-{end} ended at byte {start + got}")
                    parts.append(chunk)
                    got += len(chunk)
                break
            except PermanentError:
                raise
            except self._transient as exc:
                _wait_to_retry(self, exc, start + got)
            finally:
                _close_quietly(stream)
        self.bytes_read += got
        return b"".join(parts), total

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self._pos)
        if n <= 0:
            return 0
        data = self._request(self._pos, self._pos + n - 1)[0] if n >= BLOCK else self._from_blocks(self._pos, n)
        memoryview(buffer)[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _from_blocks(self, pos: int, n: int) -> bytes:
        """n bytes at pos from whole aligned blocks, the missing ones fetched in one request."""
        first, last = pos // BLOCK, (pos + n - 1) // BLOCK
        missing = [b for b in range(first, last + 1) if b not in self._blocks]
        if missing:
            data, _ = self._request(missing[0] * BLOCK, min(self.size, (missing[-1] + 1) * BLOCK) - 1)
            for b in range(missing[0], missing[-1] + 1):
                self._blocks[b] = data[(b - missing[0]) * BLOCK : (b - missing[0] + 1) * BLOCK]
        for b in range(first, last + 1):
            self._blocks.move_to_end(b)
        while len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        joined = b"".join(self._blocks[b] for b in range(first, last + 1))
        return joined[pos - first * BLOCK : pos - first * BLOCK + n]


def _close_quietly(stream) -> None:
    try:
        if stream is not None:
            stream.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may raise anything
        pass


def _open_local(path: str) -> Opener:
    if not os.path.isfile(path):
        raise NotFound(f"no such file: {path}")

    def opener(offset: int, end: int | None = None) -> Opened:
        fh = open(path, "rb")  # noqa: SIM115 - owned by the reader
        fh.seek(offset)
        return Opened(fh, os.path.getsize(path))

    return opener


_CONTENT_RANGE = re.compile(r"bytes \d+-\d+/(\d+)")


def _open_http(url: str, options: FetchOptions) -> Opener:
    def opener(offset: int, end: int | None = None) -> Opened:
        headers = {"User-Agent": USER_AGENT}
        if offset or end is not None:
            headers["Range"] = f"bytes={offset}-{'' if end is None else end}"
        request = urllib.request.Request(url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=options.read_timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise TransientError(f"HTTP {exc.code} from {url}") from exc
            error = NotFound if exc.code in (404, 410) else PermanentError
            raise error(f"HTTP {exc.code} {exc.reason} for {url}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise PermanentError(f"TLS certificate of {url} is not trusted: {exc.reason}") from exc
            if isinstance(exc.reason, socket.gaierror) and exc.reason.errno == socket.EAI_NONAME:
                raise HostUnknown(f"cannot reach {url}: unknown host ({exc.reason.strerror})") from exc
            raise TransientError(f"cannot reach {url}: {exc.reason}") from exc
        total = None
        content_range = response.headers.get("Content-Range")
        if content_range and (m := _CONTENT_RANGE.match(content_range)):
            total = int(m.group(1))
        elif response.headers.get("Content-Length") and (end is None or response.status == 200):
            total = int(response.headers["Content-Length"]) + (offset if response.status == 206 else 0)
        if offset and end is not None and response.status != 206:
            response.close()
            raise PermanentError(
                f"{url}: the server ignores Range requests, so a parquet file cannot be read from it without "
                "downloading it whole: download it and give its local path"
            )
        if offset and response.status != 206:
            # The server ignored Range: skip what we already have.
            remaining = offset
            while remaining:
                chunk = response.read(min(remaining, 1 << 20))
                if not chunk:
                    raise TransientError(f"{url} ended before byte {offset} on resume")
                remaining -= len(chunk)
        return Opened(response, total)

    return opener


@functools.lru_cache(maxsize=8)
def s3_client(endpoint_url: str | None, anonymous: str, retries: int, connect: float, read: float):
    """A boto3 S3 client per process and setting: adaptive retries, unsigned when anonymous."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session()
    unsigned = anonymous == "yes" or (anonymous == "auto" and session.get_credentials() is None)
    config = Config(
        retries={"mode": "adaptive", "max_attempts": max(1, retries)},
        connect_timeout=connect,
        read_timeout=read,
        signature_version=UNSIGNED if unsigned else None,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def split_s3(uri: str) -> tuple[str, str]:
    """('bucket', 'key') of an s3:// or s3a:// URI."""
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise PermanentError(f"not an s3 object URI (s3://bucket/key): {uri}")
    return bucket, key


def _open_s3(uri: str, options: FetchOptions) -> Opener:
    from botocore.exceptions import ClientError

    bucket, key = split_s3(uri)
    client = s3_client(
        options.s3_endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
        options.s3_anonymous,
        options.retries,
        options.connect_timeout,
        options.read_timeout,
    )

    def opener(offset: int, end: int | None = None) -> Opened:
        kwargs = {"Bucket": bucket, "Key": key}
        if offset or end is not None:
            kwargs["Range"] = f"bytes={offset}-{'' if end is None else end}"
        try:
            response = client.get_object(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status in (429, 500, 502, 503, 504) or error.get("Code") in ("SlowDown", "Throttling"):
                raise TransientError(f"S3 {error.get('Code')} for {uri}") from exc
            missing = status == 404 or error.get("Code") in ("NoSuchKey", "NoSuchBucket")
            raise (NotFound if missing else PermanentError)(
                f"S3 {error.get('Code', status)} for {uri}: {error.get('Message', '')}") from exc
        total = None
        content_range = response.get("ContentRange")
        if content_range and (m := _CONTENT_RANGE.match(content_range)):
            total = int(m.group(1))
        elif response.get("ContentLength") is not None:
            total = int(response["ContentLength"]) + offset
        retries_inside = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        return Opened(response["Body"], total, retries_inside)

    return opener


SCHEMES = ("file", "s3", "s3a", "http", "https")  # besides plain paths


def scheme_of(uri: str) -> str:
    """The URI's scheme, lower case ("" for a plain path)."""
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def _opener(uri: str, options: FetchOptions) -> Opener:
    scheme = scheme_of(uri)
    if scheme in ("", "file"):
        return _open_local(uri[len("file://") :] if scheme == "file" else uri)
    if scheme in ("s3", "s3a"):
        return _open_s3(uri, options)
    if scheme in ("http", "https"):
        return _open_http(uri, options)
    raise PermanentError(f"unsupported input scheme {scheme!r} in {uri}; use a path, s3:// or https://")


def open_input(uri: str, options: FetchOptions | None = None) -> RetryingReader:
    """Open a local path, file://, s3:// (s3a://) or http(s):// URI for streaming reads."""
    options = options or FetchOptions()
    return RetryingReader(_opener(uri, options), uri, options)


def open_ranged(uri: str, options: FetchOptions | None = None) -> RangedReader:
    """Open a local path, file://, s3:// (s3a://) or http(s):// URI for random-access reads."""
    options = options or FetchOptions()
    return RangedReader(_opener(uri, options), uri, options)


def read_lines(uri: str, options: FetchOptions | None = None) -> list[str]:
    """Non-empty lines of a (possibly gzipped) text file such as warc.paths.gz."""
    with io.BufferedReader(open_input(uri, options)) as raw:
        head = raw.peek(2)[:2]
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        try:
            text = stream.read().decode("utf-8")
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            if isinstance(exc, (PermanentError, TransientError, RetriesExhausted)):
                raise
            raise PermanentError(f"{uri}: not a valid gzip file ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise PermanentError(f"{uri}: not a text file of paths (byte {exc.start} is not UTF-8)") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]
