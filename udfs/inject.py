"""The injection test in plain Python: halves of the held-out texts, planned crawls, pages, comparison.

`leakwatch validate` (jobs/validate.py) uses only labelled texts whose sibling group the shipped
model never trained on (`Example.heldout` of jobs.train.read_corpus: udfs.classifier.is_heldout,
plus the eval-only sources). It splits those groups, by a hash of the group id, into a calibration
half (TPR and FPR are measured there) and an injection half (its texts become the pages whose LLM
share is estimated), so the correction is never measured on the texts it corrects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from leakwatch.udfs.classifier import score_frame, word_count
from leakwatch.udfs.html import main_text
from leakwatch.udfs.langid import identify_languages
from leakwatch.udfs.samples import Page, render_page

CALIBRATION = "calibration"
INJECTION = "injection"
SPLIT_SALT = "leakwatch-validate-v1"
# Two crawls before ChatGPT (the negative control) and four after, at growing LLM shares.
DEFAULT_CRAWLS = (
    "CC-MAIN-2021-04", "CC-MAIN-2022-33", "CC-MAIN-2023-14", "CC-MAIN-2023-50", "CC-MAIN-2024-33", "CC-MAIN-2025-30",
)
DEFAULT_SHARES = (0.0, 0.0, 0.05, 0.15, 0.25, 0.35)
# Words a templated near-copy puts in place of a few of the original's (a site template's slots).
TEMPLATE_WORDS = ("Springfield", "Riverside", "Fairview", "Georgetown", "Madison", "Clinton", "Salem", "Franklin")
TLDS = ("com", "org", "net", "co.uk", "de", "info")
# Seconds over which a crawl's pages are fetched (a real crawl takes about two weeks).
CRAWL_SECONDS = 10 * 86400


@dataclass
class ValidateOptions:
    """Settings of `leakwatch validate`."""

    labeled: str | None = None  # folder of labelled *.jsonl; default ../shared/data/labeled beside the repo
    out: str = "validation"  # local folder for shards, warehouse, calibration.json, validation.json/.csv
    crawls: list[str] = field(default_factory=lambda: list(DEFAULT_CRAWLS))
    shares: list[float] = field(default_factory=lambda: list(DEFAULT_SHARES))  # LLM share per crawl, all pages
    docs_per_crawl: int = 2000
    seed: int = 0
    tolerance: float = 0.02  # largest |estimate - truth| allowed per crawl in the captures view
    recrawl_share: float = 0.2  # of a crawl's human pages: earlier crawls' pages captured again
    near_dup_share: float = 0.05  # of a crawl's pages: templated near-copies of its other pages
    pages_per_shard: int = 1000


def split_half(group: str, seed: int) -> str:
    """CALIBRATION or INJECTION for a held-out sibling group: a hash of the group id and the seed."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{seed}:{group}".encode()).digest()
    return CALIBRATION if digest[0] % 2 == 0 else INJECTION


def paragraphs(text: str) -> list[str]:
    """The text's non-empty lines, each a paragraph of the page."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def templated_copy(text: str, variant: int) -> str:
    """The text with about 1% of its words (at least one) replaced by template words, as a site
    that stamps one article onto many pages does; `variant` picks which words."""
    rng = random.Random(f"template:{variant}")
    lines = [line.split(" ") for line in text.split("\n")]
    slots = [(i, j) for i, line in enumerate(lines) for j, w in enumerate(line) if w]
    if not slots:
        return text
    for i, j in rng.sample(slots, max(1, len(slots) // 100)):
        lines[i][j] = rng.choice(TEMPLATE_WORDS)
    return "\n".join(" ".join(line) for line in lines)


def page_html(text: str, rng: random.Random, published: str | None = None) -> str:
    """The HTML page a labelled text becomes: its first words as title, its lines as paragraphs."""
    return render_page(" ".join(text.split()[:8]), paragraphs(text), rng, published=published)


def extracted_text(text: str, seed: str) -> str:
    """The text as the pipeline sees it: rendered as a page, then main content extracted."""
    return main_text(page_html(text, random.Random(seed)))


def scorable_inputs(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """(language, n_words) per text, computed as extract does (lid.176 on the text, whitespace words)."""
    return [code for code, _ in identify_languages(list(texts))], [word_count(t) for t in texts]


def extracted_counts(texts: Sequence[str], llm: Sequence[bool], model: str, threshold: float, seed: str) -> dict:
    """TP/FP counts at `threshold` on the texts as the pipeline sees them (rendered, then extracted)."""
    pages = [extracted_text(t, f"{seed}:{i}") for i, t in enumerate(texts)]
    languages, n_words = scorable_inputs(pages)
    frame = score_frame(pages, languages, n_words, model)
    return {"threshold": threshold, **flag_counts(llm, frame["p_llm"], frame["scored"], threshold)}


def flag_counts(llm: Sequence[bool], p_llm: np.ndarray, scored: np.ndarray, threshold: float) -> dict[str, int]:
    """TP/positives and FP/negatives among scored texts at `p_llm >= threshold`."""
    llm_arr = np.asarray(llm, dtype=bool)
    scored_arr = np.asarray(scored, dtype=bool)
    flagged = scored_arr & (np.nan_to_num(np.asarray(p_llm, dtype=float), nan=-1.0) >= threshold)
    return {
        "tp": int((flagged & llm_arr).sum()),
        "n_pos": int((scored_arr & llm_arr).sum()),
        "fp": int((flagged & ~llm_arr).sum()),
        "n_neg": int((scored_arr & ~llm_arr).sum()),
    }


@dataclass(frozen=True)
class PlannedPage:
    """One capture of the injected crawls: which pool text it shows, where and when."""

    crawl: str
    url: str
    text_id: int  # index into the human or the LLM injection pool (by `llm`)
    llm: bool
    kind: str  # new | recrawl (same URL and text as an earlier crawl's page) | near_dup
    variant: int  # 0: the text as is; k > 0: templated_copy(text, k)
    fetch_offset_s: int  # seconds after the crawl's start


def _cycle(n: int, rng: random.Random) -> Iterator[int]:
    """Pool indices in shuffled rounds: every text is used once before any is used again."""
    while True:
        order = list(range(n))
        rng.shuffle(order)
        yield from order


def plan_crawls(
    n_human: int, n_llm: int, crawls: Sequence[tuple[str, float]], docs_per_crawl: int, seed: int,
    recrawl_share: float = 0.2, near_dup_share: float = 0.05,
) -> list[PlannedPage]:
    """Pages of each (crawl, LLM share), oldest crawl first: round(share * docs) LLM pages, the rest
    human; some human pages are re-crawls of earlier crawls' pages, some pages templated near-copies."""
    rng = random.Random(f"{seed}:plan")
    pools = {False: _cycle(n_human, rng), True: _cycle(n_llm, rng)}
    human_sites = max(2, docs_per_crawl // 8)
    llm_sites = max(1, docs_per_crawl // 25)
    serial = 0

    def url(crawl_index: int, host: str) -> str:
        nonlocal serial
        serial += 1
        return f"https://{host}/articles/{crawl_index}-{serial}.html"

    def site(llm: bool) -> str:
        # LLM text sits on sites of its own (content farms) and, half the time, on ordinary sites.
        if llm and rng.random() < 0.5:
            k = rng.randrange(llm_sites)
            return f"www.hub{k}.{TLDS[k % 2]}"
        k = rng.randrange(human_sites)
        return f"www.site{k}.{TLDS[k % len(TLDS)]}"

    earlier_human: list[PlannedPage] = []
    plan: list[PlannedPage] = []
    for ci, (crawl, share) in enumerate(crawls):
        n_llm_pages = round(share * docs_per_crawl)
        n_human_pages = docs_per_crawl - n_llm_pages
        n_recrawl = min(round(recrawl_share * n_human_pages), len(earlier_human))
        pages = [replace(p, crawl=crawl, kind="recrawl", fetch_offset_s=rng.randrange(CRAWL_SECONDS))
                 for p in rng.sample(earlier_human, n_recrawl)]
        for llm, n in ((False, n_human_pages - n_recrawl), (True, n_llm_pages)):
            n_near = round(near_dup_share * n) if n >= 2 else 0
            fresh = [PlannedPage(crawl, url(ci, site(llm)), next(pools[llm]), llm, "new", 0,
                                 rng.randrange(CRAWL_SECONDS)) for _ in range(n - n_near)]
            near = [PlannedPage(crawl, url(ci, f"www.template{k}.com"), source.text_id, llm, "near_dup",
                                serial, rng.randrange(CRAWL_SECONDS))
                    for k, source in enumerate(rng.choice(fresh) for _ in range(n_near))]
            pages += fresh + near
        earlier_human += [p for p in pages if not p.llm and p.kind == "new"]
        rng.shuffle(pages)
        plan += pages
    return plan


def page_of(planned: PlannedPage, text: str, crawl_start: dt.datetime, seed: int) -> Page:
    """The WARC page of a planned capture (its chrome seeded by seed, crawl and URL)."""
    rng = random.Random(f"{seed}:{planned.crawl}:{planned.url}")
    body = templated_copy(text, planned.variant) if planned.variant else text
    fetched = crawl_start + dt.timedelta(seconds=planned.fetch_offset_s)
    # LLM pages are published shortly before their capture; human ones any time in the last years.
    age_days = rng.randint(0, 60) if planned.llm else rng.randint(0, 1500)
    published = (fetched - dt.timedelta(days=age_days)).date().isoformat()
    return Page(url=planned.url, body=page_html(body, rng, published).encode("utf-8"), fetch_time=fetched)


def compare(
    truth: Sequence[Mapping], estimates: Mapping[tuple[str, str], Mapping], tolerance: float
) -> list[dict]:
    """One row per truth row (crawl x view): truth, estimate, CI, bias, coverage, tolerance check.
    Truth is the LLM share among scored pages, which is what the estimator estimates."""
    rows = []
    for t in truth:
        est = estimates.get((t["crawl"], t["view"])) or {}
        truth_scored = t["n_llm_scored"] / t["n_scored"] if t["n_scored"] else None
        estimate = est.get("prevalence")
        bias = None if estimate is None or truth_scored is None else estimate - truth_scored
        low, high = est.get("ci_low"), est.get("ci_high")
        rows.append({
            "crawl": t["crawl"],
            "pre_chatgpt": t["pre_chatgpt"],
            "view": t["view"],
            "injected_share": t["injected_share"],
            "n_docs": t["n_docs"],
            "n_scored": t["n_scored"],
            "truth_all": t["n_llm"] / t["n_docs"] if t["n_docs"] else None,
            "truth_scored": truth_scored,
            "raw_share": est.get("raw_share"),
            "estimate": estimate,
            "ci_low": low,
            "ci_high": high,
            "bias": bias,
            "covered": None if bias is None or low is None or high is None else low <= truth_scored <= high,
            "within_tolerance": bias is not None and abs(bias) <= tolerance,
        })
    return rows


def passed(rows: Sequence[Mapping]) -> bool:
    """The exit rule: every crawl of the captures view within tolerance (a missing estimate fails)."""
    captures = [r for r in rows if r["view"] == "captures"]
    return bool(captures) and all(r["within_tolerance"] for r in captures)
