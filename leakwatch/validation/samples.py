"""The demo's Common-Crawl-like sample shards, with the truth of what they hold.

Human pages carry text written by CPython's authors (the pydoc topics shipped with the standard
library); LLM pages carry the `demo` split of `data/llm_pages_web.jsonl`, web texts written for
leakwatch by an LLM (Claude, 2026). Its `calibration` split never goes into a shard: it is the demo's
LLM component (leakwatch.estimators.components.shipped_llm_pages); the human component is the
pre-ChatGPT sample crawls themselves. Pages are wrapped in page chrome of realistic size: navigation,
sidebar, scripts, footer, ~300-600 tags (leakwatch.validation.pages, which writes the shards too).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from leakwatch.settings import at_least, setting
from leakwatch.validation.pages import Page, human_paragraphs, render_page, write_shard

# Chosen by the demo's measured error (README): at 300 pages every crawl was within 2.1 pp and every interval
# at most 13.0 pp wide over seeds 0-3; at 140 pages the binomial floor alone is wider than 15 pp.
PAGES_PER_CRAWL = 300


@dataclass(frozen=True)
class DemoOptions:
    """The demo's sample shards: where they are built (and cached), and how many pages each crawl has."""

    samples: str = setting(".cache/samples", "folder the sample shards are built in (cached)", metavar="DIR")
    pages_per_crawl: int = setting(PAGES_PER_CRAWL, "pages per sample crawl (the 173 demo-split LLM texts allow up "
                                   "to ~400)", metavar="N", check=at_least(1))
    seed: int = setting(0, "seed of the sample pages (their texts, sites and times); the truth is the shards'",
                        flags=("--sample-seed",), metavar="S")


# The sample crawls: two before ChatGPT (the negative control) and three after, with a growing LLM share.
@dataclass(frozen=True)
class SampleCrawl:
    """One crawl of the sample set: its id, when its capture window opens, and the share of LLM pages."""

    crawl: str
    start: dt.datetime
    llm_share: float


SAMPLE_CRAWLS = (
    SampleCrawl("CC-MAIN-2021-04", dt.datetime(2021, 1, 15, tzinfo=dt.UTC), 0.0),
    SampleCrawl("CC-MAIN-2022-33", dt.datetime(2022, 8, 7, tzinfo=dt.UTC), 0.0),
    SampleCrawl("CC-MAIN-2023-50", dt.datetime(2023, 11, 28, tzinfo=dt.UTC), 0.05),
    SampleCrawl("CC-MAIN-2024-33", dt.datetime(2024, 8, 3, tzinfo=dt.UTC), 0.15),
    SampleCrawl("CC-MAIN-2025-30", dt.datetime(2025, 7, 7, tzinfo=dt.UTC), 0.30),
)
SAMPLES_VERSION = 4  # bump when the same settings would build other pages
LLM_PAGES = "llm_pages_web.jsonl"
DEMO_SPLIT = "demo"
MIN_SCORED_WORDS = 50  # the classifier scores English pages of at least this many words (udfs.classifier)
# Host numbers per TLD (human and mixed sites) and per content-farm prefix: most sites hold one page of a
# crawl, as in a sample of the real web. With 30 and 8 (version 3) ~150 sites held every crawl, and
# resampling them (the bootstrap resamples domains) widened the demo's intervals to 1.3-1.8x the binomial floor.
_SITES, _FARM_SITES = 2000, 250
_TEMPLATE_WORDS = ("local", "trusted", "premier", "friendly", "certified", "leading", "affordable", "expert")


@dataclass(frozen=True)
class SamplePage:
    """A page of the sample set with its truth: who wrote it and which content it carries."""

    page: Page
    title: str
    text: str  # the article text, paragraphs separated by blank lines
    llm: bool
    content: str  # the same for a re-crawl and for a templated near-copy of a page
    scorable: bool  # English with at least MIN_SCORED_WORDS words of main text
    kind: str  # fresh | recrawl | near_copy | stub


def llm_texts(split: str = DEMO_SPLIT) -> list[dict]:
    """The shipped LLM-written web texts of one split of `udfs/data/llm_pages_web.jsonl`, in file order."""
    lines = resources.files("leakwatch.udfs").joinpath(f"data/{LLM_PAGES}").read_text("utf-8").splitlines()
    return [row for row in map(json.loads, filter(str.strip, lines)) if row["split"] == split]


def _count(share: float, n: int) -> int:
    return int(share * n + 0.5)


def _near_copy(text: str, rng: random.Random, changes: int) -> str:
    """The same text with `changes` words swapped for template words: what a templated site does."""
    paragraphs = [p.split(" ") for p in text.split("\n\n")]
    slots = [(i, j) for i, words in enumerate(paragraphs) for j, w in enumerate(words) if w.isalpha() and len(w) > 3]
    for i, j in rng.sample(slots, min(changes, len(slots))):
        paragraphs[i][j] = rng.choice(_TEMPLATE_WORDS)
    return "\n\n".join(" ".join(words) for words in paragraphs)


class _Planner:
    """Draws the pages of each crawl in turn; state carries what earlier crawls held."""

    def __init__(self, seed: int, recrawl_share: float, near_copy_share: float, stub_share: float) -> None:
        self.rng = random.Random(seed)
        self.recrawl_share, self.near_copy_share, self.stub_share = recrawl_share, near_copy_share, stub_share
        self.paragraphs = human_paragraphs()
        self.llm_pool = llm_texts()
        self.rng.shuffle(self.llm_pool)
        self.earlier: dict[bool, list[SamplePage]] = {False: [], True: []}  # first captures, by label
        self.serial = 0

    def _host(self, llm: bool) -> str:
        # LLM text sits mostly on its own sites (content farms), some on sites that also carry human text.
        if llm and self.rng.random() < 0.7:
            prefix = self.rng.choice(["best", "top", "smart", "daily"])
            return f"www.{prefix}{self.rng.randrange(_FARM_SITES)}-guide.com"
        return f"www.site{self.rng.randrange(_SITES)}.{self.rng.choice(['com', 'org', 'net', 'de'])}"

    def _page(self, title: str, text: str, host: str, when: dt.datetime, llm: bool) -> Page:
        self.serial += 1
        published = (when - dt.timedelta(days=self.rng.randint(0, 400))).date().isoformat()
        page_html = render_page(title, text.split("\n\n"), self.rng, published=published)
        path = "post" if llm else "docs"
        url = f"https://{host}/{path}/{self.serial}-{self.rng.randrange(10**6)}.html"
        return Page(url=url, body=page_html.encode("utf-8"), fetch_time=when)

    def _fresh(self, llm: bool, when: dt.datetime, stub: bool) -> SamplePage:
        if llm:
            if not self.llm_pool:
                raise ValueError(
                    f"the {len(llm_texts())} shipped demo LLM texts are used up: "
                    "ask for fewer pages per crawl or lower LLM shares"
                )
            item = self.llm_pool.pop()
            title, text = " ".join(item["text"].split()[:8]), item["text"]
        elif stub:
            # A short notice page: too few words for the classifier, so it is not covered.
            words = self.rng.choice(self.paragraphs).split()[: self.rng.randint(10, 20)]
            title, text = "Notice", " ".join(words)
        else:
            chosen = self.rng.sample(self.paragraphs, self.rng.randint(4, 12))
            title, text = " ".join(chosen[0].split()[:8]), "\n\n".join(chosen)
        page = self._page(title, text, self._host(llm), when, llm)
        return SamplePage(page, title, text, llm, content=page.url, scorable=not stub, kind="stub" if stub else "fresh")

    def crawl(self, spec: SampleCrawl, n_pages: int) -> list[SamplePage]:
        """The pages of one crawl, shuffled: fresh, re-crawled and near-copied, at the crawl's LLM share."""
        n_llm = _count(spec.llm_share, n_pages)
        pages: list[SamplePage] = []
        firsts: dict[bool, list[SamplePage]] = {False: [], True: []}
        for llm, n in ((True, n_llm), (False, n_pages - n_llm)):
            n_re = min(len(self.earlier[llm]), _count(self.recrawl_share, n))
            n_near = _count(self.near_copy_share, n)
            n_stub = 0 if llm else _count(self.stub_share, n)
            for _ in range(n - n_re - n_near):
                when = spec.start + dt.timedelta(seconds=self.rng.randint(0, 12 * 86400))
                fresh = self._fresh(llm, when, stub=n_stub > 0)
                n_stub -= 1
                firsts[llm].append(fresh)
            sources = [p for p in firsts[llm] if p.kind == "fresh"]
            for _ in range(n_near if sources else 0):
                source = self.rng.choice(sources)
                when = spec.start + dt.timedelta(seconds=self.rng.randint(0, 12 * 86400))
                text = _near_copy(source.text, self.rng, 4)
                page = self._page(source.title, text, self._host(llm), when, llm)
                pages.append(SamplePage(page, source.title, text, llm, source.content, source.scorable, "near_copy"))
            for source in self.rng.sample(self.earlier[llm], n_re):
                when = spec.start + dt.timedelta(seconds=self.rng.randint(0, 12 * 86400))
                page = Page(url=source.page.url, body=source.page.body, fetch_time=when)
                pages.append(
                    SamplePage(page, source.title, source.text, llm, source.content, source.scorable, "recrawl")
                )
            pages += firsts[llm]
        for llm in (False, True):
            self.earlier[llm] += firsts[llm]
        self.rng.shuffle(pages)
        return pages


def plan_samples(
    crawls: Iterable[SampleCrawl] = SAMPLE_CRAWLS,
    pages_per_crawl: int = PAGES_PER_CRAWL,
    seed: int = 0,
    recrawl_share: float = 0.15,
    near_copy_share: float = 0.05,
    stub_share: float = 0.04,
) -> dict[str, list[SamplePage]]:
    """The pages of every sample crawl, oldest first, deterministic from `seed`."""
    planner = _Planner(seed, recrawl_share, near_copy_share, stub_share)
    return {spec.crawl: planner.crawl(spec, pages_per_crawl) for spec in sorted(crawls, key=lambda s: s.start)}


def _shares(pages: list[SamplePage]) -> dict:
    scorable = [p for p in pages if p.scorable]
    n_llm, n_scorable_llm = sum(p.llm for p in pages), sum(p.llm for p in scorable)
    return {
        "pages": len(pages),
        "llm_pages": n_llm,
        "share": n_llm / len(pages) if pages else None,
        "scorable_pages": len(scorable),
        "scorable_llm_pages": n_scorable_llm,
        "scorable_share": n_scorable_llm / len(scorable) if scorable else None,
    }


def sample_truth(plan: dict[str, list[SamplePage]]) -> dict[str, dict]:
    """Per crawl and view (captures, unique, first_seen): pages, LLM pages and their shares."""
    from leakwatch.schemas.values import is_pre_chatgpt

    truth, seen = {}, set()
    for crawl, pages in plan.items():
        unique = list({p.content: p for p in pages}.values())
        first_seen = [p for p in pages if p.content not in seen]
        truth[crawl] = {
            "pre_chatgpt": is_pre_chatgpt(crawl),
            "kinds": {k: sum(p.kind == k for p in pages) for k in ("fresh", "stub", "recrawl", "near_copy")},
            "captures": _shares(pages),
            "unique": _shares(unique),
            "first_seen": _shares(first_seen),
        }
        seen |= {p.content for p in pages}
    return truth


def sample_settings(
    crawls: Iterable[SampleCrawl] = SAMPLE_CRAWLS, pages_per_crawl: int = PAGES_PER_CRAWL, seed: int = 0
) -> dict:
    """What makes a sample set: the same settings, the same shards (`truth.json`'s `settings`)."""
    return {
        "version": SAMPLES_VERSION,
        "seed": seed,
        "pages_per_crawl": pages_per_crawl,
        "crawls": {c.crawl: {"start": c.start.isoformat(), "llm_share": c.llm_share} for c in crawls},
    }


def build_samples(
    folder: Path, crawls: Iterable[SampleCrawl] = SAMPLE_CRAWLS, pages_per_crawl: int = PAGES_PER_CRAWL, seed: int = 0
) -> tuple[list[Path], dict]:
    """Write one shard per crawl and `truth.json` into `folder`, unless the same set is already there."""
    crawls = tuple(crawls)
    settings = sample_settings(crawls, pages_per_crawl, seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth_path = folder / "truth.json"
    shards = [folder / f"{c.crawl}-sample-00000.warc.gz" for c in sorted(crawls, key=lambda s: s.start)]
    if truth_path.exists() and all(p.exists() for p in shards):
        truth = json.loads(truth_path.read_text("utf-8"))
        if truth.get("settings") == settings:
            return shards, truth
    plan = plan_samples(crawls, pages_per_crawl, seed)
    for path, (crawl, pages) in zip(shards, plan.items(), strict=True):
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            write_shard(out, crawl, (p.page for p in pages), created=min(p.page.fetch_time for p in pages))
        os.replace(tmp, path)
    truth = {
        "settings": settings,
        "sources": {
            "human": "CPython documentation text (pydoc_data topics), PSF licence",
            "llm": "udfs/data/llm_pages_web.jsonl (split demo), written for leakwatch by an LLM (Claude) in 2026",
        },
        "views": {
            "captures": "every page of the crawl",
            "unique": "one page per content (a re-crawl or a templated near-copy is the same content)",
            "first_seen": "pages whose content no earlier sample crawl held",
        },
        "crawls": sample_truth(plan),
    }
    tmp = truth_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(truth, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, truth_path)
    return shards, truth
