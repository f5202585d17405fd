"""Scores of the classifier, in plain Python: the fasttext logit of a text, its calibration to P(LLM),
and why a document gets no score. Nothing here imports Spark.

A v2 model is a quantized fasttext file and its card beside it (`<name>.card.json`), whose `scoring`
block holds the calibration. The logit is read from the sentence vector and the output matrix, so it
never saturates (fasttext's probabilities floor at 1e-5, which tied thousands of texts at 1.0). A model
without a `scoring` block (v1, or any fasttext model) is scored with fasttext's own P(llm), as before.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Why a document has no score (the `leakwatch score` field `not_scored`; None when scored).
EMPTY, NOT_ENGLISH, TOO_SHORT = "empty", "not_english", "too_short"
# Calibration reads length as ln(tokens the model read) - LENGTH_CENTER (e^5 ~ 148 tokens: a short page).
# Tokens, not the page's words: the model reads at most MAX_TOKENS, so a 5,000-word page gives no more
# evidence than a 500-word one.
LENGTH_CENTER = 5.0


@dataclass(frozen=True)
class Calibration:
    """P(LLM) = sigmoid(intercept + slope*z + length_slope*z*l + length_shift*l), z the fasttext logit and
    l = ln(n_tokens) - LENGTH_CENTER: a short text's mean over few tokens is noisier, so it is read with
    its own slope."""

    intercept: float
    slope: float
    length_slope: float = 0.0
    length_shift: float = 0.0
    length_center: float = LENGTH_CENTER

    def log_odds(self, logits: np.ndarray, n_tokens: np.ndarray) -> np.ndarray:
        """The calibrated log-odds of each text."""
        z = np.asarray(logits, dtype=np.float64)
        ln = np.log(np.maximum(np.asarray(n_tokens, dtype=np.float64), 1.0)) - self.length_center
        return self.intercept + self.slope * z + self.length_slope * z * ln + self.length_shift * ln

    def p_llm(self, logits: np.ndarray, n_tokens: np.ndarray) -> np.ndarray:
        """P(LLM) of each text, in (0, 1)."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.log_odds(logits, n_tokens), -700, 700)))

    def as_dict(self) -> dict[str, float]:
        """The card's `scoring.calibration` block."""
        return asdict(self)


def card_path(model_path: str | Path) -> Path:
    """The card beside a model file: `x.ftz` -> `x.card.json`."""
    path = Path(model_path)
    return path.with_name(path.name.removesuffix(".ftz") + ".card.json")


def read_card(model_path: str | Path) -> dict[str, Any] | None:
    """The card beside a model, or None (no card, or not a JSON object)."""
    path = card_path(model_path)
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_card(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_card(path: str, mtime_ns: int, size: int) -> dict[str, Any] | None:
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def scoring_json(model_path: str | Path) -> str | None:
    """The `scoring` block of the card beside a model as canonical JSON, or None (a v1 model)."""
    block = (read_card(model_path) or {}).get("scoring")
    return json.dumps(block, sort_keys=True) if isinstance(block, dict) else None


def operating_threshold(model_path: str | Path) -> float | None:
    """The operating threshold of the card beside a model (v1 cards too), or None."""
    value = ((read_card(model_path) or {}).get("operating_threshold") or {}).get("value")
    return float(value) if isinstance(value, (int, float)) else None


def output_direction(model) -> np.ndarray:
    """Output row of __label__llm minus that of __label__human: the logit is sentence vector . direction.
    Read through the C++ binding, which serves it for quantized models too (qout=False keeps it exact)."""
    labels = model.get_labels()
    out = np.array(model.f.getOutputMatrix())
    return out[labels.index("__label__llm")] - out[labels.index("__label__human")]


@dataclass(frozen=True)
class Scorer:
    """A loaded classifier: fasttext model, its logit direction and calibration (None for a v1 model)."""

    model: Any
    direction: np.ndarray | None
    calibration: Calibration | None

    def logits(self, token_lines: Sequence[str]) -> np.ndarray:
        """fasttext logit of each classifier_text line (no 1e-5 floor)."""
        if not len(token_lines):
            return np.zeros(0)
        vectors = np.array([self.model.get_sentence_vector(line) for line in token_lines], dtype=np.float64)
        return vectors @ self.direction

    def raw_p_llm(self, token_lines: Sequence[str]) -> np.ndarray:
        """fasttext's own P(llm) (v1 models)."""
        if not len(token_lines):
            return np.zeros(0)
        labels, probs = self.model.predict(list(token_lines), k=-1)
        p = [dict(zip(lab, pr, strict=True)).get("__label__llm", 0.0) for lab, pr in zip(labels, probs, strict=True)]
        return np.array(p, dtype=np.float64).clip(0.0, 1.0)

    def p_llm(self, token_lines: Sequence[str]) -> np.ndarray:
        """P(LLM) of each text: calibrated for a v2 model, fasttext's own for a v1 model."""
        if self.calibration is None:
            return self.raw_p_llm(token_lines)
        return self.calibration.p_llm(self.logits(token_lines), token_counts(token_lines))


def token_counts(token_lines: Sequence[str]) -> np.ndarray:
    """Tokens of each classifier_text line (at most MAX_TOKENS)."""
    return np.array([line.count(" ") + 1 if line else 0 for line in token_lines], dtype=np.float64)


def scorer_from(model, block: Mapping[str, Any] | None) -> Scorer:
    """A Scorer of a loaded fasttext model and its card's scoring block (None: a v1 model)."""
    if not block:
        return Scorer(model, None, None)
    return Scorer(model, output_direction(model), Calibration(**block["calibration"]))


def not_scored_reason(language: str | None, n_words: int, scored_language: str, min_words: int) -> str | None:
    """Why a document gets no score (EMPTY, NOT_ENGLISH, TOO_SHORT), or None when it is scored."""
    if n_words <= 0:
        return EMPTY
    if language != scored_language:
        return NOT_ENGLISH
    if n_words < min_words:
        return TOO_SHORT
    return None


