"""The training texts as arrays (labels, groups, splits, token lines) and the weights they train with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from leakwatch.training.corpus import MIN_TRAIN_WORDS, WEB_SOURCES, Example
from leakwatch.training.data import LLM_PAGES_SOURCE, page_texts
from leakwatch.udfs.classifier import classifier_text, is_scorable, word_count
from leakwatch.udfs.langid import identify_languages

# Real web pages (shared or a warehouse's) and LLM web pages are one source group for the weights.
WEB_GROUP = "web"
# Weight cap: no text counts more than this many times (a few hundred real web pages balance
# thousands of LLM pages otherwise, and each would be seen ~50 times).
WEIGHT_CAP = 8.0
# A source group's total weight grows as n**SOURCE_ALPHA: big corpora count more, not proportionally more.
SOURCE_ALPHA = 0.5


def source_group(source: str) -> str:
    """The weighting group of a source: every web source is one group, each corpus its own."""
    return WEB_GROUP if source in WEB_SOURCES or source == LLM_PAGES_SOURCE or source.startswith("negatives") \
        else source


@dataclass
class Texts:
    """Parallel arrays over texts as the pipeline sees them."""

    lines: np.ndarray  # classifier_text of the page text (str objects)
    llm: np.ndarray
    source: np.ndarray
    generator: np.ndarray
    domain: np.ndarray
    group: np.ndarray
    heldout: np.ndarray
    n_words: np.ndarray
    language: np.ndarray

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, mask: np.ndarray) -> Texts:
        """The texts where mask is true."""
        return Texts(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @property
    def scorable(self) -> np.ndarray:
        """English and long enough to get a score."""
        return np.array([is_scorable(lang, int(n)) for lang, n in zip(self.language, self.n_words, strict=True)],
                        dtype=bool)


def build_texts(examples: Sequence[Example]) -> Texts:
    """Texts of examples as the pipeline sees them: page text, lid.176 language, word count, token line."""
    pages = page_texts(list(examples))
    languages = [code for code, _ in identify_languages(pages)]
    return Texts(
        lines=np.array([classifier_text(p) for p in pages], dtype=object),
        llm=np.array([e.llm for e in examples], dtype=bool),
        source=np.array([e.source for e in examples], dtype=object),
        generator=np.array([e.generator for e in examples], dtype=object),
        domain=np.array([e.domain for e in examples], dtype=object),
        group=np.array([e.group for e in examples], dtype=object),
        heldout=np.array([e.heldout for e in examples], dtype=bool),
        n_words=np.array([word_count(p) for p in pages], dtype=np.int64),
        language=np.array(languages, dtype=object),
    )


def trainable(t: Texts, exclude_generators: frozenset[str]) -> np.ndarray:
    """Texts a model may train on: not held out, >= MIN_TRAIN_WORDS words, not of an excluded generator."""
    excluded = np.isin(t.generator, sorted(exclude_generators)) & t.llm
    return ~t.heldout & (t.n_words >= MIN_TRAIN_WORDS) & ~excluded


def source_balanced_weights(t: Texts, cap: float = WEIGHT_CAP, alpha: float = SOURCE_ALPHA) -> np.ndarray:
    """Weights that make every source group label-balanced: a group's total (proportional to n**alpha) is
    split equally between its human and its LLM texts, and each generator of the LLM half gets an equal part.
    A model then cannot use what tells corpora apart as evidence of authorship. Mean 1, none above cap."""
    n = len(t)
    groups = np.array([source_group(s) for s in t.source], dtype=object)
    names, counts = np.unique(groups, return_counts=True)
    totals = counts.astype(np.float64) ** alpha
    totals *= n / totals.sum()
    w = np.zeros(n)
    for name, total in zip(names, totals, strict=True):
        in_group = groups == name
        for is_llm in (False, True):
            mine = in_group & (t.llm == is_llm)
            if not mine.any():
                continue
            half = total / 2 if (in_group & (t.llm != is_llm)).any() else total
            if is_llm:
                gens, inverse, per_gen = np.unique(t.generator[mine], return_inverse=True, return_counts=True)
                w[mine] = half / len(gens) / per_gen[inverse]
            else:
                w[mine] = half / mine.sum()
    w *= n / w.sum() if w.sum() else 1.0
    return np.minimum(w, cap)
