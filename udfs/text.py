"""Text normalization and hashing shared by ingest (text_hash), dedup and the classifier."""

from __future__ import annotations

import re
import unicodedata

import xxhash

# Bump when normalize_text changes: it is part of the dedup fingerprint and of text_hash.
NORMALIZATION_VERSION = "norm1"

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# Non-ASCII characters common in English web text that are word separators wherever they stand:
# no letter or digit in them or in their NFKC form, and nothing NFKC composes them with. Text that
# is ASCII apart from these normalizes with a byte table (below). Spaces (no-break, thin, ...),
# zero-width and soft hyphen, quotes, dashes, bullets, ellipsis, guillemets, primes, signs.
SEPARATOR_CHARS = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    "\u00ad\u200b\u200c\u200d\u2060\ufeff"
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u2032\u2033"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
    "\u2022\u2023\u2026\u00b7\u2020\u2021\u00a7\u00b6\u00a9\u00ae\u00b0\u00a3\u20ac\u00a5\u00a2\u00d7\u00f7"
)
_NOT_FAST = re.compile(f"[^\\x00-\\x7f{SEPARATOR_CHARS}]")
# The byte form of the same normalization: NFKC leaves ASCII unchanged, lowercase maps A-Z to
# a-z, every other byte separates words; bytes >= 0x80 are the UTF-8 of the separators above.
_WORD_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256)
)


def _byte_table_applies(text: str) -> bool:
    return text.isascii() or not _NOT_FAST.search(text)


def normalize_text(text: str) -> str:
    """NFKC, lowercase, punctuation to spaces, whitespace collapsed: the form hashes are taken of."""
    if _byte_table_applies(text):
        return normalized_bytes(text).decode("ascii")
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub(" ", text).strip()


def normalized_bytes(text: str) -> bytes:
    """normalize_text(text) encoded as UTF-8; ~4x faster than the regex for text that is ASCII
    apart from SEPARATOR_CHARS (most English pages), by a byte table."""
    if _byte_table_applies(text):
        return b" ".join(text.encode("utf-8").translate(_WORD_BYTES).split())
    return normalize_text(text).encode("utf-8")


def words(text: str) -> list[str]:
    """The normalized words of a text."""
    if _byte_table_applies(text):  # the table maps every byte >= 0x80 to a space: ASCII out
        return text.encode("utf-8").translate(_WORD_BYTES).decode("ascii").split()
    normalized = normalize_text(text)
    return normalized.split() if normalized else []


def to_int64(value: int) -> int:
    """Reinterpret an unsigned 64-bit integer as the signed int64 Spark's LongType stores."""
    return value - (1 << 64) if value >= (1 << 63) else value


def hash64(data: str | bytes) -> int:
    """A stable signed 64-bit hash (xxh64, seed 0) of a string or bytes."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return to_int64(xxhash.xxh64_intdigest(data))


def text_hash(text: str) -> int:
    """Hash of the normalized text: equal for texts that differ only in case, punctuation, spacing."""
    return hash64(normalized_bytes(text))  # the UTF-8 of normalize_text(text), without a str round trip
