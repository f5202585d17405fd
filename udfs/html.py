"""HTML payload -> (charset, main-content text, published date), guarded against bad input."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from typing import NamedTuple

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


# resiliparse renders the main content as minimal HTML: one block a line (<p>, <h1>-<h6>, <pre>, or bare
# text), links as <a href="...">, and escapes only & < > ". Comment sections are not the page's text.
_RENDER = {
    "preserve_formatting": "minimal_html",
    "links": True,
    "alt_texts": False,
    "list_bullets": False,
    "comments": False,
}
_TAG = re.compile(r"<[^>]*>")
# The text of a link up to the next tag; an anchor without a target comes out as an unclosed <a href="">.
_LINK_TEXT = re.compile(r'<a href="[^"]+">([^<]*)')
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SENTENCE_END = re.compile(r"[.!?:\u3002\uff01\uff1f][\"'\u201d\u2019\u00bb)\]]*$")
# A block of the body: this long (a CJK character counts 3: it carries about a word) and link-poor.
LONG_BLOCK = 120
LINK_POOR = 0.25
# Links are most of a navigation list, a tag cloud, a "read more" line: never body text.
LINK_DENSE = 0.5
# Next to the body, link-poor blocks this long are its standfirst or closing lines, not a byline or date.
MIN_LEAD = 40


class Block(NamedTuple):
    """One rendered block: its tag ('' for bare text), text, weighted length, link share, blank line before."""

    tag: str
    text: str
    weight: int
    link_share: float
    paragraph: bool


def _unescape(text: str) -> str:
    return text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _blocks(markup: str) -> list[Block]:
    """The blocks of resiliparse's minimal-HTML rendering."""
    blocks: list[Block] = []
    paragraph = False
    lines = markup.split("\n")
    count = len(lines)
    i = 0
    while i < count:
        text = lines[i].strip()
        i += 1
        if not text:
            paragraph = True
            continue
        tag = ""
        if text[0] == "<":
            # Cut the block's own tags by position: most paragraphs then need no regex.
            if text.startswith("<p>"):
                tag, text = "p", text[3:-4] if text.endswith("</p>") else text[3:]
            elif text[1:2] == "h" and text[2:3] in "123456" and text[3:4] == ">":
                tag = text[1:3]
                text = text[4:-5] if text.endswith(f"</{tag}>") else text[4:]
            elif text.startswith("<pre>"):
                tag = "pre"
                while "</pre>" not in text and i < count:
                    text += "\n" + lines[i]
                    i += 1
                text = text[5:-6] if text.endswith("</pre>") else text[5:]
        links = 0
        if "<" in text:
            if "<a " in text:
                anchors = "".join(_LINK_TEXT.findall(text))
                links = len(_unescape(anchors) if "&" in anchors else anchors)
            text = _TAG.sub("", text.replace("<br>", "\n") if "<br>" in text else text)
        if "&" in text:
            text = _unescape(text)
        text = text.strip()
        if not text:
            continue
        weight = len(text)
        share = links / weight if links < weight else 1.0
        if weight < LONG_BLOCK and not text.isascii():
            weight += 2 * len(_CJK.findall(text))
        blocks.append(Block(tag, text, weight, share, paragraph))
        paragraph = False
    return blocks


def _is_title(block: Block, title: str) -> bool:
    """The page's <title>, or a heading or short line it contains (a headline without the site name)."""
    text = block.text.lower()
    return bool(title) and (block.tag == "h1" or block.weight < 200) and (text in title or title in text)


def body_blocks(blocks: list[Block], title: str) -> list[bool]:
    """Which blocks are the page's body: the link-poor blocks from its first to its last long block, and
    next to that span the link-poor sentences before it (up to the title) and after it (up to a heading)."""
    long_blocks = [i for i, b in enumerate(blocks) if b.weight >= LONG_BLOCK and b.link_share <= LINK_POOR]
    if not long_blocks:
        return [True] * len(blocks)  # nothing looks like an article: keep what resiliparse kept
    first, last = long_blocks[0], long_blocks[-1]
    keep = [first <= i <= last and b.link_share <= LINK_DENSE for i, b in enumerate(blocks)]
    headings: list[int] = []
    for i in range(first - 1, -1, -1):
        block = blocks[i]
        if block.link_share > LINK_DENSE or _is_title(block, title):
            break
        if block.weight >= MIN_LEAD and block.link_share <= LINK_POOR:
            for j in [i, *headings]:
                keep[j] = True
            headings = []
        elif block.tag.startswith("h"):
            headings.append(i)  # kept if text above it is
    for i in range(last + 1, len(blocks)):
        block = blocks[i]
        if block.link_share > LINK_DENSE or block.tag.startswith("h"):
            break
        keep[i] = block.weight >= MIN_LEAD and block.link_share <= LINK_POOR and bool(_SENTENCE_END.search(block.text))
    return keep


def main_text(html: str, alt_texts: bool = False) -> str:
    """Main-content text of an HTML document: resiliparse's main content without the chrome around
    the body (title, byline, link lists, comments, closing boilerplate); blocks as lines. `alt_texts`
    also renders images' alt texts inline (not what the pipeline extracts; bench_main_content measures it)."""
    tree = HTMLTree.parse(html)
    render = {**_RENDER, "alt_texts": True} if alt_texts else _RENDER
    blocks = _blocks(extract_plain_text(tree, main_content=True, **render))
    if not blocks:  # the main-content rules removed everything: the whole page goes through the same rules
        blocks = _blocks(extract_plain_text(tree, main_content=False, **render))
    title = " ".join((tree.title or "").split()).lower()
    parts = []
    for block, kept in zip(blocks, body_blocks(blocks, title), strict=True):
        if kept:
            parts.append(("\n\n" if block.paragraph else "\n") + block.text if parts else block.text)
    # Byte-order marks of included templates survive inside pages; they are not text.
    return "".join(parts).replace("\ufeff", "").strip()


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
