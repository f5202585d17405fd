"""Planning the injection test: halves of the held-out texts, the planned crawls and their pages, the
shards they are written to, and the checks of validate's settings and output folder.

`leakwatch validate` (jobs/validate.py) uses only labelled texts whose sibling group the shipped
model never trained on (`Example.heldout` of leakwatch.training.corpus: udfs.classifier.is_heldout,
plus the eval-only sources). It splits those groups, by a hash of the group id, into a calibration
half (its LLM texts join the LLM component the estimators compare with) and an injection half (its
texts become the pages whose LLM share is estimated), so no estimate is compared with its own texts.
The human component is the injected pre-ChatGPT crawls themselves, as in real use.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import random
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from leakwatch.crawls import load_crawls
from leakwatch.errors import ConfigError
from leakwatch.schemas.values import is_pre_chatgpt
from leakwatch.settings import setting
from leakwatch.training.corpus import Example, read_corpus
from leakwatch.validation.pages import Page, page_html, write_shard

if TYPE_CHECKING:
    from leakwatch.estimators.components import LabelledText

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
# A folder validate wrote holds this file; validate refuses to clear a folder without it.
MARKER = ".leakwatch-validate"
COMPONENT_FILE = "llm_component.jsonl"  # the LLM component's texts, as `leakwatch stats --llm-texts` reads them


@dataclass(frozen=True)
class ValidateOptions:
    """The injection test: its output folder, the crawls it builds, and what passes."""

    validation_dir: str | None = setting(None, "output folder (required): shards/, warehouse/, llm_component.jsonl, "
                                         "pages.csv, validation.json and .csv", metavar="DIR")
    crawls: tuple[str, ...] = setting(DEFAULT_CRAWLS, "crawl ids to build", nargs="+", metavar="ID")
    shares: tuple[float, ...] = setting(DEFAULT_SHARES, "LLM share of each crawl's pages, one per --crawls",
                                        nargs="+", metavar="SHARE")
    docs_per_crawl: int = setting(2000, "pages per crawl", metavar="N")
    injection_seed: int = setting(0, "seed of the calibration/injection split, the crawl plan and the pages",
                                  metavar="S")
    tolerance: float = setting(0.02, "largest |estimate - truth| per crawl of the captures view", metavar="X")
    recrawl_share: float = setting(0.2, "share of a crawl's human pages re-captured from earlier crawls", metavar="X")
    near_dup_share: float = setting(0.05, "share of a crawl's pages that are templated near-copies", metavar="X")
    pages_per_shard: int = setting(1000, "pages per WARC shard", metavar="N")
    human_drift: float = setting(0.0, "tilt of the human pages' mix over their sources from the first crawl to the "
                                 "last (0: the same mix in every crawl; 1: each source's weight changes up to e-fold)",
                                 metavar="X")


def split_half(group: str, seed: int) -> str:
    """CALIBRATION or INJECTION for a held-out sibling group: a hash of the group id and the seed."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{seed}:{group}".encode()).digest()
    return CALIBRATION if digest[0] % 2 == 0 else INJECTION


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


def _human_draw(sources: Sequence[str], drift: float, rng: random.Random) -> Callable[[float], int]:
    """A function of the crawl's place t in [-1, 1] that returns the next human pool index. Without drift
    every text comes up in turn; with drift, source s is drawn with weight exp(drift * z_s * t), z_s = +1
    or -1 alternately over the sorted sources, so the human mix moves from crawl to crawl."""
    if not drift:
        cycle = _cycle(len(sources), rng)
        return lambda t: next(cycle)
    names = sorted(set(sources))
    members = {name: [i for i, s in enumerate(sources) if s == name] for name in names}
    cycles = {name: _cycle(len(members[name]), rng) for name in names}
    sizes = [len(members[name]) for name in names]

    def draw(t: float) -> int:
        weights = [n * math.exp(drift * (1 if k % 2 else -1) * t) for k, n in enumerate(sizes)]
        name = rng.choices(names, weights)[0]
        return members[name][next(cycles[name])]

    return draw


def plan_crawls(
    human_sources: Sequence[str], n_llm: int, crawls: Sequence[tuple[str, float]], docs_per_crawl: int, seed: int,
    recrawl_share: float = 0.2, near_dup_share: float = 0.05, human_drift: float = 0.0,
) -> list[PlannedPage]:
    """Pages of each (crawl, LLM share), oldest crawl first: round(share * docs) LLM pages, the rest
    human; some human pages are re-crawls of earlier crawls' pages, some pages templated near-copies.
    `human_sources` names each human pool text's source; `human_drift` tilts the human mix over them
    from the first crawl to the last (_human_draw)."""
    rng = random.Random(f"{seed}:plan")
    human, llm_cycle = _human_draw(human_sources, human_drift, rng), _cycle(n_llm, rng)
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
        place = 2 * ci / (len(crawls) - 1) - 1 if len(crawls) > 1 else 0.0
        n_llm_pages = round(share * docs_per_crawl)
        n_human_pages = docs_per_crawl - n_llm_pages
        n_recrawl = min(round(recrawl_share * n_human_pages), len(earlier_human))
        pages = [replace(p, crawl=crawl, kind="recrawl", fetch_offset_s=rng.randrange(CRAWL_SECONDS))
                 for p in rng.sample(earlier_human, n_recrawl)]
        for llm, n in ((False, n_human_pages - n_recrawl), (True, n_llm_pages)):
            n_near = round(near_dup_share * n) if n >= 2 else 0
            fresh = [PlannedPage(crawl, url(ci, site(llm)), next(llm_cycle) if llm else human(place), llm, "new", 0,
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


def check_options(options: ValidateOptions) -> list[tuple[str, float]]:
    """(crawl, share) pairs, oldest first, after checking the flags; ConfigError says what to fix."""
    if not options.validation_dir:
        raise ConfigError("validate needs an output folder: pass --validation-dir DIR (or validation_dir under "
                          "[validate] in the config file)")
    if len(options.crawls) != len(options.shares):
        raise ConfigError(f"--crawls lists {len(options.crawls)} crawls but --shares {len(options.shares)} shares: "
                          "give one share per crawl")
    known = {c["id"] for c in load_crawls()}
    for crawl, share in zip(options.crawls, options.shares, strict=True):
        if crawl not in known:
            raise ConfigError(f"--crawls: {crawl!r} is not a known crawl id (see `leakwatch crawls`)")
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"--shares: {share} for {crawl} is not a share between 0 and 1")
        if share and is_pre_chatgpt(crawl):
            raise ConfigError(f"--shares: {crawl} is a pre-ChatGPT crawl (the negative control): its share must be 0")
    if len(set(options.crawls)) != len(options.crawls):
        raise ConfigError("--crawls: a crawl is listed twice")
    if options.docs_per_crawl < 2:
        raise ConfigError("--docs-per-crawl must be at least 2")
    if not 0.0 <= options.recrawl_share < 1.0 or not 0.0 <= options.near_dup_share < 0.5:
        raise ConfigError("--recrawl-share must be in [0, 1) and --near-dup-share in [0, 0.5)")
    return sorted(zip(options.crawls, options.shares, strict=True))


def prepare_out(out: Path) -> None:
    """Create OUT; clear the shards and warehouse of an earlier validate run there, never anything else."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ConfigError(f"{out} exists and was not written by `leakwatch validate`: pass a new or empty "
                          "--validation-dir")
    for sub in ("shards", "warehouse"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by leakwatch validate; rerunning it here replaces shards/ and warehouse/\n")


def halves(examples: Sequence[Example], seed: int) -> dict[str, list[Example]]:
    """The held-out examples by half (CALIBRATION, INJECTION); training-pool examples are dropped."""
    out: dict[str, list[Example]] = {CALIBRATION: [], INJECTION: []}
    for e in examples:
        if e.heldout:
            out[split_half(e.group, seed)].append(e)
    return out


def write_shards(
    folder: Path, plan: Sequence[PlannedPage], pools: dict[bool, list[Example]], seed: int, pages_per_shard: int,
) -> list[Path]:
    """The planned pages as CC-style WARC shards, `pages_per_shard` per file, crawl id in the name."""
    starts = {c["id"]: dt.datetime.fromisoformat(c["from"]).replace(tzinfo=dt.UTC) for c in load_crawls()}
    folder.mkdir(parents=True, exist_ok=True)
    by_crawl: dict[str, list[PlannedPage]] = {}
    for p in plan:
        by_crawl.setdefault(p.crawl, []).append(p)
    paths = []
    for crawl, pages in by_crawl.items():
        for k in range(0, len(pages), pages_per_shard):
            path = folder / f"{crawl}-validate-{k // pages_per_shard:05d}.warc.gz"
            with open(path, "wb") as fh:
                write_shard(fh, crawl, (page_of(p, pools[p.llm][p.text_id].text, starts[crawl], seed)
                                        for p in pages[k:k + pages_per_shard]))
            paths.append(path)
    return paths


def write_manifest(path: Path, plan: Sequence[PlannedPage], pools: dict[bool, list[Example]]) -> None:
    """OUT/pages.csv: every planned capture with its label and where its text came from."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["crawl", "url", "llm", "kind", "source", "generator", "domain"])
        for p in plan:
            e = pools[p.llm][p.text_id]
            writer.writerow([p.crawl, p.url, int(p.llm), p.kind, e.source, e.generator, e.domain])


@dataclass(frozen=True)
class Injection:
    """The injection test's inputs, written: the plan, the pools its pages come from, the LLM component's
    texts (the calibration half's LLM texts and the project's LLM web pages' calibration split) and their
    file, and the shards."""

    plan: list[PlannedPage]
    pools: dict[bool, list[Example]]
    component: list[LabelledText]
    component_file: Path
    shards: list[Path]


def prepare_injection(options: ValidateOptions, crawls: list[tuple[str, float]], folder: Path, out: Path,
                      model: str, say: Callable[[str], None]) -> Injection:
    """Split the held-out texts, plan the crawls, and write OUT/llm_component.jsonl, OUT/pages.csv and
    OUT/shards/. The component holds the generators `model` trained on, as stats' default one does; the
    crawls get every generator's texts."""
    examples = read_corpus(folder)
    half = halves(examples, options.injection_seed)
    pools = {llm: [e for e in half[INJECTION] if e.llm == llm] for llm in (False, True)}
    # Here, not at the top: the CLI imports this module for ValidateOptions, and components imports pandas.
    from leakwatch.estimators.components import LabelledText, of_trained_generators, shipped_llm_pages, write_llm_texts

    component = [LabelledText(e.text, True, e.generator, e.group, e.source) for e in half[CALIBRATION] if e.llm]
    component = of_trained_generators(component + shipped_llm_pages(), model)
    say(f"{len(examples)} labelled texts; held out of training: {len(half[INJECTION])} to inject, "
        f"{len(component)} LLM texts of the generators the model trained on for the LLM component (with the LLM "
        "web pages' calibration split)")
    if not pools[False] or (not pools[True] and any(share for _, share in crawls)):
        raise ConfigError(f"{folder}: the injection half has {len(pools[False])} human and {len(pools[True])} LLM "
                          "held-out texts; it needs both: use more labelled data")
    component_file = write_llm_texts(out / COMPONENT_FILE, component)
    plan = plan_crawls([e.source for e in pools[False]], len(pools[True]), crawls, options.docs_per_crawl,
                       options.injection_seed, options.recrawl_share, options.near_dup_share, options.human_drift)
    write_manifest(out / "pages.csv", plan, pools)
    shards = write_shards(out / "shards", plan, pools, options.injection_seed, options.pages_per_shard)
    say(f"{len(plan)} pages in {len(shards)} shards for {len(crawls)} crawls")
    return Injection(plan, pools, component, component_file, shards)
