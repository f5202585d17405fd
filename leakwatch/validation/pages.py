"""Common-Crawl-like pages and WARC shards: page chrome of realistic size around article text, the
human text that ships with Python, and CC-style WARC writing (request, response and metadata records,
gzip per record, after a warcinfo record that names the crawl). Used by the demo's samples, the
injection test, the benchmarks and the tests."""

from __future__ import annotations

import datetime as dt
import html
import io
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@dataclass
class Page:
    """One captured page: what the response record will hold."""

    url: str
    body: bytes
    fetch_time: dt.datetime
    content_type: str = "text/html; charset=utf-8"
    status: str = "200 OK"


def human_paragraphs() -> list[str]:
    """Paragraphs of CPython's own documentation (pydoc topics), at least 200 characters each."""
    from pydoc_data.topics import topics

    paragraphs = []
    for key in sorted(topics):
        for block in topics[key].split("\n\n"):
            text = " ".join(block.split())
            if len(text) >= 200 and not text.startswith((">>>", "...")):
                paragraphs.append(text)
    return paragraphs


_WORDS = ("home", "about", "news", "archive", "contact", "docs", "blog", "forum", "help", "shop")


def render_page(title: str, paragraphs: list[str], rng: random.Random, published: str | None = None) -> str:
    """An HTML page of realistic size and depth around the given article paragraphs."""
    nav = "".join(
        f'<li class="nav-item"><a href="/{rng.choice(_WORDS)}/{i}">{rng.choice(_WORDS).title()} {i}</a></li>'
        for i in range(rng.randint(50, 100))
    )
    side = "".join(
        f'<div class="card"><h4><a href="/post/{rng.randint(1, 10**6)}">{rng.choice(_WORDS).title()} '
        f'{rng.randint(1, 999)}</a></h4><span class="meta">{rng.randint(1, 99)} comments</span></div>'
        for _ in range(rng.randint(30, 60))
    )
    footer = "".join(f'<a href="/legal/{i}">{rng.choice(_WORDS)}</a> | ' for i in range(rng.randint(20, 40)))
    script = "var cfg = {" + ",".join(f'"k{i}": {rng.random():.6f}' for i in range(rng.randint(300, 700))) + "};"
    style = "".join(f".c{i} {{ margin: {i % 7}px; color: #{rng.randrange(16**6):06x}; }}" for i in range(150))
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>{meta}<style>{style}</style><script>{script}</script></head>"
        f'<body><header><div class="logo"><a href="/">Site</a></div><nav><ul>{nav}</ul></nav></header>'
        f'<div class="wrap"><main><article><h1>{html.escape(title)}</h1>{body}</article></main>'
        f'<aside class="sidebar">{side}</aside></div><footer><div class="links">{footer}</div>'
        "<p>&copy; Example Site. All rights reserved.</p></footer></body></html>"
    )


def human_pages(
    n: int, host_count: int, fetch_time: dt.datetime, seed: int, paragraphs_per_page: tuple[int, int] = (4, 12)
) -> Iterator[Page]:
    """`n` pages of human-written documentation text spread over `host_count` hosts."""
    rng = random.Random(seed)
    paragraphs = human_paragraphs()
    for i in range(n):
        chosen = rng.sample(paragraphs, rng.randint(*paragraphs_per_page))
        title = " ".join(chosen[0].split()[:8])
        host = f"www.site{rng.randrange(host_count)}.{rng.choice(['com', 'org', 'net', 'de'])}"
        when = fetch_time + dt.timedelta(seconds=rng.randint(0, 7 * 86400))
        published = (when - dt.timedelta(days=rng.randint(0, 900))).date().isoformat()
        page_html = render_page(title, chosen, rng, published=published)
        url = f"https://{host}/docs/{i}-{rng.randrange(10**6)}.html"
        yield Page(url=url, body=page_html.encode("utf-8"), fetch_time=when)


def _warc_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_id(*parts: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, ' '.join(parts))}>"


def write_shard(
    stream: io.BufferedIOBase, crawl: str, pages: Iterable[Page], gzip: bool = True, created: dt.datetime | None = None
) -> int:
    """Write a CC-style WARC (warcinfo, then request/response/metadata per page); returns pages written.

    With `created` (the warcinfo date) every record id and date is derived from the input: same pages, same bytes.
    """
    writer = WARCWriter(stream, gzip=gzip)
    info = writer.create_warcinfo_record(
        f"{crawl}-sample.warc.gz",
        {"software": "leakwatch-samples/1", "isPartOf": crawl, "format": "WARC File Format 1.1"},
    )
    if created is not None:
        info.rec_headers.replace_header("WARC-Date", _warc_date(created))
        info.rec_headers.replace_header("WARC-Record-ID", _record_id(crawl, "warcinfo", _warc_date(created)))
    writer.write_record(info)
    count = 0
    for page in pages:
        date = _warc_date(page.fetch_time)
        request = writer.create_warc_record(
            page.url, "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(
                f"GET {page.url} HTTP/1.1", [("Host", page.url.split("/")[2])], is_http_request=True
            ),
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": _record_id(crawl, "request", page.url, date)},
        )
        headers = [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))]
        response = writer.create_warc_record(
            page.url, "response",
            payload=io.BytesIO(page.body),
            http_headers=StatusAndHeaders(page.status, headers, protocol="HTTP/1.1"),
            # A record id derived from crawl, URL and time: the same shard gives the same doc_ids.
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": _record_id(crawl, page.url, date)},
        )
        metadata = writer.create_warc_record(
            page.url, "metadata",
            payload=io.BytesIO(b"fetchTimeMs: 120\n"),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": _record_id(crawl, "metadata", page.url, date)},
        )
        for record in (request, response, metadata):
            writer.write_record(record)
        count += 1
    return count


def paragraphs(text: str) -> list[str]:
    """The text's non-empty lines, each a paragraph of the page."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def page_html(text: str, rng: random.Random, published: str | None = None) -> str:
    """The HTML page a labelled text becomes: its first words as title, its lines as paragraphs."""
    return render_page(" ".join(text.split()[:8]), paragraphs(text), rng, published=published)
