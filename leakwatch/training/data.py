"""What the detector trains and is measured on beyond the labelled folder: the project's LLM web pages and
real pre-ChatGPT web pages; and every text as the pipeline sees it (rendered as a page, then extracted).

Splits, all by a hash of a group id (never by file order):
- labelled corpora: udfs.classifier.is_heldout (20% of sibling groups never trained on);
- LLM web pages (udfs/data/llm_pages_web.jsonl): their `split` field, sha256(LLM_PAGES_SALT:group) mod 4
  (0, 1: train; 2: calibration, held out here; 3: demo, never read here);
- real web pages (web-cc2019, readability): corpus.web_heldout halves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from leakwatch.errors import ConfigError
from leakwatch.training.corpus import WEB_SOURCES, Example, content_key, jsonl_objects, web_heldout
from leakwatch.udfs.classifier import word_count
from leakwatch.udfs.html import decode_html, main_text
from leakwatch.udfs.langid import identify_languages
from leakwatch.validation.pages import page_html

LLM_PAGES_FILE = "llm_pages_web.jsonl"
LLM_PAGES_SALT = "leakwatch-llm-pages-v1"
LLM_PAGES_SPLITS = ("train", "train", "calibration", "demo")
LLM_PAGES_SOURCE = "llm-pages"
# Pages the readability suite added before this date were written before ChatGPT.
PRE_CHATGPT = dt.date(2022, 1, 1)
_DETOK = (
    (re.compile(r" +([,.;:!?%)\]])"), r"\1"),
    (re.compile(r"([(\[$]) +"), r"\1"),
    (re.compile(r" +(n't|'s|'re|'ll|'ve|'m|'d)\b", re.I), r"\1"),
    (re.compile(r"[ \t]{2,}"), " "),
)


def shipped_llm_pages() -> str:
    """Path of the LLM web pages shipped in udfs/data."""
    return str(resources.files("leakwatch.udfs").joinpath(f"data/{LLM_PAGES_FILE}"))


def llm_pages_split(group: str) -> str:
    """'train', 'calibration' or 'demo' of an LLM page group (a light edit's group is its source's id)."""
    digest = hashlib.sha256(f"{LLM_PAGES_SALT}:{group}".encode()).digest()
    return LLM_PAGES_SPLITS[int.from_bytes(digest[:8], "big") % 4]


def read_llm_pages(paths: Iterable[str]) -> list[Example]:
    """LLM web pages (JSONL: id, group, genre, generator, text), the demo split left out; a page whose `split`
    field disagrees with its group's hash is refused (the demo's pages must never be trained on)."""
    examples = []
    for name in paths:
        path = Path(name)
        for number, rec in jsonl_objects(path):
            if not isinstance(rec.get("text"), str) or not rec.get("group") or not rec.get("generator"):
                raise ConfigError(f"{path}:{number}: an LLM page needs string fields 'text', 'group', 'generator'")
            group = str(rec["group"])
            split = llm_pages_split(group)
            if rec.get("split", split) != split:
                raise ConfigError(f"{path}:{number}: split {rec['split']!r} but group {group!r} hashes to {split!r}")
            if split == "demo":
                continue
            examples.append(Example(
                text=rec["text"], llm=True, generator=str(rec["generator"]).lower(),
                domain=f"web:{rec.get('genre') or 'unknown'}", source=LLM_PAGES_SOURCE,
                group=f"{LLM_PAGES_SOURCE}:{group}", heldout=split == "calibration",
                n_words=word_count(rec["text"]), language="en"))
    return examples


def read_web_pages(readability: Path | None) -> list[Example]:
    """The readability suite's pages added before PRE_CHATGPT, extracted from source.html as extract does."""
    if readability is None or not (readability / "added_dates.txt").is_file():
        return []
    examples = []
    for line in (readability / "added_dates.txt").read_text(encoding="utf-8").splitlines():
        date, _, name = line.strip().partition(" ")
        page = readability / "pages" / name.strip() / "source.html"
        if not name.strip() or dt.date.fromisoformat(date) >= PRE_CHATGPT or not page.is_file():
            continue
        text = main_text(decode_html(page.read_bytes(), None)[0])
        group = f"readability:{name.strip()}"
        examples.append(Example(text=text, llm=False, generator="", domain="web", source="readability",
                                group=group, heldout=web_heldout(group), n_words=word_count(text), language=""))
    for e, (lang, _) in zip(examples, identify_languages([e.text for e in examples]), strict=True):
        e.language = lang
    return examples


def detokenize(text: str) -> str:
    """Undo corpus pre-tokenization (" , ", "do n't", double spaces). Web pages never look like that, and in
    some corpora only one label does, which a model would learn instead of authorship."""
    for pattern, replacement in _DETOK:
        text = pattern.sub(replacement, text)
    return text


def pipeline_text(text: str, seed: str) -> str:
    """A labelled text as the pipeline sees it: detokenized, rendered as a page, main content extracted."""
    return main_text(page_html(detokenize(text), random.Random(seed)))


def page_texts(examples: list[Example]) -> list[str]:
    """Each text as the pipeline sees it: real web pages are already extracted page text; every other text
    is rendered as a page (its chrome seeded by its content) and extracted."""
    return [e.text if e.source in WEB_SOURCES or e.source.startswith("negatives") else
            pipeline_text(e.text, content_key(e.text)) for e in examples]
