"""HTML payload -> (charset, main-content text, published date), guarded against bad input."""

from __future__ import annotations

import codecs
import datetime as dt
import re

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import detect_encoding
from resiliparse.parse.html import HTMLTree

# Labels that browsers (WHATWG Encoding Standard) read as a superset: decoding with the narrower
# Python codec would turn valid pages into replacement characters.
_SUPERSET = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
}

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)
_SNIFF_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|title|meta)", re.I | re.S)


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, widened to what browsers use; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSET.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def looks_like_html(payload: bytes) -> bool:
    """Sniff the start of a payload that came without a usable content type."""
    return bool(_SNIFF_HTML.match(payload[:1024]))


def _charset_candidates(payload: bytes, http_charset: str | None):
    """Declared charsets first; detection (~0.1 ms per page) only if they are absent or fail."""
    declared = codec_for(http_charset)
    if declared:
        yield declared, "http"
    match = _META_CHARSET.search(payload[:4096])
    meta = codec_for(match.group(1).decode("ascii", "replace")) if match else None
    if meta:
        yield meta, "meta"
    yield codec_for(detect_encoding(payload)) or "utf-8", "detected"


def decode_html(payload: bytes, http_charset: str | None) -> tuple[str, str, str, int]:
    """Decode an HTML payload: (text, codec, where the charset came from, replacement count).

    The charset comes from the HTTP header, else a <meta> tag, else detection (uchardet). A
    payload that is invalid in the declared charset is tried with the detected one before it is
    decoded with replacement characters.
    """
    tried: list[tuple[str, str]] = []
    for codec, source in _charset_candidates(payload, http_charset):
        if any(codec == seen for seen, _ in tried):
            continue
        tried.append((codec, source))
        try:
            return payload.decode(codec).lstrip("\ufeff"), codec, source, 0
        except (UnicodeDecodeError, LookupError):
            continue
    codec, source = tried[0]
    text = payload.decode(codec, errors="replace").lstrip("\ufeff")
    return text, codec, source + "+replace", text.count("\ufffd")


def main_text(html: str) -> str:
    """Main-content plain text of an HTML document (resiliparse), paragraphs kept as lines."""
    tree = HTMLTree.parse(html)
    text = extract_plain_text(tree, main_content=True, alt_texts=False, list_bullets=False)
    # Byte-order marks of included templates survive inside pages; they are not text.
    return text.replace("\ufeff", "").strip()


_META_TAG = re.compile(r"<meta\b[^>]{0,500}>", re.I)
_ATTR = re.compile(r"""([a-zA-Z:_.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_DATE_KEYS = {
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "date",
    "dc.date.issued",
    "dc.date",
    "dcterms.issued",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
}
_DATE_HINT = re.compile(r"date|pub|issued|created", re.I)
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_YMD = re.compile(r"((?:19|20)\d\d)-?(\d\d)-?(\d\d)")
HEAD_CHARS = 65536


def _parse_ymd(value: str) -> dt.date | None:
    match = _YMD.search(value)
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def published_date(html: str, fetched: dt.datetime | None) -> str | None:
    """Publication date (YYYY-MM-DD) from <meta> or JSON-LD, if present and not after the fetch."""
    head = html[:HEAD_CHARS]
    found: dt.date | None = None
    for tag in _META_TAG.findall(head):
        if not _DATE_HINT.search(tag):
            continue  # every key in _DATE_KEYS holds one of these words: skip parsing other tags
        attrs = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(tag)}
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        if key in _DATE_KEYS and attrs.get("content"):
            found = _parse_ymd(attrs["content"])
            if found:
                break
    if found is None and '"datePublished"' in head:  # the substring test is ~10x faster than the regex
        match = _JSONLD_DATE.search(head)
        found = _parse_ymd(match.group(1)) if match else None
    if found is None or found.year < 1991:
        return None
    if fetched is not None and found > fetched.date() + dt.timedelta(days=1):
        return None
    return found.isoformat()
