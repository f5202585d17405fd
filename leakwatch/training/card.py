"""The model card: built from a training run's figures (JSON, checked against its schema) and
rendered as Markdown."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from leakwatch import __version__
from leakwatch.training.corpus import EVAL_ONLY_SOURCES, MIN_TRAIN_WORDS, SOURCES, Example
from leakwatch.training.fasttext import QUANTIZE_CUTOFF, THREADS, FasttextSettings
from leakwatch.udfs.classifier import (
    GROUPING_VERSION,
    HELDOUT_PERCENT,
    HELDOUT_SALT,
    MAX_TOKENS,
    MIN_WORDS,
    OPENING_WORDS,
    SCORED_LANGUAGE,
    SIBLING_RULES,
    is_scorable,
    load_card_schema,
    model_id,
    schema_errors,
)

CARD_VERSION = 1
TARGETS = {"logo_mean_auroc": 0.95, "tpr_at_1pct_fpr": 0.6, "web_cc2019_fpr_max": 0.01}


def _source_rows(examples: list[Example]) -> list[dict[str, Any]]:
    rows = []
    for source in sorted({e.source for e in examples}):
        mine = [e for e in examples if e.source == source]
        licence, citation = SOURCES.get(source, ("unknown: check the data's README", ""))
        rows.append({
            "source": source,
            "licence": licence,
            "citation": citation,
            "n_human": sum(not e.llm for e in mine),
            "n_llm": sum(e.llm for e in mine),
            "n_train": sum(not e.heldout and e.n_words >= MIN_TRAIN_WORDS for e in mine),
            "n_heldout": sum(e.heldout for e in mine),
            "n_heldout_scorable": sum(e.heldout and is_scorable(e.language, e.n_words) for e in mine),
        })
    return rows


def heldout_fingerprint(examples: list[Example]) -> str:
    """sha256 over the sorted hashes of held-out texts: a validator recomputes it to check its split."""
    digests = sorted(hashlib.sha256(e.text.encode("utf-8", "surrogatepass")).hexdigest()
                     for e in examples if e.heldout)
    return "sha256:" + hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def card_targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue with its measured value and whether it was reached."""
    measured = {
        "logo_mean_auroc": results["leave_one_generator_out"]["mean_auroc"],
        "tpr_at_1pct_fpr": results["random_grouped"]["overall"]["tpr_at_1pct_fpr"],
        "web_cc2019_fpr_max": results["web_cc2019"]["fpr"],
    }
    out = {}
    for name, target in TARGETS.items():
        value = measured[name]
        reached = value is not None and (value <= target if name.endswith("_max") else value >= target)
        out[name] = {"target": target, "value": value, "reached": reached}
    return out


def build_card(
    examples: list[Example], model_path: Path, settings: FasttextSettings, tried: list[dict[str, Any]],
    threshold: dict[str, Any], results: dict[str, Any], calib: dict[str, Any], data_dir: Path,
) -> dict[str, Any]:
    """The model card as a JSON-ready dict (schema: udfs/data/model_card.schema.json)."""
    return {
        "card_version": CARD_VERSION,
        "model": {
            "file": model_path.name,
            "model_id": model_id(str(model_path)),
            "size_bytes": model_path.stat().st_size,
            "quantized": True,
            "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "leakwatch_version": __version__,
        },
        "scope": {
            "language": SCORED_LANGUAGE,
            "min_words": MIN_WORDS,
            "max_tokens": MAX_TOKENS,
            "not_scored": f"documents whose language is not '{SCORED_LANGUAGE}' (lid.176) or with fewer "
            f"than {MIN_WORDS} whitespace-separated words get p_llm null and scored false",
            "text_form": "udfs.classifier.classifier_text: NFKC, lowercase, punctuation split off as "
            f"tokens, digits to 0, first {MAX_TOKENS} tokens",
        },
        "data": {
            "dir": data_dir.name,
            "sources": _source_rows(examples),
            "eval_only_sources": list(EVAL_ONLY_SOURCES),
            "min_train_words": MIN_TRAIN_WORDS,
            "generator_aliases": "udfs.classifier.GENERATOR_ALIASES",
            "grouping": {
                "version": GROUPING_VERSION,
                "opening_words": OPENING_WORDS,
                "rules": SIBLING_RULES,
            },
            "heldout": {
                "percent": HELDOUT_PERCENT,
                "rule": f"sha256('{HELDOUT_SALT}:' + group_id) first 8 bytes big-endian mod 100 < "
                f"{HELDOUT_PERCENT}; group ids from udfs.classifier.assign_groups over each file in "
                "its order; plus every record of the eval-only sources",
                "n_records": sum(e.heldout for e in examples),
                "fingerprint": heldout_fingerprint(examples),
            },
        },
        "settings": {**dataclasses.asdict(settings), "fingerprint": settings.fingerprint(),
                     "thread": THREADS, "quantize_cutoff": QUANTIZE_CUTOFF},
        "settings_tried": tried,
        "operating_threshold": threshold,
        "metrics": results,
        "targets": card_targets(results),
        "calibration": calib,
    }


def write_card_md(card: dict[str, Any], path: Path) -> None:
    """The human-readable model card."""
    path.write_text(render_card_md(card), encoding="utf-8")


def _fmt(x: Any) -> str:
    return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def _head_md(card: dict[str, Any]) -> list[str]:
    m, op = card["model"], card["operating_threshold"]
    lines = [
        f"# leakwatch synthetic-text classifier — `{m['file']}`",
        "",
        f"model_id `{m['model_id']}`, {m['size_bytes'] / 1e6:.2f} MB quantized fasttext, "
        f"created {m['created_at']} by leakwatch {m['leakwatch_version']} (`leakwatch train`).",
        "",
        "## Scope",
        f"- English only: {card['scope']['not_scored']}; such documents count as not covered.",
        f"- Text form: {card['scope']['text_form']}.",
        f"- Output: P(LLM-written). Operating threshold **{op['value']:.4f}**, chosen by {op['chosen_by']}.",
        "",
        "## Data",
        "| source | licence | citation | human | llm | trained on | held out | held out, scorable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in card["data"]["sources"]:
        lines.append(f"| {s['source']} | {s['licence']} | {s['citation']} | {s['n_human']} | {s['n_llm']} | "
                     f"{s['n_train']} | {s['n_heldout']} | {s['n_heldout_scorable']} |")
    d = card["data"]
    return lines + [
        "",
        f"- Eval-only (never trained on): {', '.join(d['eval_only_sources'])}. Training texts need "
        f">= {d['min_train_words']} words; evaluation uses scorable texts only.",
        f"- Sibling groups ({d['grouping']['version']}): a human text and the LLM texts made from it share "
        f"a group; rules per source {d['grouping']['rules']}, plus a shared opening of "
        f"{d['grouping']['opening_words']} normalized words in any source.",
        f"- Held out: {d['heldout']['rule']} ({d['heldout']['n_records']} records, fingerprint "
        f"`{d['heldout']['fingerprint']}`). Call `udfs.classifier.heldout_mask(records)` to get them.",
    ]


def _settings_md(card: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Settings",
        f"`{card['settings']['fingerprint']}`: " + ", ".join(
            f"{k}={v}" for k, v in card["settings"].items() if k != "fingerprint"),
        "",
        "### Settings tried (trained on the training pool, measured on the held-out split)",
        "| settings | AUROC | TPR@1%FPR | TPR@5%FPR | train s |",
        "|---|---|---|---|---|",
    ]
    for t in card["settings_tried"]:
        lines.append(f"| `{t['fingerprint']}` | {_fmt(t['auroc'])} | {_fmt(t['tpr_at_1pct_fpr'])} | "
                     f"{_fmt(t['tpr_at_5pct_fpr'])} | {t['train_seconds']} |")
    if not card["settings_tried"]:
        lines.append("| (no sweep in this run: `leakwatch train --sweep`) | | | | |")
    lines += ["", "## Targets", "| target | wanted | measured | reached |", "|---|---|---|---|"]
    for name, t in card["targets"].items():
        lines.append(f"| {name} | {t['target']} | {_fmt(t['value'])} | {'yes' if t['reached'] else 'no'} |")
    return lines


def _metrics_md(card: dict[str, Any]) -> list[str]:
    res = card["metrics"]
    web = res["web_cc2019"]
    lines = [
        "",
        f"web-cc2019 (pre-ChatGPT web pages, English and >= {card['scope']['min_words']} words): "
        f"{web['fp']} of {web['n_scored']} flagged at the operating threshold (FPR {_fmt(web['fpr'])}).",
        "",
        "## Random grouped split (the shipped model on the held-out groups)",
        "| slice | pos | neg | AUROC | TPR@1%FPR | TPR@5%FPR | TPR@op | FPR@op |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in res["random_grouped"].items():
        op_rates = r["rates_at_operating_threshold"]
        lines.append(f"| {name} | {r['n_pos']} | {r['n_neg']} | {_fmt(r['auroc'])} | {_fmt(r['tpr_at_1pct_fpr'])} "
                     f"| {_fmt(r['tpr_at_5pct_fpr'])} | {_fmt(op_rates['tpr'])} | {_fmt(op_rates['fpr'])} |")
    for key, per_key, what in (("leave_one_generator_out", "per_generator", "generator"),
                               ("leave_one_domain_out", "per_domain", "domain")):
        block = res[key]
        lines += [
            "",
            f"## Leave one {what} out (mean AUROC {_fmt(block['mean_auroc'])})",
            f"Trained without the {what}'s texts, tested on its held-out texts"
            + (" and the held-out human texts of its sources." if what == "generator" else "."),
            "",
            f"| {what} | pos | neg | AUROC | TPR@1%FPR | TPR@5%FPR |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in block[per_key].items():
            lines.append(f"| {name} | {r['n_pos']} | {r['n_neg']} | {_fmt(r['auroc'])} | "
                         f"{_fmt(r['tpr_at_1pct_fpr'])} | {_fmt(r['tpr_at_5pct_fpr'])} |")
    return lines


def _calibration_md(card: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Calibration (shipped model, held-out texts; `p_llm >= threshold` counts as flagged)",
        "Full table per source, generator and domain in the `.json` card (`calibration.slices`).",
        "",
        "| threshold | TP / pos | TPR | FP / neg | FPR |",
        "|---|---|---|---|---|",
    ]
    for r in card["calibration"]["slices"]["overall"]:
        lines.append(f"| {r['threshold']} | {r['tp']} / {r['n_pos']} | {_fmt(r['tpr'])} | "
                     f"{r['fp']} / {r['n_neg']} | {_fmt(r['fpr'])} |")
    return lines


def render_card_md(card: dict[str, Any]) -> str:
    """Markdown of a model card dict: sources, settings, metrics, targets, calibration."""
    return "\n".join(_head_md(card) + _settings_md(card) + _metrics_md(card) + _calibration_md(card)) + "\n"


def validate_card(card: dict[str, Any]) -> None:
    """Raise ValueError listing every way the card breaks its JSON schema."""
    errors = schema_errors(card, load_card_schema())
    if errors:
        raise ValueError("model card does not match its schema:\n  " + "\n  ".join(errors[:20]))
