"""`leakwatch train`: labelled texts -> quantized fasttext model + calibration + model card (.json, .md).

Runs on the driver without Spark. Every text is trained on and measured as the pipeline sees it (rendered
as a page, then extracted). The shipped model never sees the held-out groups (corpora: udfs.classifier.
is_heldout; LLM web pages: their calibration quarter; real web pages: their held-out half; warehouse
negatives: a fifth of their domains); every figure of the card comes from texts the scoring model did not
train on.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from leakwatch.errors import ConfigError
from leakwatch.settings import setting
from leakwatch.training.calibrate import fit_calibration
from leakwatch.training.card import build_card, calibration_table, validate_card
from leakwatch.training.card_md import write_card_md
from leakwatch.training.corpus import MIN_TRAIN_WORDS, Example, labeled_dir, read_corpus
from leakwatch.training.data import read_llm_pages, read_web_pages, shipped_llm_pages
from leakwatch.training.evaluate import evaluate_all, sweep
from leakwatch.training.fasttext import DEFAULT_SETTINGS, FasttextSettings, logits, quantize
from leakwatch.training.metrics import threshold_at_fpr
from leakwatch.training.negatives import read_negatives
from leakwatch.training.protocols import TARGET_FPR, corpus_human, fit, oof_logits, web_human
from leakwatch.training.texts import Texts, build_texts, source_balanced_weights, trainable
from leakwatch.udfs.classifier import MODEL_FILE
from leakwatch.udfs.scoring import Calibration, token_counts

if TYPE_CHECKING:
    from leakwatch.config import Config

# Completion (base) models continuing a human text's first ~30 tokens: training on them cost ~0.2 AUROC on
# instruction-tuned models' web pages in the bake-off (ftc_w2_b25), so they are measured, never trained on.
BASE_GENERATORS = ("davinci", "gpt2-xl", "gpt3", "gpt-j-6b", "gpt-neo-2.7b", "gpt-neox-20b", "llama", "opt-2.7b")
_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@dataclass(frozen=True)
class TrainOptions:
    """What `leakwatch train` reads and writes (the labelled folder is validate's too)."""

    labeled: str | None = setting(None, "folder of labelled *.jsonl (text and label human|llm per line)",
                                  metavar="DIR", default_help="../shared/data/labeled beside the repository")
    web: str | None = setting(None, "readability test-suite folder: its pre-2022 pages are real human web pages",
                              metavar="DIR", default_help="../shared/data/web/readability, when present")
    llm_pages: tuple[str, ...] = setting((shipped_llm_pages(),), "JSONL of LLM web pages (group, split, generator, "
                                         "text); none: --llm-pages with no file", metavar="FILE", nargs="*",
                                         default_help="udfs/data/llm_pages_web.jsonl")
    exclude_generators: tuple[str, ...] = setting(BASE_GENERATORS, "generators measured but never trained on",
                                                  metavar="NAME")
    negatives: str | None = setting(None, "warehouse (or documents table) whose pre-ChatGPT pages train as "
                                    "human text", metavar="WAREHOUSE")
    negatives_max: int = setting(20000, "with --negatives: pages added at most (a seeded sample)", metavar="N")
    negatives_seed: int = setting(0, "with --negatives: seed of that sample", metavar="N")
    model_dir: str = setting("models", "folder the model and its card are written to", metavar="DIR")
    model_name: str = setting(MODEL_FILE.removesuffix(".ftz"), "file name of the model, without .ftz",
                              metavar="NAME")
    sweep: bool = setting(False, "try the built-in fasttext settings and keep the best")
    evaluate: bool = setting(True, "leave-one-out evaluation (--no-evaluate: quick runs)")


def _log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def load_examples(options: TrainOptions, crawls: tuple[str, ...] = ()) -> tuple[list[Example], dict[str, Any]]:
    """Every text training reads (`crawls`: the --negatives crawls), and the card's record of where from."""
    data_dir = labeled_dir(options.labeled)
    examples = read_corpus(data_dir)
    web_dir = Path(options.web) if options.web else _SHARED / "web" / "readability"
    if options.web and not web_dir.is_dir():
        raise ConfigError(f"web page folder not found: {web_dir}: pass --web DIR (the readability test suite)")
    examples += read_web_pages(web_dir if web_dir.is_dir() else None)
    pages = options.llm_pages
    examples += read_llm_pages(pages)
    added, negatives = read_negatives(options.negatives, crawls, options.negatives_max,
                                      options.negatives_seed)
    examples += added
    inputs = {"labeled": str(data_dir), "web": str(web_dir) if web_dir.is_dir() else None,
              "llm_pages": [Path(p).name for p in pages], "negatives": negatives}
    return examples, inputs


def operating_threshold(t: Texts, fitted: np.ndarray, p_oof: np.ndarray) -> dict[str, Any]:
    """The lowest P(LLM) that flags at most TARGET_FPR of the pool's out-of-fold human texts, both of the
    corpora's and of the real web pages' (the larger of the two)."""
    chosen = {}
    for name, human in (("corpus", corpus_human(t)), ("web", web_human(t))):
        m = fitted & human & t.scorable
        if m.any():
            chosen[name] = round(min(threshold_at_fpr(p_oof[m], TARGET_FPR), 1.0), 6)
    return {
        "value": max(chosen.values(), default=0.5), "target_fpr": TARGET_FPR, "per_kind": chosen,
        "chosen_by": "3-fold grouped out-of-fold P(LLM) of the training pool: the larger of the lowest thresholds "
        f"that flag at most {TARGET_FPR:.0%} of its scorable corpus human texts and of its real web pages",
    }


def calibrate(t: Texts, pool: np.ndarray, settings: FasttextSettings, workdir: Path
              ) -> tuple[Calibration, dict[str, Any]]:
    """Length-aware Platt fit on out-of-fold logits of the pool (source-balanced), and the threshold."""
    z = oof_logits(t, pool, settings, workdir)
    fitted = pool & t.scorable & ~np.isnan(z)
    part = t.take(fitted)
    calibration = fit_calibration(z[fitted], token_counts(part.lines), part.llm, source_balanced_weights(part))
    p = np.full(len(t), np.nan)
    p[fitted] = calibration.p_llm(z[fitted], token_counts(part.lines))
    return calibration, operating_threshold(t, fitted, p)


def train(options: TrainOptions, crawls: tuple[str, ...] = (), settings: FasttextSettings = DEFAULT_SETTINGS,
          ) -> dict[str, Any]:
    """Train, calibrate, evaluate and write <model_name>.ftz + card (.json, .md); return the card. `crawls`:
    with --negatives, only those crawls of the warehouse (each pre-ChatGPT)."""
    examples, inputs = load_examples(options, crawls)
    t = build_texts(examples)
    exclude = frozenset(g.lower() for g in options.exclude_generators)
    pool = trainable(t, exclude)
    test = t.heldout & t.scorable
    if not (pool & t.llm).any() or not (pool & ~t.llm).any():
        raise ConfigError(f"training needs human and LLM texts of >= {MIN_TRAIN_WORDS} words outside the held-out "
                          "groups, the LLM texts of a generator not in --exclude-generators")
    _log(f"{len(t)} texts: {int(pool.sum())} to train on, {int(test.sum())} held out and scorable")
    out_dir = Path(options.model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="leakwatch-train-") as tmp:
        workdir = Path(tmp)
        tried = sweep(t, pool, test, workdir) if options.sweep else []
        if tried:
            best = max(tried, key=lambda r: (r["auroc"] or 0.0, r["tpr_at_1pct_fpr"] or 0.0))
            settings = FasttextSettings(**best["settings"])
        calibration, threshold = calibrate(t, pool, settings, workdir)
        model = fit(t, pool, settings, workdir, seed=100)
        model_path = out_dir / f"{options.model_name}.ftz"
        quantize(model, model_path)
        p = np.full(len(t), np.nan)
        idx = np.flatnonzero(test)
        p[idx] = calibration.p_llm(logits(model, t.lines[idx]), token_counts(t.lines[idx]))
        results = evaluate_all(t, pool, test, p, threshold["value"], calibration, settings, workdir, exclude,
                               retrain=options.evaluate)
    table = calibration_table(t, test, p, threshold["value"])
    card = build_card(t, examples, model_path, settings, tried, threshold, calibration, results, table, inputs,
                      exclude)
    validate_card(card)
    (out_dir / f"{options.model_name}.card.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    write_card_md(card, out_dir / f"{options.model_name}.card.md")
    return card


def run(config: Config) -> int:
    """Train the classifier and write it with its card."""
    card = train(config.train, config.inputs.crawl)
    print(json.dumps({"model": card["model"], "targets": card["targets"]}, indent=1))
    return 0
