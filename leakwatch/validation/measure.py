"""Measuring with a known truth: TP/FP counts on the text as the pipeline sees it (validate's
calibration half, the demo's held-out pages), the comparison of each crawl's estimate with the truth,
the exit rule, and the table `leakwatch validate` prints."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from leakwatch.errors import ConfigError
from leakwatch.schemas.calibration import write_calibration
from leakwatch.training.corpus import Example
from leakwatch.udfs.classifier import MODEL_FILE, resolve_model, score_frame, word_count
from leakwatch.udfs.html import main_text
from leakwatch.udfs.langid import identify_languages
from leakwatch.validation.pages import page_html
from leakwatch.validation.samples import calibration_texts

if TYPE_CHECKING:
    from leakwatch.config import Config

CALIBRATION_FILE = "calibration.json"
CSV_COLUMNS = ("crawl", "pre_chatgpt", "view", "injected_share", "n_docs", "n_scored", "truth_all", "truth_scored",
               "raw_share", "estimate", "ci_low", "ci_high", "bias", "covered", "within_tolerance")


def extracted_text(text: str, seed: str) -> str:
    """The text as the pipeline sees it: rendered as a page, then main content extracted."""
    return main_text(page_html(text, random.Random(seed)))


def scorable_inputs(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """(language, n_words) per text, computed as extract does (lid.176 on the text, whitespace words)."""
    return [code for code, _ in identify_languages(list(texts))], [word_count(t) for t in texts]


def extracted_counts(texts: Sequence[str], llm: Sequence[bool], model: str, threshold: float, seed: str) -> dict:
    """TP/FP counts at `threshold` on the texts as the pipeline sees them (rendered, then extracted)."""
    pages = [extracted_text(t, f"{seed}:{i}") for i, t in enumerate(texts)]
    languages, n_words = scorable_inputs(pages)
    frame = score_frame(pages, languages, n_words, model)
    return {"threshold": threshold, **flag_counts(llm, frame["p_llm"], frame["scored"], threshold)}


def flag_counts(llm: Sequence[bool], p_llm: np.ndarray, scored: np.ndarray, threshold: float) -> dict[str, int]:
    """TP/positives and FP/negatives among scored texts at `p_llm >= threshold`."""
    llm_arr = np.asarray(llm, dtype=bool)
    scored_arr = np.asarray(scored, dtype=bool)
    flagged = scored_arr & (np.nan_to_num(np.asarray(p_llm, dtype=float), nan=-1.0) >= threshold)
    return {
        "tp": int((flagged & llm_arr).sum()),
        "n_pos": int((scored_arr & llm_arr).sum()),
        "fp": int((flagged & ~llm_arr).sum()),
        "n_neg": int((scored_arr & ~llm_arr).sum()),
    }


def model_threshold(config: Config) -> tuple[str, float]:
    """(model path, threshold): --flag-threshold, else the operating threshold of the model's card."""
    model, _ = resolve_model(config.classify.model)
    if config.stats.flag_threshold is not None:
        return str(model), float(config.stats.flag_threshold)
    card = model.with_name(model.name.replace(".ftz", ".card.json")) if model.name.endswith(".ftz") else None
    if card is None or not card.is_file():
        raise ConfigError(f"no model card beside {model} (expected {MODEL_FILE.replace('.ftz', '.card.json')} "
                          "naming its operating threshold): pass --flag-threshold")
    return str(model), float(json.loads(card.read_text("utf-8"))["operating_threshold"]["value"])


def calibrate(examples: Sequence[Example], model: str, threshold: float, seed: int) -> dict[str, dict]:
    """TP/FP counts of the calibration half, on the extracted page text (what the pipeline scores)
    and on the raw labelled text (what the model card measured), to show whether it matters."""
    llm = [e.llm for e in examples]
    raw = score_frame([e.text for e in examples], [e.language for e in examples], [e.n_words for e in examples], model)
    return {
        "extracted": extracted_counts([e.text for e in examples], llm, model, threshold, f"{seed}:calibration"),
        "raw": {"threshold": threshold, **flag_counts(llm, raw["p_llm"], raw["scored"], threshold)},
    }


def demo_calibration(folder: Path, config: Config) -> tuple[dict, Path | None]:
    """The model's TP/FP counts on the held-out sample-like pages, and the file the stats job reads them
    from; no file when the counts cannot correct (TPR not above FPR)."""
    model, threshold = model_threshold(config)
    texts = calibration_texts()
    counts = extracted_counts([t for t, _ in texts], [llm for _, llm in texts], model, threshold, "demo-calibration")
    source = "leakwatch demo: held-out sample-like pages (pydoc paragraphs no shard holds, llm_pages_calibration.jsonl)"
    try:
        return counts, write_calibration(folder / "calibration.json", counts, source)
    except ConfigError:
        return counts, None


def compare(
    truth: Sequence[Mapping], estimates: Mapping[tuple[str, str], Mapping], tolerance: float
) -> list[dict]:
    """One row per truth row (crawl x view): truth, estimate, CI, bias, coverage, tolerance check.
    Truth is the LLM share among scored pages, which is what the estimator estimates."""
    rows = []
    for t in truth:
        est = estimates.get((t["crawl"], t["view"])) or {}
        truth_scored = t["n_llm_scored"] / t["n_scored"] if t["n_scored"] else None
        estimate = est.get("prevalence")
        bias = None if estimate is None or truth_scored is None else estimate - truth_scored
        low, high = est.get("ci_low"), est.get("ci_high")
        rows.append({
            "crawl": t["crawl"],
            "pre_chatgpt": t["pre_chatgpt"],
            "view": t["view"],
            "injected_share": t["injected_share"],
            "n_docs": t["n_docs"],
            "n_scored": t["n_scored"],
            "truth_all": t["n_llm"] / t["n_docs"] if t["n_docs"] else None,
            "truth_scored": truth_scored,
            "raw_share": est.get("raw_share"),
            "estimate": estimate,
            "ci_low": low,
            "ci_high": high,
            "bias": bias,
            "covered": None if bias is None or low is None or high is None else low <= truth_scored <= high,
            "within_tolerance": bias is not None and abs(bias) <= tolerance,
        })
    return rows


def passed(rows: Sequence[Mapping]) -> bool:
    """The exit rule: every crawl of the captures view within tolerance (a missing estimate fails)."""
    captures = [r for r in rows if r["view"] == "captures"]
    return bool(captures) and all(r["within_tolerance"] for r in captures)


def write_result(out: Path, result: dict) -> None:
    """OUT/validation.json (the whole result) and OUT/validation.csv (its rows)."""
    (out / "validation.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    with (out / "validation.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(result["rows"])


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def format_table(result: dict) -> str:
    """The comparison as a fixed-width table, shares in percent."""
    lines = [f"{'crawl':<16} {'view':<10} {'inj%':>5} {'scored':>6} {'truth%':>6} {'all%':>5} {'raw%':>5} "
             f"{'est%':>5} {'95% CI':>13} {'bias pp':>7}  covers  ok"]
    for r in result["rows"]:
        ci = f"[{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"
        bias = "-" if r["bias"] is None else f"{100 * r['bias']:+.1f}"
        pre = "*" if r["pre_chatgpt"] else " "
        lines.append(f"{r['crawl'] + pre:<16} {r['view']:<10} {_pct(r['injected_share']):>5} {r['n_scored']:>6} "
                     f"{_pct(r['truth_scored']):>6} {_pct(r['truth_all']):>5} {_pct(r['raw_share']):>5} "
                     f"{_pct(r['estimate']):>5} {ci:>13} {bias:>7}  {str(r['covered']):<6}  "
                     f"{'yes' if r['within_tolerance'] else 'NO'}")
    c = result["calibration"]
    lines.append("* pre-ChatGPT (negative control). truth% = LLM share among scored pages (what is estimated); "
                 "all% = among all pages.")
    lines.append(f"calibration (extracted page text): TP {c['extracted']['tp']}/{c['extracted']['n_pos']}, "
                 f"FP {c['extracted']['fp']}/{c['extracted']['n_neg']}; on raw labelled text: TP {c['raw']['tp']}/"
                 f"{c['raw']['n_pos']}, FP {c['raw']['fp']}/{c['raw']['n_neg']}")
    verdict = "PASSED" if result["passed"] else "FAILED"
    lines.append(f"{verdict}: {result['rule']} ({100 * result['tolerance']:.1f} pp); {result['pages']} pages, "
                 f"{result['seconds']} s")
    return "\n".join(lines)
