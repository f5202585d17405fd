"""Every figure of the card: the shipped model on the held-out texts (slices, calibration quality, real web
pages), and the leave-one-generator/domain/source-out retrains."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch.training.calibrate import expected_calibration_error, max_tie_share, reliability_table
from leakwatch.training.corpus import WEB_SOURCES
from leakwatch.training.fasttext import SWEEP, FasttextSettings, logits
from leakwatch.training.metrics import auroc, rates, threshold_at_fpr
from leakwatch.training.protocols import (
    TARGET_FPR,
    _log,
    corpus_human,
    domain_splits,
    fit,
    generator_splits,
    leave_out,
    mean_auroc,
    slice_figures,
    source_splits,
    versus,
    web_human,
)
from leakwatch.training.texts import Texts, source_balanced_weights
from leakwatch.udfs.scoring import Calibration, token_counts


def sweep(t: Texts, pool: np.ndarray, test: np.ndarray, workdir: Path) -> list[dict[str, Any]]:
    """Each SWEEP setting trained on the pool and measured on the held-out texts (logit AUROC)."""
    tried = []
    for settings in SWEEP:
        start = time.monotonic()
        model = fit(t, pool, settings, workdir)
        seconds = time.monotonic() - start
        idx = np.flatnonzero(test)
        s = logits(model, t.lines[idx])
        y = t.llm[idx]
        tried.append({"settings": dataclasses.asdict(settings), "fingerprint": settings.fingerprint(),
                      "train_seconds": round(seconds, 1), **slice_figures(y, s)})
        _log(f"sweep {settings.fingerprint()}: AUROC {tried[-1]['auroc']} in {seconds:.0f}s")
    return tried


def random_split(t: Texts, test: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """The shipped model on the held-out texts: overall, per source, generator and domain."""
    out: dict[str, Any] = {}
    masks = {"overall": test & ~web_human(t)}
    for s in sorted(set(t.source[test])):
        masks[f"source:{s}"] = test & (t.source == s)
    for g in sorted(set(t.generator[test & t.llm])):
        masks[f"generator:{g}"] = test & versus(t, (t.generator == g) & t.llm)
    for d in sorted(set(t.domain[test])):
        masks[f"domain:{d}"] = test & (t.domain == d)
    for name, m in masks.items():
        y, s = t.llm[m], p[m]
        out[name] = {**slice_figures(y, s), "rates_at_operating_threshold": rates(y, s, threshold)}
    return out


def calibration_quality(t: Texts, test: np.ndarray, p: np.ndarray, trained: np.ndarray) -> dict[str, Any]:
    """ECE (as the held-out texts are, and with each source label-balanced), reliability table, ties."""
    m = test & ~web_human(t) & (~t.llm | trained)
    balanced = source_balanced_weights(t.take(m), cap=np.inf)
    everything = test & ~web_human(t)
    return {
        "scope": "held-out texts of the corpora and LLM web pages; LLM texts of trained generators only "
                 "(ece_all: every generator)",
        "ece": round(expected_calibration_error(t.llm[m], p[m]), 4),
        "ece_source_balanced": round(expected_calibration_error(t.llm[m], p[m], balanced), 4),
        "ece_all": round(expected_calibration_error(t.llm[everything], p[everything]), 4),
        "reliability": reliability_table(t.llm[m], p[m]),
        "max_tie_share": round(max_tie_share(p[test]), 5),
        "n": int(m.sum()),
    }


def web_figures(t: Texts, test: np.ndarray, p: np.ndarray, twin_p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Real web pages flagged at the operating threshold: the held-out half by the shipped model, the other
    half by a twin trained with the held-out half instead (so no page is scored by a model that saw it)."""
    scores = np.where(test, p, twin_p)
    web = web_human(t) & t.scorable & ~np.isnan(scores)  # without --evaluate, the held-out half only
    out: dict[str, Any] = {}
    for name, m in [("all", web), *((s, web & (t.source == s)) for s in sorted(set(t.source[web])))]:
        flagged = int((scores[m] >= threshold).sum())
        out[name] = {"n_scored": int(m.sum()), "fp": flagged, "fpr": round(flagged / m.sum(), 4) if m.any() else None}
    heldout = web & test
    out["heldout_half"] = {"n_scored": int(heldout.sum()), "fp": int((p[heldout] >= threshold).sum())}
    return out


def excluded_generators(t: Texts, test: np.ndarray, z: np.ndarray, exclude: frozenset[str]) -> dict[str, Any]:
    """Generators never trained on: the shipped model's own figures are leave-one-out figures."""
    threshold = threshold_at_fpr(z[test & corpus_human(t)], TARGET_FPR)
    out = {}
    for g in sorted(set(t.generator[test & t.llm]) & exclude):
        m = test & versus(t, (t.generator == g) & t.llm)
        out[g] = {**slice_figures(t.llm[m], z[m], threshold), "trained_on": False}
    return out


def evaluate_all(t: Texts, pool: np.ndarray, test: np.ndarray, p: np.ndarray, threshold: float,
                 calibration: Calibration, settings: FasttextSettings, workdir: Path, exclude: frozenset[str],
                 retrain: bool = True) -> dict[str, Any]:
    """The card's `metrics` block."""
    trained_gens = set(t.generator[pool & t.llm])
    trained = np.isin(t.generator, sorted(trained_gens)) & t.llm
    z = np.log(p / (1 - p))  # shipped log-odds: slices read the ranking, so any monotone score will do
    results: dict[str, Any] = {
        "random_grouped": random_split(t, test, p, threshold),
        "calibration_quality": calibration_quality(t, test, p, trained),
    }
    twin_p = np.full(len(t), np.nan)
    if retrain:
        swap = web_human(t)
        twin = fit(t, (pool & ~swap) | (swap & test), settings, workdir, seed=200)
        idx = np.flatnonzero(swap & t.scorable & ~test)
        # The twin's logits are read with the shipped calibration (both models share settings and data size).
        twin_p[idx] = calibration.p_llm(logits(twin, t.lines[idx]), token_counts(t.lines[idx]))
    results["web"] = web_figures(t, test, p, twin_p, threshold)
    per_gen = excluded_generators(t, test, z, exclude)
    if retrain:
        per_gen.update(leave_out(t, pool, test, generator_splits(t, trained_gens), settings, workdir, "generator"))
        per_domain = leave_out(t, pool, test, domain_splits(t), settings, workdir, "domain")
        per_source = leave_out(t, pool, test, source_splits(t), settings, workdir, "source")
    else:
        per_domain, per_source = {}, {}
    tprs = [m["tpr_at_threshold"] for m in per_gen.values() if m.get("tpr_at_threshold") is not None]
    trained_tprs = [per_gen[g]["tpr_at_threshold"] for g in per_gen if g in trained_gens]
    results["leave_one_generator_out"] = {
        "mean_auroc": mean_auroc(per_gen),
        "mean_auroc_trained_generators": mean_auroc({g: m for g, m in per_gen.items() if g in trained_gens}),
        "mean_tpr_at_1pct_fpr": _mean([m["tpr_at_1pct_fpr"] for m in per_gen.values()]),
        "tpr_spread": round(max(tprs) - min(tprs), 4) if tprs else None,
        "tpr_spread_trained_generators": round(max(trained_tprs) - min(trained_tprs), 4) if trained_tprs else None,
        "per_generator": per_gen,
    }
    results["leave_one_domain_out"] = {"mean_auroc": mean_auroc(per_domain), "per_domain": per_domain}
    results["leave_one_source_out"] = {"mean_auroc": mean_auroc(per_source), "per_source": per_source}
    results["auroc_web_pages"] = _web_auroc(t, test, p)
    return results


def _web_auroc(t: Texts, test: np.ndarray, p: np.ndarray) -> float | None:
    m = test & (web_human(t) | (t.llm & ~np.isin(t.source, list(WEB_SOURCES))))
    value = auroc(t.llm[m], p[m])
    return None if value is None else round(value, 4)


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None
