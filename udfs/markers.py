"""Marker lexicons: per-document counts of chatbot leftovers, LLM-favoured style words and neutral
control words, from the versioned lexicon file udfs/data/lexicons.json."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from leakwatch.schemas.values import LEXICON_NAMES
from leakwatch.udfs.text import words

LEXICON_FILE = Path(__file__).resolve().parent / "data" / "lexicons.json"


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Lexicons:
    """Compiled lexicons: each form as a word tuple -> (lexicon, term); phrases by first word."""

    version: str
    single: dict[str, tuple[str, str]]
    phrases: dict[str, dict[tuple[str, ...], tuple[str, str]]]
    relevant: frozenset[str]  # the single-word forms and the first words of phrases


def expand(term: str, rule: list[list[str]]) -> list[str]:
    """The forms of a term under an inflection rule (a list of [strip, add] pairs)."""
    forms = []
    for strip, add in rule:
        if strip and not term.endswith(strip):
            raise LexiconError(f"term {term!r} does not end with {strip!r}, which its rule strips")
        forms.append(term[: len(term) - len(strip)] + add)
    return forms


def compile_lexicons(spec: dict[str, Any]) -> Lexicons:
    """Check a lexicon spec (the JSON file's content) and index every form of every term."""
    if set(spec.get("lexicons", {})) != set(LEXICON_NAMES):
        raise LexiconError(f"lexicons must be exactly {LEXICON_NAMES}, got {sorted(spec.get('lexicons', {}))}")
    rules, sources = spec["inflections"], spec["sources"]
    seen: set[tuple[str, ...]] = set()
    single: dict[str, tuple[str, str]] = {}
    phrases: dict[str, dict[tuple[str, ...], tuple[str, str]]] = {}
    for name, lexicon in spec["lexicons"].items():
        for entry in lexicon["terms"]:
            term = entry["term"]
            if entry["rule"] not in rules or entry["source"] not in sources:
                raise LexiconError(f"{name}: {term!r} names an unknown rule or source")
            for form in expand(term, rules[entry["rule"]]):
                key = tuple(words(form))
                if not key or key in seen:
                    raise LexiconError(f"{name}: form {form!r} of {term!r} is empty or listed twice")
                seen.add(key)
                if len(key) == 1:
                    single[key[0]] = (name, term)
                else:
                    phrases.setdefault(key[0], {})[key] = (name, term)
    return Lexicons(version=spec["version"], single=single, phrases=phrases,
                    relevant=frozenset(single) | frozenset(phrases))


@functools.lru_cache(maxsize=1)
def lexicons() -> Lexicons:
    """The shipped lexicons, read once per process."""
    return compile_lexicons(json.loads(LEXICON_FILE.read_text(encoding="utf-8")))


def _occurrences(haystack: str, needle: str) -> int:
    """Occurrences of needle in haystack, overlapping ones included (as a walk over words finds)."""
    n, at = 0, haystack.find(needle)
    while at >= 0:
        n += 1
        at = haystack.find(needle, at + 1)
    return n


def count_markers(text: str, lex: Lexicons | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """(matches per lexicon, matches per term) in one text; terms are counted by their base form."""
    lex = lex or lexicons()
    tokens = words(text)
    # Only words that are lexicon terms or start a phrase matter: filtering on a set lookup and
    # counting what is left runs in C and is ~2x faster than counting every word of the page.
    counts = Counter(filter(lex.relevant.__contains__, tokens))
    hits: list[tuple[tuple[str, str], int]] = [
        (lex.single[w], n) for w, n in counts.items() if w in lex.single
    ]
    # The normalized text is its words joined by single spaces, so a phrase occurs exactly where
    # " w1 w2 ... " occurs in it: a substring count in C instead of a walk over every token.
    starts = counts.keys() & lex.phrases.keys()
    padded = f" {' '.join(tokens)} " if starts else ""
    for start in starts:
        for key, hit in lex.phrases[start].items():
            n = _occurrences(padded, " " + " ".join(key) + " ")
            if n:
                hits.append((hit, n))
    per_lexicon = dict.fromkeys(LEXICON_NAMES, 0)
    per_term: dict[str, int] = {}
    for (name, term), n in hits:
        per_lexicon[name] += n
        per_term[term] = per_term.get(term, 0) + n
    return per_lexicon, per_term


def marker_frame(texts: Sequence[str]) -> pd.DataFrame:
    """One row per text: a count column per lexicon and `marker_terms` (term -> count, hits only)."""
    rows = [count_markers(t) for t in texts]
    frame = pd.DataFrame([r[0] for r in rows], columns=list(LEXICON_NAMES), dtype="int32")
    frame["marker_terms"] = [r[1] for r in rows]
    return frame
