"""Word-frequency mixture: the LLM share from which words pages use, without the classifier.

After Liang et al. (2024, "Monitoring AI-modified content at scale"): a vocabulary's occurrence rates
p_w in the human reference (the warehouse's pre-ChatGPT pages) and q_w in LLM text; the crawl's
rates are (1 - a) p + a q, and a is estimated from them. Liang et al. maximise the likelihood of each
document's occurrence vector with the words independent within a document; on web text, whose human
reference mixes many kinds of pages, that reads ~45% LLM text in all-human crawls (measured in the
estimator simulation), because no single p describes a page of one kind. Here a is fitted to the rates
themselves (the per-word likelihood's first-order, weighted-least-squares form), which needs no
independence within documents: with weights c_w = (q_w - p_w) / (m_w (1 - m_w)), m = (p + q) / 2,
each page gets the score s = sum of c_w over the vocabulary words it contains, and
a = (mean s of the crawl - mean s of the human reference) / (mean s of LLM text - mean s of human).
The weights and the two means come from disjoint halves (cross-fitting): weights fitted on the same
pages as a mean bias it by ~V / N (V words, N pages). Everything a stats row needs per domain is the
number of scored pages and the sum of their scores.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from leakwatch.estimators.base import Estimator, register
from leakwatch.udfs.text import words

MIN_RATE = 0.01  # a word must occur in this share of LLM texts and of human pages to be in the vocabulary
FOLD_SALT = "leakwatch-wordfreq-v1"


def fold(key: str) -> int:
    """0 (fits the weights) or 1 (gives the means) for a domain or a sibling group, by hash."""
    return hashlib.sha256(f"{FOLD_SALT}:{key}".encode()).digest()[0] % 2


def distinct_words(text: str) -> set[str]:
    """The distinct normalised words of a text (udfs.text.words), as the vocabulary is counted."""
    return set(words(text))


def document_frequencies(texts: Iterable[str]) -> tuple[Counter, int]:
    """(word -> texts containing it, number of texts)."""
    counts: Counter = Counter()
    n = 0
    for text in texts:
        counts.update(distinct_words(text))
        n += 1
    return counts, n


def llm_rates(texts_by_generator: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Occurrence rate of every word in LLM text: the average over generators of each one's rate."""
    rates: Counter = Counter()
    for texts in texts_by_generator.values():
        counts, n = document_frequencies(texts)
        for w, c in counts.items():
            rates[w] += c / n / len(texts_by_generator)
    return dict(rates)


def candidates(rates: Mapping[str, float]) -> list[str]:
    """Words frequent enough in LLM text to enter the vocabulary (the human side is counted in Spark)."""
    return sorted(w for w, q in rates.items() if q >= MIN_RATE and w.isalpha())


@dataclass(frozen=True)
class WordModel:
    """The vocabulary and each word's weight c_w."""

    weights: Mapping[str, float]

    @classmethod
    def fit(cls, llm: Mapping[str, float], human: Mapping[str, int], n_human: int) -> WordModel:
        """Weights from LLM rates and human document counts (of fold 0 of the human reference)."""
        weights = {}
        for w, q in llm.items():
            p = human.get(w, 0) / n_human if n_human else 0.0
            m = (p + q) / 2
            if q >= MIN_RATE and p >= MIN_RATE and m < 1:  # a word in every text of both sides tells nothing
                weights[w] = (q - p) / (m * (1 - m))
        return cls(weights)

    def score(self, text: str) -> float:
        """Sum of the weights of the vocabulary words the text contains. fsum: a set's order follows the
        process's string hashing, and a plain sum's last bit would follow it, worker by worker."""
        return math.fsum(self.weights.get(w, 0.0) for w in distinct_words(text))

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(repr(sorted(self.weights.items())).encode()).hexdigest()[:12]
        return f"wordfreq{len(self.weights)}:{digest}"


@register
class WordFrequency(Estimator):
    """(crawl's mean word score - human's) / (LLM text's - human's); needs no classifier."""

    name = "wordfreq_v1"
    column = "wordfreq"
    evidence = "words"

    def fit_means(self, crawl: np.ndarray, human: np.ndarray, llm: np.ndarray) -> np.ndarray:
        """Per replicate, from the mean word score of the crawl, the human reference and LLM text."""
        gap = llm - human
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(gap > 0, (crawl - human) / gap, np.nan)
