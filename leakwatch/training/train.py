"""`leakwatch train`: labelled JSONL -> quantized fasttext model + model card (.json and .md).

Runs on the driver without Spark: the corpus is ~30,000 texts. The shipped model never sees the
held-out sibling groups (udfs.classifier.is_heldout) nor web-cc2019; every figure in the card
comes from those texts, so `leakwatch validate` and the statistics can use them as unseen data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leakwatch.errors import ConfigError
from leakwatch.settings import setting
from leakwatch.training.card import build_card, validate_card, write_card_md
from leakwatch.training.corpus import EVAL_ONLY_SOURCES, MIN_TRAIN_WORDS, Example, labeled_dir, read_corpus
from leakwatch.training.fasttext import (
    DEFAULT_SETTINGS,
    QUANTIZE_CUTOFF,
    SWEEP,
    THREADS,
    FasttextSettings,
    train_fasttext,
)
from leakwatch.training.metrics import calibration, labels, metrics, rates, slices, threshold_at_fpr
from leakwatch.udfs.classifier import MODEL_FILE, is_scorable, predict_llm

if TYPE_CHECKING:
    from leakwatch.config import Config

TARGET_FPR = 0.01
OOF_FOLDS = 3


@dataclass(frozen=True)
class TrainOptions:
    """What `leakwatch train` reads and writes (the labelled folder is validate's too)."""

    labeled: str | None = setting(None, "folder of labelled *.jsonl (text and label human|llm per line)",
                                  metavar="DIR", default_help="../shared/data/labeled beside the repository")
    model_dir: str = setting("models", "folder the model and its card are written to", metavar="DIR")
    sweep: bool = setting(False, "try the built-in settings grid and keep the best")
    evaluate: bool = setting(True, "leave-one-out evaluation and the out-of-fold threshold (--no-evaluate: quick runs)")


THRESHOLD_GRID = [round(x, 3) for x in [*np.arange(0.05, 0.951, 0.05), 0.97, 0.98, 0.99, 0.995, 0.999]]


def _log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def _evaluate(model, test: list[Example]) -> np.ndarray:
    return predict_llm(model, [e.text for e in test])


def _held_out_eval(
    pool: list[Example], test: list[Example], keep: Callable[[Example], bool], settings: FasttextSettings, workdir: Path
) -> dict[str, Any]:
    model, _ = train_fasttext([e for e in pool if keep(e)], settings, workdir)
    return metrics(labels(test), _evaluate(model, test))


def run_sweep(pool: list[Example], test: list[Example], workdir: Path) -> list[dict[str, Any]]:
    """Each SWEEP setting trained on the training pool and measured on the held-out split."""
    tried = []
    for settings in SWEEP:
        start = time.monotonic()
        model, _ = train_fasttext(pool, settings, workdir)
        seconds = time.monotonic() - start
        result = metrics(labels(test), _evaluate(model, test))
        tried.append({"settings": dataclasses.asdict(settings), "fingerprint": settings.fingerprint(),
                      "train_seconds": round(seconds, 1), **result})
        _log(f"sweep {settings.fingerprint()}: AUROC {result['auroc']} in {seconds:.0f}s")
    return tried


def operating_threshold(pool: list[Example], settings: FasttextSettings, workdir: Path) -> dict[str, Any]:
    """Threshold at TARGET_FPR on out-of-fold human scores of the training pool (grouped folds),
    so the held-out texts stay untouched by the choice."""
    fold = np.array([int(hashlib.sha256(e.group.encode()).hexdigest(), 16) % OOF_FOLDS for e in pool])
    scorable = np.array([is_scorable(e.language, e.n_words) for e in pool])
    scores = np.full(len(pool), np.nan)
    for k in range(OOF_FOLDS):
        model, _ = train_fasttext([e for e, f in zip(pool, fold, strict=True) if f != k], settings, workdir)
        idx = np.flatnonzero((fold == k) & scorable)
        scores[idx] = predict_llm(model, [pool[i].text for i in idx])
    human = scorable & ~labels(pool)
    value = threshold_at_fpr(scores[human], TARGET_FPR)
    return {
        "value": round(value, 6),
        "target_fpr": TARGET_FPR,
        "chosen_by": f"{OOF_FOLDS}-fold grouped out-of-fold scores of the training pool: the lowest "
        f"threshold flagging at most {TARGET_FPR:.0%} of its {int(human.sum())} scorable human texts",
    }


def evaluate_all(pool: list[Example], test: list[Example], web: list[Example], shipped, threshold: float,
                 settings: FasttextSettings, workdir: Path) -> tuple[dict[str, Any], np.ndarray]:
    """Random grouped split (the shipped model), leave-one-generator-out, leave-one-domain-out."""
    scores = _evaluate(shipped, test)
    y = labels(test)
    random_split = {}
    for name, mask in slices(test).items():
        random_split[name] = {**metrics(y[mask], scores[mask]),
                              "rates_at_operating_threshold": rates(y[mask], scores[mask], threshold)}
    per_generator = {}
    for g in sorted({e.generator for e in pool} - {""}):
        mask = slices(test)[f"generator:{g}"]
        sub = [e for e, m in zip(test, mask, strict=True) if m]
        per_generator[g] = _held_out_eval(pool, sub, lambda e, g=g: e.generator != g, settings, workdir)
        _log(f"leave out generator {g}: AUROC {per_generator[g]['auroc']}")
    per_domain = {}
    for d in sorted({e.domain for e in test}):
        sub = [e for e in test if e.domain == d]
        if not any(e.llm for e in sub) or all(e.llm for e in sub):
            continue
        per_domain[d] = _held_out_eval(pool, sub, lambda e, d=d: e.domain != d, settings, workdir)
        _log(f"leave out domain {d}: AUROC {per_domain[d]['auroc']}")
    web_scores = _evaluate(shipped, web)
    web_rates = rates(np.zeros(len(web), dtype=bool), web_scores, threshold)
    results = {
        "random_grouped": random_split,
        "leave_one_generator_out": {"mean_auroc": _mean_auroc(per_generator), "per_generator": per_generator},
        "leave_one_domain_out": {"mean_auroc": _mean_auroc(per_domain), "per_domain": per_domain},
        "web_cc2019": {"n_scored": len(web), "fp": web_rates["fp"], "fpr": web_rates["fpr"]},
    }
    return results, scores


def _mean_auroc(per: dict[str, dict[str, Any]]) -> float:
    values = [m["auroc"] for m in per.values() if m["auroc"] is not None]
    return round(float(np.mean(values)), 4) if values else 0.0


def train(data_dir: Path, out_dir: Path, sweep: bool = False, settings: FasttextSettings = DEFAULT_SETTINGS,
          evaluate: bool = True) -> dict[str, Any]:
    """Train, evaluate and write MODEL_FILE + card (.json, .md) into out_dir; return the card."""
    examples = read_corpus(data_dir)
    pool = [e for e in examples if not e.heldout and e.n_words >= MIN_TRAIN_WORDS]
    test = [e for e in examples if e.heldout and e.source not in EVAL_ONLY_SOURCES
            and is_scorable(e.language, e.n_words)]
    web = [e for e in examples if e.source in EVAL_ONLY_SOURCES and is_scorable(e.language, e.n_words)]
    if not pool or not any(e.llm for e in pool) or all(e.llm for e in pool):
        raise ConfigError(f"{data_dir}: training needs both human and llm texts of >= {MIN_TRAIN_WORDS} words")
    _log(f"{len(examples)} texts: {len(pool)} to train on, {len(test)} held out and scorable, {len(web)} web")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leakwatch-train-") as tmp:
        workdir = Path(tmp)
        tried = run_sweep(pool, test, workdir) if sweep else []
        if tried:
            # The statistics read the classifier near 1% FPR, so that regime decides; AUROC breaks ties.
            best = max(tried, key=lambda t: (t["tpr_at_1pct_fpr"] or 0.0, t["auroc"] or 0.0))
            settings = FasttextSettings(**best["settings"])
            _log(f"best setting: {settings.fingerprint()}")
        threshold = operating_threshold(pool, settings, workdir) if evaluate else {
            "value": 0.5, "target_fpr": TARGET_FPR, "chosen_by": "default 0.5 (run without evaluation)"}
        model, train_file = train_fasttext(pool, settings, workdir)
        model.quantize(input=str(train_file), qnorm=True, retrain=True, cutoff=QUANTIZE_CUTOFF, thread=THREADS)
        model_path = out_dir / MODEL_FILE
        model.save_model(str(model_path))
        results, scores = evaluate_all(pool, test, web, model, threshold["value"], settings, workdir) \
            if evaluate else _quick_results(test, web, model, threshold["value"])
    grid = sorted({*THRESHOLD_GRID, threshold["value"]})
    card = build_card(examples, model_path, settings, tried, threshold, results,
                      calibration(test + web, np.concatenate([scores, _evaluate(model, web)]), grid), data_dir)
    validate_card(card)
    card_path = out_dir / MODEL_FILE.replace(".ftz", ".card.json")
    card_path.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    write_card_md(card, out_dir / MODEL_FILE.replace(".ftz", ".card.md"))
    return card


def _quick_results(test: list[Example], web: list[Example], model, threshold: float) -> tuple[dict, np.ndarray]:
    scores = _evaluate(model, test)
    y = labels(test)
    overall = {**metrics(y, scores), "rates_at_operating_threshold": rates(y, scores, threshold)}
    web_rates = rates(np.zeros(len(web), dtype=bool), _evaluate(model, web), threshold)
    results = {
        "random_grouped": {"overall": overall},
        "leave_one_generator_out": {"mean_auroc": 0.0, "per_generator": {}},
        "leave_one_domain_out": {"mean_auroc": 0.0, "per_domain": {}},
        "web_cc2019": {"n_scored": len(web), "fp": web_rates["fp"], "fpr": web_rates["fpr"]},
    }
    return results, scores


def run(config: Config) -> int:
    """Train the classifier and write it with its card."""
    options = config.train
    card = train(labeled_dir(options.labeled), Path(options.model_dir), sweep=options.sweep,
                 evaluate=options.evaluate)
    print(json.dumps({"model": card["model"], "targets": card["targets"]}, indent=1))
    return 0
