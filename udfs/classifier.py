"""The synthetic-text classifier, in plain Python: text form, scoring, sibling groups, held-out split.

Training (leakwatch/training/) and scoring (jobs/classify.py, leakwatch/score.py) both go through
`classifier_text`, so the model sees the same token stream in both; udfs/scoring.py turns a model's output
into P(LLM). Nothing here imports Spark.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leakwatch.errors import ConfigError
from leakwatch.settings import at_least, setting
from leakwatch.udfs.scoring import Scorer, not_scored_reason, scorer_from, scoring_json
from leakwatch.udfs.text import words

if TYPE_CHECKING:
    import pandas as pd

# Only English is scored; other languages get p_llm null and scored false.
SCORED_LANGUAGE = "en"
# Below this many whitespace-separated words a score is noise (see the model card).
MIN_WORDS = 50
# The model reads the first MAX_TOKENS tokens: the training texts are mostly shorter, and it caps
# the cost of a 20,000-word page at that of a 500-word one.
MAX_TOKENS = 512
LABEL_PREFIX = "__label__"
LLM_LABEL = "llm"
HUMAN_LABEL = "human"

MODEL_FILE = "leakwatch-llm-v2.ftz"
# The text form of classifier_text, recorded in model cards (v1 models were trained before bullets and control
# characters were dropped; those rarely occur in extracted pages, so v1 reads this form too).
TEXT_FORM = "classifier_text/2"
# Shipped beside the packages (models/ is a package so wheels carry it); see default_model_path.
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / MODEL_FILE
CARD_SCHEMAS = {1: Path(__file__).resolve().parent / "data" / "model_card_v1.schema.json",
                2: Path(__file__).resolve().parent / "data" / "model_card.schema.json"}

# Sibling groups and the held-out split: bump GROUPING_VERSION when a rule below changes.
GROUPING_VERSION = "groups1"
OPENING_WORDS = 8
HELDOUT_PERCENT = 20
HELDOUT_SALT = "leakwatch-heldout-v1"
# How each source's LLM texts relate to its human texts, read from the files' own layout:
# l2r lists each domain as equal-length blocks (one per generator, then human) where the i-th text
# of every block is a rewrite of the same original; fast-detect-gpt and mgtbench interleave a
# human text with the LLM text made from it. Shared openings (continuations, repeated SQuAD
# paragraphs, duplicates) join groups in every source.
SIBLING_RULES = {"l2r": "same_position", "fast-detect-gpt": "adjacent_pair", "mgtbench": "adjacent_pair"}
# One model under two names is one generator for leave-one-generator-out.
GENERATOR_ALIASES = {
    "gpt-3-turbo": "gpt-3.5-turbo",  # l2r's name for GPT-3.5-Turbo (its README)
    "gpt2": "gpt2-xl",  # SeqXGPT's GPT-2 is the 1.5B model
    "gptneo": "gpt-neo-2.7b",
    "gptj": "gpt-j-6b",
}

_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
_DIGIT = re.compile(r"\d")
# A list marker at a line's start: the extractor drops <li> bullets on real pages, so a bullet in the text is
# the trace of how a text was rendered, not of who wrote it.
_BULLET = re.compile(r"^[ \t]*(?:[-*\u2022\u00b7\u25aa\u2013]|\d{1,2}[.)])[ \t]+", re.M)
# Control characters (but tab and newline) and lone surrogates (from JSON escapes of broken UTF-8).
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Enough characters for MAX_TOKENS tokens of any ordinary text; avoids tokenizing huge pages.
_CHARS_PER_TOKEN = 12


@dataclass(frozen=True)
class ClassifyOptions:
    """The classifier `classify`, `score` and the pipelines use."""

    model: str | None = setting(None, "fasttext .ftz", metavar="PATH",
                                default_help="the shipped model, or $LEAKWATCH_MODEL")
    # Rows per Arrow batch into the scoring UDF: pages can be long, and 4,096 of them at a time
    # (Spark's default) can hold hundreds of MB in one Python worker.
    batch_rows: int = setting(1024, "rows per Arrow batch into the scoring UDF", metavar="N", check=at_least(1))


class ModelMissing(FileNotFoundError):
    """The classifier model file is not where it was looked for."""


def classifier_text(text: str) -> str:
    """The one text form the model is trained and scored on (TEXT_FORM): line-initial list bullets, control
    characters and lone surrogates dropped, NFKC, lowercase, punctuation as tokens, digits as 0, first
    MAX_TOKENS tokens on one line."""
    text = _BULLET.sub("", _UNPRINTABLE.sub(" ", text[: MAX_TOKENS * _CHARS_PER_TOKEN]))
    # Splitting punctuation off and lowercasing removes spacing/casing conventions that differ
    # between the corpora (pre-tokenized " , " in some human sets) rather than between authors.
    text = unicodedata.normalize("NFKC", text).lower()
    # Tokens never span whitespace, so the text is tokenized word by word: a word of letters only
    # (every letter matches _TOKEN's first alternative) is one token without the regex, and every
    # word gives at least one token, so the first MAX_TOKENS words are all that is needed.
    # The same tokens as _TOKEN.findall over the whole text, ~4x faster.
    tokens: list[str] = []
    for word in text.split(None, MAX_TOKENS)[:MAX_TOKENS]:
        if word.isalpha():
            tokens.append(word)
        else:
            tokens += _TOKEN.findall(_DIGIT.sub("0", word))
    return " ".join(tokens[:MAX_TOKENS])


def word_count(text: str) -> int:
    """Whitespace-separated words: the same count as the documents table's n_words."""
    return len(text.split())


def is_scorable(language: str | None, n_words: int) -> bool:
    """True when a document is English and long enough to get a score."""
    return language == SCORED_LANGUAGE and n_words >= MIN_WORDS


def canonical_generator(name: str) -> str:
    """Generator name in one spelling across sources (lowercase, aliases resolved)."""
    name = name.strip().lower()
    return GENERATOR_ALIASES.get(name, name)


def default_model_path() -> Path:
    """$LEAKWATCH_MODEL, else the model shipped in models/ beside the packages."""
    return Path(os.environ.get("LEAKWATCH_MODEL") or DEFAULT_MODEL)


@functools.lru_cache(maxsize=4)
def load_model(path: str):
    """Load a fasttext model once per process (executors keep it across batches)."""
    import fasttext

    if not Path(path).is_file():
        raise ModelMissing(
            f"classifier model not found at {path}: pass --model PATH, set LEAKWATCH_MODEL, "
            "or train one with `leakwatch train`"
        )
    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silences a harmless load warning
    return fasttext.load_model(path)


@functools.lru_cache(maxsize=4)
def load_scorer(path: str, block: str | None) -> Scorer:
    """The Scorer of a model file and its card's scoring block (canonical JSON, or None for a v1 model)."""
    return scorer_from(load_model(path), json.loads(block) if block else None)


def scorer(path: str) -> Scorer:
    """The Scorer of a model file, with the calibration of the card beside it (none: fasttext's P(llm))."""
    return load_scorer(path, scoring_json(path))


def resolve_model(path: str | None) -> tuple[Path, str]:
    """(model path, model id) after checking on the driver that the model and its card's scoring block load."""
    model = Path(path) if path else default_model_path()
    try:
        scorer(str(model))
    except ModelMissing as exc:
        raise ConfigError(str(exc)) from exc
    except ValueError as exc:
        raise ConfigError(f"{model} is not a fasttext model ({exc}): pass --model a .ftz from `leakwatch train`, or "
                          "leave it out for the shipped model") from exc
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"the card beside {model} has a broken scoring block ({exc}): retrain or restore it") from exc
    return model, model_id(str(model))


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_id(path: str, block: str | None = None) -> str:
    """Content id of a model: 'sha256:' and 16 hex digits of the digest of its file and, for a v2 model, of its
    card's scoring block (which changes its scores). `block`: that block as canonical JSON, when the card is
    not written yet; default: read from the card beside the model."""
    stat = Path(path).stat()
    digest = _file_digest(path, stat.st_size, stat.st_mtime)
    block = block if block is not None else scoring_json(path)
    if block:
        digest = hashlib.sha256(f"{digest}\n{block}".encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def predict_llm(model, texts: Sequence[str]) -> np.ndarray:
    """fasttext's own P(llm) of raw texts (no eligibility check, no calibration), one batch call."""
    return scorer_from(model, None).raw_p_llm([classifier_text(t) for t in texts])


def score_frame(
    texts: Sequence[str], languages: Sequence[str | None], n_words: Sequence[int], model_path: str
) -> pd.DataFrame:
    """Columns p_llm (NaN when not scored), scored and not_scored (why not: empty, not_english, too_short;
    None when scored) for a batch of documents."""
    import pandas as pd  # here, not at the top: the command line imports this module for its settings

    reasons = [not_scored_reason(lang, int(n), SCORED_LANGUAGE, MIN_WORDS) for lang, n in
               zip(languages, n_words, strict=True)]
    scored = np.array([r is None for r in reasons], dtype=bool)
    p_llm = np.full(len(scored), np.nan)
    if scored.any():
        chosen = [classifier_text(t) for t, keep in zip(texts, scored, strict=True) if keep]
        p_llm[scored] = scorer(model_path).p_llm(chosen)
    return pd.DataFrame({"p_llm": p_llm, "scored": scored, "not_scored": reasons})


def _union_find(n: int):
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    return find, union


def assign_groups(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Sibling-group id of each record (in file order, as read): a human text and the LLM texts
    made from it share one, so splits by group never leak. Rules: SIBLING_RULES + shared opening."""
    find, union = _union_find(len(records))
    first_with: dict[tuple, int] = {}

    def join(key: tuple, i: int) -> None:
        if key in first_with:
            union(i, first_with[key])
        else:
            first_with[key] = i

    run_key, run_start = None, 0
    for i, rec in enumerate(records):
        source = rec.get("source", "")
        join(("opening", " ".join(words(rec["text"])[:OPENING_WORDS])), i)
        rule = SIBLING_RULES.get(source)
        key = (source, rec.get("domain", ""), rec.get("label", ""), rec.get("generator", ""))
        if key != run_key:
            run_key, run_start = key, i
        if rule == "same_position":
            join(("position", source, rec.get("domain", ""), i - run_start), i)
        elif rule == "adjacent_pair" and i and rec.get("label") == LLM_LABEL:
            prev = records[i - 1]
            if (prev.get("label"), prev.get("source"), prev.get("domain")) == (
                HUMAN_LABEL, source, rec.get("domain")
            ):
                union(i, i - 1)
    # A group is named by content, not position: the smallest text hash among its members.
    names: dict[int, str] = {}
    for i, rec in enumerate(records):
        digest = hashlib.sha1(rec["text"].encode("utf-8", "surrogatepass")).hexdigest()[:16]
        root = find(i)
        names[root] = min(names.get(root, digest), digest)
    return [f"{GROUPING_VERSION}:{names[find(i)]}" for i in range(len(records))]


def is_heldout(group_id: str) -> bool:
    """True for the HELDOUT_PERCENT of sibling groups that the shipped model never trains on."""
    digest = hashlib.sha256(f"{HELDOUT_SALT}:{group_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELDOUT_PERCENT


def heldout_mask(records: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For records of one labelled file (in file order): True where the shipped model never saw
    the record's sibling group. `leakwatch validate` scores only these."""
    return [is_heldout(group) for group in assign_groups(records)]


def load_card_schema(version: int = 2) -> dict[str, Any]:
    """The JSON schema of a model card version (udfs/data/model_card*.schema.json)."""
    if version not in CARD_SCHEMAS:
        raise ValueError(f"unknown model card version {version!r}: known {sorted(CARD_SCHEMAS)}")
    return json.loads(CARD_SCHEMAS[version].read_text(encoding="utf-8"))


_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "integer": int,
    "number": (int, float),
}


def _type_ok(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _JSON_TYPES[name])


def schema_errors(value: Any, schema: Mapping[str, Any], where: str = "$") -> list[str]:
    """Errors of `value` against a JSON-schema subset (type, enum, required, properties,
    additionalProperties, items, minItems, minimum, maximum, pattern); empty when valid."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, name) for name in names):
            return [f"{where}: expected {' or '.join(names)}, got {type(value).__name__}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{where}.{key}")
            elif extra is False:
                errors.append(f"{where}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], f"{where}[{i}]")
    return errors
