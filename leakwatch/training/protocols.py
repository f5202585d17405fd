"""Held-out evaluation protocols: each retrains without a generator, domain or source and scores what it
left out. Figures come only from texts the scoring model never trained on."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch.training.corpus import WEB_SOURCES
from leakwatch.training.data import LLM_PAGES_SOURCE
from leakwatch.training.fasttext import FasttextSettings, logits, train_fasttext
from leakwatch.training.metrics import auroc, threshold_at_fpr
from leakwatch.training.texts import Texts, source_balanced_weights

TARGET_FPR = 0.01
GENRE_FOLDS = 5
DOMAIN_FOLDS = 5


def _log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def fit(t: Texts, mask: np.ndarray, settings: FasttextSettings, workdir: Path, seed: int = 0):
    """A fasttext model on the masked texts, source-balanced."""
    part = t.take(mask)
    return train_fasttext(part.lines, part.llm, source_balanced_weights(part), settings, workdir, seed)


def group_folds(groups: np.ndarray, k: int, salt: str = "leakwatch-oof") -> np.ndarray:
    """Fold 0..k-1 of each text by a hash of its sibling group (siblings share a fold)."""
    return np.array([int.from_bytes(hashlib.sha256(f"{salt}:{g}".encode()).digest()[:8], "big") % k for g in groups])


def oof_logits(t: Texts, pool: np.ndarray, settings: FasttextSettings, workdir: Path, k: int = 3) -> np.ndarray:
    """Out-of-fold logits of the pool's texts (grouped folds); NaN outside the pool."""
    fold = group_folds(t.group, k)
    out = np.full(len(t), np.nan)
    for f in range(k):
        model = fit(t, pool & (fold != f), settings, workdir, seed=f)
        idx = np.flatnonzero(pool & (fold == f))
        out[idx] = logits(model, t.lines[idx])
        _log(f"out-of-fold {f + 1}/{k}")
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def slice_figures(y: np.ndarray, s: np.ndarray, threshold: float | None = None) -> dict[str, Any]:
    """AUROC, TPR at 1% FPR of the slice's own human texts, and TPR at `threshold` (if given)."""
    out: dict[str, Any] = {"n_pos": int(y.sum()), "n_neg": int((~y).sum()), "auroc": _r(auroc(y, s))}
    out["tpr_at_1pct_fpr"] = _r((s[y] >= threshold_at_fpr(s[~y], TARGET_FPR)).mean()) \
        if y.any() and (~y).any() else None
    if threshold is not None:
        out["tpr_at_threshold"] = _r((s[y] >= threshold).mean()) if y.any() else None
    return out


def corpus_human(t: Texts) -> np.ndarray:
    """Human texts of the labelled corpora (not web pages)."""
    return ~t.llm & ~np.isin(t.source, [*WEB_SOURCES, LLM_PAGES_SOURCE]) & ~np.array(
        [s.startswith("negatives") for s in t.source], dtype=bool)


def web_human(t: Texts) -> np.ndarray:
    """Real web pages (shared ones and a warehouse's)."""
    return ~t.llm & np.array([s in WEB_SOURCES or s.startswith("negatives") for s in t.source], dtype=bool)


def versus(t: Texts, positives: np.ndarray) -> np.ndarray:
    """positives and the human texts they are measured against: real web pages for LLM web pages,
    else the human texts of the positives' sources."""
    sources = set(t.source[positives])
    human = web_human(t) if sources == {LLM_PAGES_SOURCE} else ~t.llm & np.isin(t.source, sorted(sources))
    return positives | human


Splitter = Callable[[Texts], Iterator[tuple[str, np.ndarray, np.ndarray]]]


def generator_splits(t: Texts, trained: set[str]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(generator, texts to drop from training, test slice) for each generator the pool trains on."""
    for g in sorted(set(t.generator[t.llm])):
        if g in trained:
            drop = t.generator == g
            yield g, drop, versus(t, drop & t.llm)


def _folds(names: list[str], k: int, salt: str) -> dict[str, int]:
    return {n: int(hashlib.sha256(f"{salt}:{n}".encode()).hexdigest(), 16) % k for n in names}


def domain_splits(t: Texts) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Domains left out by folds (DOMAIN_FOLDS of the corpus domains, GENRE_FOLDS of the LLM web page genres),
    each domain then scored alone: a fold leaves out more than one domain, so the figures are if anything
    pessimistic, at a fifth of the retrains of one domain at a time."""
    web = t.source == LLM_PAGES_SOURCE
    corpus = [d for d in sorted(set(t.domain[~web & ~web_human(t)]))
              if ((t.domain == d) & t.llm).any() and ((t.domain == d) & ~t.llm).any()]
    genres = sorted(set(t.domain[web]))
    for prefix, names, k in (("domains", corpus, DOMAIN_FOLDS), ("genres", genres, GENRE_FOLDS)):
        fold = _folds(names, k, "genre" if prefix == "genres" else "domain")
        for f in range(k):
            mine = [n for n in names if fold[n] == f]
            if mine:
                m = np.isin(t.domain, mine)
                yield f"{prefix}{f}", m, m


def source_splits(t: Texts) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Each source left out whole (LLM web pages: against the real web pages)."""
    for s in sorted(set(t.source) - set(WEB_SOURCES)):
        if s.startswith("negatives"):
            continue
        m = t.source == s
        if (m & t.llm).any():
            yield s, m, versus(t, m & t.llm) if s == LLM_PAGES_SOURCE else m


def leave_out(t: Texts, pool: np.ndarray, test: np.ndarray, splits, settings: FasttextSettings,
              workdir: Path, what: str) -> dict[str, dict[str, Any]]:
    """Figures of each split: a model trained on the pool without the split's texts, scored on its test slice
    (held-out texts only); genre folds are reported per genre."""
    out: dict[str, dict[str, Any]] = {}
    for name, drop, slice_mask in splits:
        model = fit(t, pool & ~drop, settings, workdir)
        idx = np.flatnonzero(test)
        s = np.full(len(t), np.nan)
        s[idx] = logits(model, t.lines[idx])
        # The threshold that flags 1% of this model's held-out corpus human texts.
        threshold = threshold_at_fpr(s[test & corpus_human(t)], TARGET_FPR)
        if name.startswith(("genres", "domains")):
            # Each domain of the fold alone: its own texts (a genre: its LLM pages against the real web pages).
            for d in sorted(set(t.domain[drop & test])):
                m = test & (versus(t, (t.domain == d) & t.llm) if name.startswith("genres") else t.domain == d)
                out[d] = slice_figures(t.llm[m], s[m], threshold)
        else:
            m = test & slice_mask
            out[name] = slice_figures(t.llm[m], s[m], threshold)
        _log(f"leave out {what} {name}: AUROC {out.get(name, {}).get('auroc', 'per domain')}")
    return out


def mean_auroc(per: dict[str, dict[str, Any]]) -> float | None:
    """Mean AUROC over the splits that have one."""
    values = [m["auroc"] for m in per.values() if m.get("auroc") is not None]
    return round(float(np.mean(values)), 4) if values else None
