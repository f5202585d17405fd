"""The model card: built from a training run's figures (JSON, checked against its schema); rendered as
Markdown by leakwatch.training.card_md."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch import __version__
from leakwatch.training.corpus import MIN_TRAIN_WORDS, SOURCES, WEB_SALT, WEB_SOURCES, Example
from leakwatch.training.data import LLM_PAGES_SALT, LLM_PAGES_SOURCE
from leakwatch.training.fasttext import QUANTIZE_CUTOFF, THREADS, FasttextSettings
from leakwatch.training.metrics import rates
from leakwatch.training.texts import SOURCE_ALPHA, WEIGHT_CAP, Texts
from leakwatch.udfs.classifier import (
    GROUPING_VERSION,
    HELDOUT_PERCENT,
    HELDOUT_SALT,
    MAX_TOKENS,
    MIN_WORDS,
    OPENING_WORDS,
    SCORED_LANGUAGE,
    SIBLING_RULES,
    TEXT_FORM,
    load_card_schema,
    model_id,
    schema_errors,
)
from leakwatch.udfs.scoring import Calibration

CARD_VERSION = 2
THRESHOLD_GRID = [round(x, 3) for x in [*np.arange(0.05, 0.951, 0.05), 0.97, 0.98, 0.99, 0.995, 0.999]]
# The targets, each read from one figure of the card's metrics ("_max": at most, else at least).
TARGETS = {
    "logo_mean_auroc": (0.95, ("leave_one_generator_out", "mean_auroc")),
    "logo_mean_tpr_at_1pct_fpr": (0.6, ("leave_one_generator_out", "mean_tpr_at_1pct_fpr")),
    "lodo_mean_auroc": (0.93, ("leave_one_domain_out", "mean_auroc")),
    "web_fpr_at_threshold_max": (0.01, ("web", "all", "fpr")),
    "max_tie_share_max": (0.005, ("calibration_quality", "max_tie_share")),
    "ece_max": (0.05, ("calibration_quality", "ece")),
    "logo_tpr_spread_max": (0.15, ("leave_one_generator_out", "tpr_spread")),
}
# The throughput target, recorded by benchmarks/bench_classify.py --record-card (not by training).
DOCS_PER_S_TARGET = 2000
LLM_PAGES_NOTE = (
    "The LLM web pages were written for this project by one model family (Claude, Anthropic) answering "
    "website owners' one-line requests in 27 web genres, some lightly edited as a hurried owner would. They show "
    "how the model reads LLM copy of those genres and lengths, light edits and chatbot leftovers. They cannot show "
    "how other families (GPT, Gemini, Llama, Mistral, ...) write web copy, what real content farms' prompts and "
    "post-processing do, mixed human/LLM pages beyond light edits, or other languages. The held-out quarter is "
    "written by the same family as the training pages, so its figures are in-family; leave_one_generator_out's "
    "'claude' row (trained without any of them) is the out-of-family estimate."
)


def _get(block: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        block = block.get(key) if isinstance(block, dict) else None
    return block


def card_targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target with its measured value and whether it was reached."""
    out = {}
    for name, (target, path) in TARGETS.items():
        value = _get(results, path)
        reached = value is not None and (value <= target if name.endswith("_max") else value >= target)
        out[name] = {"target": target, "value": value, "reached": bool(reached), "from": ".".join(path)}
    return out


def _source_rows(examples: list[Example], t: Texts) -> list[dict[str, Any]]:
    rows = []
    scorable = t.scorable
    for source in sorted(set(t.source)):
        m = t.source == source
        licence, citation = SOURCES.get(source, ("see data.inputs", ""))
        rows.append({
            "source": source, "licence": licence, "citation": citation,
            "n_human": int((m & ~t.llm).sum()), "n_llm": int((m & t.llm).sum()),
            "n_train": int((m & ~t.heldout & (t.n_words >= MIN_TRAIN_WORDS)).sum()),
            "n_heldout": int((m & t.heldout).sum()), "n_heldout_scorable": int((m & t.heldout & scorable).sum()),
        })
    return rows


def heldout_fingerprint(examples: list[Example]) -> str:
    """sha256 over the sorted hashes of held-out texts: a validator recomputes it to check its split."""
    digests = sorted(hashlib.sha256(e.text.encode("utf-8", "surrogatepass")).hexdigest()
                     for e in examples if e.heldout)
    return "sha256:" + hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def calibration_table(t: Texts, test: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """TPR/FPR with counts at each grid threshold (and the operating one), overall and per slice: the table
    the statistics read their TPR and FPR from."""
    thresholds = sorted({*THRESHOLD_GRID, round(threshold, 6)})
    masks = {"overall": test & ~np.isin(t.source, list(WEB_SOURCES))}
    for s in sorted(set(t.source[test])):
        masks[f"source:{s}"] = test & (t.source == s)
    for g in sorted(set(t.generator[test & t.llm])):
        masks[f"generator:{g}"] = test & (((t.generator == g) & t.llm) | (~t.llm & np.isin(
            t.source, sorted(set(t.source[(t.generator == g) & t.llm])))))
    for d in sorted(set(t.domain[test])):
        masks[f"domain:{d}"] = test & (t.domain == d)
    return {"thresholds": thresholds,
            "slices": {name: [rates(t.llm[m], p[m], x) for x in thresholds] for name, m in masks.items()}}


def build_card(t: Texts, examples: list[Example], model_path: Path, settings: FasttextSettings,
               tried: list[dict[str, Any]], threshold: dict[str, Any], calibration: Calibration,
               results: dict[str, Any], table: dict[str, Any], inputs: dict[str, Any],
               exclude: frozenset[str]) -> dict[str, Any]:
    """The model card as a JSON-ready dict (schema: udfs/data/model_card.schema.json)."""
    scoring = {"text_form": TEXT_FORM, "logit": "fasttext sentence vector . (output row llm - output row human)",
               "calibration": calibration.as_dict(), "threshold": threshold["value"]}
    card = {
        "card_version": CARD_VERSION,
        "model": {},
        "scope": {
            "language": SCORED_LANGUAGE, "min_words": MIN_WORDS, "max_tokens": MAX_TOKENS,
            "not_scored": f"documents whose language is not '{SCORED_LANGUAGE}' (lid.176) or with fewer than "
            f"{MIN_WORDS} whitespace-separated words get p_llm null and scored false",
            "text_form": f"udfs.classifier.classifier_text ({TEXT_FORM}): list bullets and control characters "
            f"dropped, NFKC, lowercase, punctuation split off as tokens, digits to 0, first {MAX_TOKENS} tokens",
        },
        "scoring": scoring,
        "data": {
            "inputs": inputs,
            "sources": _source_rows(examples, t),
            "as_the_pipeline_sees_it": "labelled texts and LLM pages detokenized, rendered as pages "
            "(leakwatch.validation.pages.page_html) and extracted (udfs.html.main_text); real web pages as extracted",
            "excluded_generators": sorted(exclude),
            "trained_generators": sorted(set(t.generator[~t.heldout & t.llm]) - exclude),
            "llm_pages": LLM_PAGES_NOTE,
            "min_train_words": MIN_TRAIN_WORDS,
            "weights": f"source-balanced: each source group (the corpora; real web + LLM web pages as one) gets "
            f"n**{SOURCE_ALPHA} of the weight, split equally between its human and LLM texts, the LLM half equally "
            f"between its generators; no text above {WEIGHT_CAP}",
            "grouping": {"version": GROUPING_VERSION, "opening_words": OPENING_WORDS, "rules": SIBLING_RULES},
            "heldout": {
                "percent": HELDOUT_PERCENT,
                "rule": f"corpora: sha256('{HELDOUT_SALT}:' + group_id) first 8 bytes big-endian mod 100 < "
                f"{HELDOUT_PERCENT}; LLM pages ({LLM_PAGES_SOURCE}): sha256('{LLM_PAGES_SALT}:' + group) mod 4 == 2 "
                f"(== 3: the demo's, never read); real web pages: sha256('{WEB_SALT}:' + group) mod 2 == 1",
                "n_records": sum(e.heldout for e in examples),
                "fingerprint": heldout_fingerprint(examples),
            },
        },
        "settings": {**dataclasses.asdict(settings), "fingerprint": settings.fingerprint(), "thread": THREADS,
                     "quantize_cutoff": QUANTIZE_CUTOFF, "quantize": "input matrix only, no retraining"},
        "settings_tried": tried,
        "operating_threshold": threshold,
        "metrics": results,
        "targets": card_targets(results),
        "calibration": table,
    }
    block = json.dumps(scoring, sort_keys=True)
    card["model"] = {
        "file": model_path.name, "model_id": model_id(str(model_path), block), "size_bytes": model_path.stat().st_size,
        "quantized": True, "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "leakwatch_version": __version__,
    }
    return card


def validate_card(card: dict[str, Any]) -> None:
    """Raise ValueError listing every way the card breaks its JSON schema."""
    errors = schema_errors(card, load_card_schema(card.get("card_version", 1)))
    if errors:
        raise ValueError("model card does not match its schema:\n  " + "\n  ".join(errors[:20]))


def record_throughput(card_file: Path, results: dict[str, Any], measured_at: str) -> dict[str, Any]:
    """Add benchmarks/bench_classify.py's figures for the card's model (and its baseline's) to the card as
    `throughput`, check it and write the .json and .md again. The model_id does not change."""
    card = json.loads(card_file.read_text(encoding="utf-8"))
    mine = [m for m in results["models"] if m["model_id"] == card["model"]["model_id"]]
    if not mine:
        raise ValueError(f"the benchmark did not measure {card['model']['model_id']} (the model of {card_file})")
    others = [m for m in results["models"] if m["model_id"] != card["model"]["model_id"]]
    keep = ("model", "model_id", "spark_local1_docs_per_s_per_core", "spark_docs_per_cpu_s", "plain_batched_docs_per_s")
    card["throughput"] = {
        "benchmark": "benchmarks/bench_classify.py: 1,000-word English documents, P(LLM) + marker counts, "
                     "Spark local[1] pandas UDF, warm JVM; the baseline measured in the same run",
        "measured_at": measured_at, "docs": results["docs"],
        "spark_local1_docs_per_s_per_core": mine[0]["spark_local1_docs_per_s_per_core"],
        "spark_docs_per_cpu_s": mine[0]["spark_docs_per_cpu_s"],
        "plain_batched_docs_per_s": mine[0]["plain_batched_docs_per_s"],
        "machine": {"cpu_count": results.get("cpu_count"), **results.get("machine", {})},
        "baseline": {k: others[0][k] for k in keep} if others else None,
    }
    value = card["throughput"]["spark_local1_docs_per_s_per_core"]
    card["targets"]["spark_docs_per_s_per_core"] = {"target": DOCS_PER_S_TARGET, "value": value,
                                                    "reached": value >= DOCS_PER_S_TARGET,
                                                    "from": "throughput.spark_local1_docs_per_s_per_core"}
    validate_card(card)
    card_file.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    from leakwatch.training.card_md import write_card_md

    write_card_md(card, card_file.with_name(card_file.name.removesuffix(".card.json") + ".card.md"))
    return card
