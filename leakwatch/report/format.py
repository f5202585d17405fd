"""Formatting for the report page: escaped text, numbers as the page shows them, table cells that
keep the exact number, and links that are only ever http(s)."""

from __future__ import annotations

import html
import math
import re
from urllib.parse import urlparse

import numpy as np

SNIPPET_CHARS = 300


def esc(value: object) -> str:
    """HTML-escaped text of any value (crawled strings included)."""
    return html.escape("" if value is None else str(value), quote=True)


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def pct(value: object) -> str:
    """A share as a percentage: two decimals under 1%, one above; 'n/a' when missing."""
    if is_missing(value):
        return "n/a"
    v = float(value) * 100
    if v == 0:
        return "0%"
    return f"{v:.2f}%" if abs(v) < 1 else f"{v:.1f}%"


def ci(low: object, high: object) -> str:
    """A confidence interval as 'low – high' in percent."""
    if is_missing(low) or is_missing(high):
        return "n/a"
    return f"{pct(low)} – {pct(high)}"


def count(value: object) -> str:
    """An integer count with thousands separators."""
    return "n/a" if is_missing(value) else f"{int(value):,}"


def rate(value: object) -> str:
    """A marker rate per million words."""
    return "n/a" if is_missing(value) else f"{float(value):,.1f}"


def num_cell(value: object, shown: str) -> str:
    """A table cell showing `shown`, with the exact number in data-value for tools and tests."""
    if is_missing(value):
        return '<td class="num na">n/a</td>'
    exact = repr(float(value)) if isinstance(value, float | np.floating) else str(int(value))
    return f'<td class="num" data-value="{esc(exact)}">{esc(shown)}</td>'


def text_cell(value: object) -> str:
    return f"<td>{esc(value)}</td>"


def html_table(table_id: str, headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    """An HTML table from escaped headers and ready-made cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table id="{esc(table_id)}">{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'


def link(url: object) -> str:
    """An escaped link for http(s) URLs; anything else (javascript:, data:, ...) as plain escaped text."""
    text = "" if url is None else str(url)
    if urlparse(text).scheme.lower() in ("http", "https"):
        return f'<a href="{esc(text)}" rel="nofollow noopener noreferrer">{esc(text)}</a>'
    return esc(text)


def snippet(text: object, limit: int = SNIPPET_CHARS) -> str:
    """The first ~`limit` characters of a page text, whitespace collapsed, cut at a word boundary."""
    flat = re.sub(r"\s+", " ", "" if text is None else str(text)).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + " …"
