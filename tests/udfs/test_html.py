"""Publication dates from <meta> and JSON-LD: what counts, what is refused."""

from __future__ import annotations

import datetime as dt

from leakwatch.udfs.html import _DATE_HINT, _DATE_KEYS, published_date

FETCHED = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def page(head: str) -> str:
    return f"<html><head>{head}</head><body><p>text</p></body></html>"


def test_meta_keys_in_any_attribute_order_and_case():
    assert published_date(page('<meta property="article:published_time" content="2023-05-04T10:00:00Z">'),
                           FETCHED) == "2023-05-04"
    assert published_date(page("<META CONTENT='20220102' NAME='DC.Date.Issued'>"), FETCHED) == "2022-01-02"
    assert published_date(page('<meta itemprop="datePublished" content="2021-12-31">'), FETCHED) == "2021-12-31"


def test_other_meta_tags_are_not_dates():
    head = '<meta name="viewport" content="2023-05-04"><meta property="og:updated_time" content="2023-05-04">'
    assert published_date(page(head), FETCHED) is None


def test_json_ld_when_no_meta_date():
    head = '<script type="application/ld+json">{"@type": "Article", "datePublished": "2020-07-08T09:00"}</script>'
    assert published_date(page(head), FETCHED) == "2020-07-08"


def test_dates_after_the_fetch_or_before_the_web_are_refused():
    assert published_date(page('<meta name="date" content="2024-06-01">'), FETCHED) is None
    assert published_date(page('<meta name="date" content="1985-06-01">'), FETCHED) is None
    assert published_date(page('<meta name="date" content="2023-02-30">'), FETCHED) is None


def test_every_date_key_passes_the_prefilter():
    # published_date parses only <meta> tags that hold one of these words: no key may lack them all.
    assert all(_DATE_HINT.search(key) for key in _DATE_KEYS)
