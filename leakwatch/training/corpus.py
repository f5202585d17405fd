"""The labelled corpus that training and validate read: every *.jsonl of a folder, with sibling
groups, the held-out flag, language and word counts per text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from leakwatch.errors import ConfigError
from leakwatch.udfs.classifier import LLM_LABEL, assign_groups, canonical_generator, is_heldout, word_count
from leakwatch.udfs.langid import identify_language

# ../shared/data/labeled beside the repository (the checkout this module is in).
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "labeled"
# Real pre-ChatGPT web text: measured, never trained on (its FPR would otherwise be in-sample).
EVAL_ONLY_SOURCES = ("web-cc2019",)
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


def read_corpus(data_dir: Path) -> list[Example]:
    """All *.jsonl files of a labelled folder, with sibling groups and the held-out flag."""
    files = sorted(data_dir.glob("*.jsonl"))
    if not files:
        raise ConfigError(f"no *.jsonl files in {data_dir}: pass --labeled DIR with labelled JSONL")
    examples = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            try:
                records = [json.loads(line) for line in fh if line.strip()]
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}: not JSON lines ({exc})") from exc
        missing = [i for i, r in enumerate(records) if not {"text", "label"} <= r.keys()]
        if missing:
            raise ConfigError(f"{path}: line {missing[0] + 1} lacks 'text' or 'label'")
        for rec, group in zip(records, assign_groups(records), strict=True):
            source = path.stem  # the corpus a text came from (web-cc2019's records name their crawl)
            lang = rec.get("lang") or "und"
            examples.append(
                Example(
                    text=rec["text"],
                    llm=rec["label"] == LLM_LABEL,
                    generator=canonical_generator(rec.get("generator") or "") if rec["label"] == LLM_LABEL else "",
                    domain=rec.get("domain") or "unknown",
                    source=source,
                    group=group,
                    heldout=source in EVAL_ONLY_SOURCES or is_heldout(group),
                    n_words=word_count(rec["text"]),
                    language=identify_language(rec["text"])[0] if lang == "und" else lang,
                )
            )
    return examples
