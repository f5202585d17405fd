"""The labelled corpus that training and validate read: every *.jsonl of a folder, with sibling
groups, the held-out flag, language and word counts per text.

Real web pages (web-cc2019) are held out by halves: the model trains on one half as hard negatives and
never sees the other (WEB_SALT), which `leakwatch validate` and the card's web FPR use."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from leakwatch.errors import ConfigError
from leakwatch.udfs.classifier import LLM_LABEL, assign_groups, canonical_generator, is_heldout, word_count
from leakwatch.udfs.langid import identify_languages

# ../shared/data/labeled beside the repository (the checkout this module is in).
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "labeled"
# Real pre-ChatGPT web text (shared data): half trained on, half held out by WEB_SALT.
WEB_SOURCES = ("web-cc2019", "readability")
WEB_SALT = "leakwatch-web-heldout-v1"
LABELS = ("human", LLM_LABEL)
# Shorter labelled texts (one-line QA answers) teach little and are never scored anyway.
MIN_TRAIN_WORDS = 20
SOURCES = {
    "l2r": ("CC BY 3.0", "Hao, Li et al., Learning to Rewrite, ACL 2025"),
    "fast-detect-gpt": ("MIT", "Bao et al., Fast-DetectGPT, ICLR 2024"),
    "seqxgpt": ("Apache-2.0", "Wang et al., SeqXGPT, EMNLP 2023"),
    "mgtbench": ("MIT", "He et al., MGTBench, 2023"),
    "web-cc2019": (
        "Apache-2.0 (allenai/dolma test data); page text is third-party web content",
        "one CC-MAIN-2019-30 WARC via allenai/dolma",
    ),
}


@dataclass
class Example:
    """One labelled text with what the splits and slices need."""

    text: str
    llm: bool
    generator: str
    domain: str
    source: str
    group: str
    heldout: bool
    n_words: int
    language: str


def labeled_dir(labeled: str | None) -> Path:
    """--labeled, else ../shared/data/labeled beside the repository; ConfigError when absent."""
    folder = Path(labeled) if labeled else DEFAULT_DATA
    if not folder.is_dir():
        raise ConfigError(f"labelled data folder not found: {folder}: pass --labeled DIR, a folder of *.jsonl "
                          "with text and label (human|llm) per line")
    return folder


def web_heldout(group: str) -> bool:
    """True for the half of the real web pages that no shipped model trains on."""
    return int.from_bytes(hashlib.sha256(f"{WEB_SALT}:{group}".encode()).digest()[:8], "big") % 2 == 1


def content_key(text: str) -> str:
    """A short hash of a text: group ids of texts without siblings."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def json_objects(lines: Iterable[bytes], name: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) of JSONL lines (a file's, or a stream's); blank lines skipped; ConfigError naming
    `name` and the line for text that is not UTF-8, not JSON, or not an object."""
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{name}:{number}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); give JSONL, a JSON "
                              "object per line") from exc
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ConfigError(f"{name}:{number}: expected a JSON object, got {type(record).__name__}")
        yield number, record


def jsonl_objects(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of a JSONL file (json_objects); ConfigError when it cannot be read."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    yield from json_objects(lines, str(path))


def _labelled_records(path: Path) -> list[dict]:
    records = []
    for number, rec in jsonl_objects(path):
        if not isinstance(rec.get("text"), str) or rec.get("label") not in LABELS:
            raise ConfigError(f"{path}:{number}: needs a string 'text' and a 'label' of {' or '.join(LABELS)}")
        records.append(rec)
    return records


def read_corpus(data_dir: Path) -> list[Example]:
    """All *.jsonl files of a labelled folder, with sibling groups and the held-out flag."""
    files = sorted(data_dir.glob("*.jsonl"))
    if not files:
        raise ConfigError(f"no *.jsonl files in {data_dir}: pass --labeled DIR with labelled JSONL")
    examples = []
    for path in files:
        records = _labelled_records(path)
        source = path.stem  # the corpus a text came from (web-cc2019's records name their crawl)
        undetermined = [i for i, r in enumerate(records) if (r.get("lang") or "und") == "und"]
        found = dict(zip(undetermined, identify_languages([records[i]["text"] for i in undetermined]), strict=True))
        for i, (rec, group) in enumerate(zip(records, assign_groups(records), strict=True)):
            llm = rec["label"] == LLM_LABEL
            if source in WEB_SOURCES:
                group = f"{source}:{content_key(rec['text'])}"
            examples.append(
                Example(
                    text=rec["text"],
                    llm=llm,
                    generator=canonical_generator(str(rec.get("generator") or "")) if llm else "",
                    domain=rec.get("domain") or "unknown",
                    source=source,
                    group=group,
                    heldout=web_heldout(group) if source in WEB_SOURCES else is_heldout(group),
                    n_words=word_count(rec["text"]),
                    language=found[i][0] if i in found else rec["lang"],
                )
            )
    return examples
