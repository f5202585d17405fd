"""The demo's sample shards: the shipped LLM pages, the truth of what the shards hold, their
determinism and cache, and the LLM component that no shard holds."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from leakwatch.estimators.components import default_llm_texts, shipped_llm_pages
from leakwatch.validation.samples import SampleCrawl, build_samples, llm_texts
from tests.labeled import write_labeled

A, B, C = "CC-MAIN-2021-04", "CC-MAIN-2023-50", "CC-MAIN-2024-33"
CRAWLS = (
    SampleCrawl(A, dt.datetime(2021, 1, 15, tzinfo=dt.UTC), 0.0),
    SampleCrawl(B, dt.datetime(2023, 11, 28, tzinfo=dt.UTC), 0.2),
    SampleCrawl(C, dt.datetime(2024, 8, 3, tzinfo=dt.UTC), 0.4),
)


def responses(path: Path) -> list[tuple[str, str]]:
    """(url, html) of every response record of a WARC file."""
    with open(path, "rb") as fh:
        return [
            (r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read().decode("utf-8"))
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        ]


def article_words(page_html: str) -> list[str]:
    article = page_html.split("<article>", 1)[1].split("</article>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", article)).split()


def test_shipped_llm_pages_are_web_texts_of_the_promised_shape():
    texts = llm_texts()
    assert len(texts) == 173 and len({t["text"] for t in texts}) == 173
    assert len({t["genre"] for t in texts}) >= 20 and {t["generator"] for t in texts} == {"claude"}
    assert all(50 <= t["n_words"] <= 1000 for t in texts)


def test_sample_truth_matches_the_pages_in_the_shards(tmp_path):
    shards, truth = build_samples(tmp_path, CRAWLS, pages_per_crawl=40, seed=5)
    llm_vocab = [set(t["text"].split()) for t in llm_texts()]
    seen: dict[str, str] = {}
    for shard, spec in zip(shards, CRAWLS, strict=True):
        pages = responses(shard)
        expected = truth["crawls"][spec.crawl]
        words = [article_words(body) for _, body in pages]
        # An LLM page is one whose article shares nearly all its words with a shipped LLM text (near-copies too).
        is_llm = [max(len(set(w) & v) / len(set(w) | v) for v in llm_vocab) > 0.8 for w in words]
        scorable = [len(w) >= 50 for w in words]
        captures = expected["captures"]
        assert len(pages) == captures["pages"] == 40
        assert sum(is_llm) == captures["llm_pages"] == int(spec.llm_share * 40 + 0.5)
        assert sum(scorable) == captures["scorable_pages"] < 40  # a few short stub pages are not covered
        assert sum(a and b for a, b in zip(is_llm, scorable, strict=True)) == captures["scorable_llm_pages"]
        assert captures["scorable_share"] == captures["scorable_llm_pages"] / captures["scorable_pages"]
        assert expected["pre_chatgpt"] == (spec.crawl == A)
        recrawled = sum(seen.get(url) == body for url, body in pages)
        assert recrawled == expected["kinds"]["recrawl"] and (recrawled > 0) == (spec.crawl != A)
        assert expected["first_seen"]["pages"] == 40 - recrawled
        assert expected["kinds"]["near_copy"] > 0 and expected["unique"]["pages"] < 40
        seen.update(pages)


def test_samples_are_deterministic_cached_and_seeded(tmp_path):
    one, truth_one = build_samples(tmp_path / "one", CRAWLS, pages_per_crawl=20, seed=3)
    two, truth_two = build_samples(tmp_path / "two", CRAWLS, pages_per_crawl=20, seed=3)
    assert truth_one == truth_two
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    stamps = [p.stat().st_mtime_ns for p in one]
    build_samples(tmp_path / "one", CRAWLS, pages_per_crawl=20, seed=3)
    assert [p.stat().st_mtime_ns for p in one] == stamps  # cached: not written again
    other, _ = build_samples(tmp_path / "one", CRAWLS, pages_per_crawl=20, seed=4)
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in two]


def test_samples_refuse_more_llm_pages_than_were_shipped(tmp_path):
    crawls = (SampleCrawl(C, dt.datetime(2024, 8, 3, tzinfo=dt.UTC), 0.9),)
    with pytest.raises(ValueError, match="173 shipped demo LLM texts are used up"):
        build_samples(tmp_path, crawls, pages_per_crawl=250)


def test_the_demo_llm_component_is_held_out_of_every_shard():
    component = shipped_llm_pages()
    demo = llm_texts()
    assert len(component) == 179 and {t.generator for t in component} == {"claude"}
    assert not {t.text for t in component} & {t["text"] for t in demo}
    # An edit and its source are one group, on one side: no group is in both.
    assert not {t.group.split(":", 1)[1] for t in component} & {t["group"] for t in demo}


def test_the_default_llm_component_leaves_out_what_the_card_says_was_never_trained_on(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKWATCH_CACHE", str(tmp_path / "cache"))
    (tmp_path / "labeled").mkdir()
    labeled = write_labeled(tmp_path / "labeled")  # held-out LLM groups of generator "testbot"
    model = tmp_path / "m.ftz"
    (tmp_path / "m.card.json").write_text(json.dumps({"data": {"excluded_generators": ["testbot"]}}))
    # a model without a card (or a card without the list) leaves the component whole
    every = default_llm_texts(labeled, tmp_path / "nocard.ftz")
    assert {"testbot", "claude"} <= {t.generator for t in every}
    kept = default_llm_texts(labeled, model)
    assert {t.generator for t in kept} == {"claude"}
    assert len(kept) == len(shipped_llm_pages()) == sum(t.generator == "claude" for t in every)


def test_most_sites_of_a_demo_crawl_hold_one_page():
    # The bootstrap resamples domains: a sample web of a few busy sites would make the demo's intervals
    # wider than a real crawl sample, where nearly every page comes from its own site.
    from collections import Counter
    from urllib.parse import urlsplit

    from leakwatch.validation.samples import PAGES_PER_CRAWL, plan_samples

    for crawl, pages in plan_samples(pages_per_crawl=PAGES_PER_CRAWL).items():
        per_site = Counter(urlsplit(p.page.url).hostname for p in pages)
        one_page_sites = sum(n == 1 for n in per_site.values())
        assert one_page_sites >= 0.8 * len(per_site), crawl
        assert max(per_site.values()) <= 4, crawl
