"""Measuring with a known truth: the text as the pipeline sees it (rendered, extracted), the model and
threshold, the comparison of each crawl's estimates with the truth, the exit rule, and the table
`leakwatch validate` prints."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leakwatch.errors import ConfigError
from leakwatch.schemas.values import ESTIMATOR_COLUMNS
from leakwatch.udfs.classifier import MODEL_FILE, resolve_model, word_count
from leakwatch.udfs.html import main_text
from leakwatch.udfs.langid import identify_languages
from leakwatch.validation.pages import page_html

if TYPE_CHECKING:
    from leakwatch.config import Config

CSV_COLUMNS = ("crawl", "pre_chatgpt", "view", "injected_share", "n_docs", "n_scored", "truth_all", "truth_scored",
               "truth_known", "raw_share", "estimate", "ci_low", "ci_high", "bias", "bias_known", "covered",
               "within_tolerance", "not_measurable",
               *(f"{c}{part}" for c in ESTIMATOR_COLUMNS for part in ("", "_low", "_high", "_error", "_covered")))


def extracted_text(text: str, seed: str) -> str:
    """The text as the pipeline sees it: rendered as a page, then main content extracted."""
    return main_text(page_html(text, random.Random(seed)))


def scorable_inputs(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """(language, n_words) per text, computed as extract does (lid.176 on the text, whitespace words)."""
    return [code for code, _ in identify_languages(list(texts))], [word_count(t) for t in texts]


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


def compare(
    truth: Sequence[Mapping], estimates: Mapping[tuple[str, str], Mapping], tolerance: float
) -> list[dict]:
    """One row per truth row (crawl x view): truth, the default estimate and CI, bias, coverage, tolerance
    check, and every estimator's share, interval and error. Truth is the LLM share among scored pages,
    which is what the estimators estimate."""
    rows = []
    for t in truth:
        est = estimates.get((t["crawl"], t["view"])) or {}
        truth_scored = t["n_llm_scored"] / t["n_scored"] if t["n_scored"] else None
        # The LLM share of the kind the model knows (generators it trained on): what the estimate can see.
        known = t.get("n_known_scored")
        truth_known = known / t["n_scored"] if known is not None and t["n_scored"] else None
        estimate = est.get("prevalence")
        bias = None if estimate is None or truth_scored is None else estimate - truth_scored
        low, high = est.get("ci_low"), est.get("ci_high")
        row = {
            "crawl": t["crawl"],
            "pre_chatgpt": t["pre_chatgpt"],
            "view": t["view"],
            "injected_share": t["injected_share"],
            "n_docs": t["n_docs"],
            "n_scored": t["n_scored"],
            "truth_all": t["n_llm"] / t["n_docs"] if t["n_docs"] else None,
            "truth_scored": truth_scored,
            "truth_known": truth_known,
            "raw_share": est.get("raw_share"),
            "estimate": estimate,
            "ci_low": low,
            "ci_high": high,
            "bias": bias,
            "bias_known": None if estimate is None or truth_known is None else estimate - truth_known,
            "covered": None if bias is None or low is None or high is None else low <= truth_scored <= high,
            "within_tolerance": bias is not None and abs(bias) <= tolerance,
            "not_measurable": est.get("not_measurable"),
        }
        for c in ESTIMATOR_COLUMNS:
            share, lo, hi = (est.get(f"{c}{part}") for part in ("", "_low", "_high"))
            error = None if share is None or truth_scored is None else share - truth_scored
            row.update({c: share, f"{c}_low": lo, f"{c}_high": hi, f"{c}_error": error,
                        f"{c}_covered": None if error is None or lo is None else lo <= truth_scored <= hi})
        rows.append(row)
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
    """The comparison as a fixed-width table, shares in percent: the default estimate with its CI, then
    every estimator's share."""
    names = " ".join(f"{c[:6]:>6}" for c in ESTIMATOR_COLUMNS)
    lines = [f"{'crawl':<16} {'view':<10} {'inj%':>5} {'scored':>6} {'truth%':>6} {'known%':>6} {'raw%':>5} "
             f"{'est%':>5} {'95% CI':>13} {'bias pp':>7} {'vs known':>8}  covers  ok   {names}"]
    for r in result["rows"]:
        ci = f"[{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"
        bias = "-" if r["bias"] is None else f"{100 * r['bias']:+.1f}"
        bias_known = "-" if r.get("bias_known") is None else f"{100 * r['bias_known']:+.1f}"
        pre = "*" if r["pre_chatgpt"] else " "
        shares = " ".join(f"{_pct(r[c]):>6}" for c in ESTIMATOR_COLUMNS)
        lines.append(f"{r['crawl'] + pre:<16} {r['view']:<10} {_pct(r['injected_share']):>5} {r['n_scored']:>6} "
                     f"{_pct(r['truth_scored']):>6} {_pct(r.get('truth_known')):>6} {_pct(r['raw_share']):>5} "
                     f"{_pct(r['estimate']):>5} {ci:>13} {bias:>7} {bias_known:>8}  {str(r['covered']):<6}  "
                     f"{'yes' if r['within_tolerance'] else 'NO ':<3}  {shares}")
    lines.append("* pre-ChatGPT (negative control). truth% = LLM share among scored pages (what is estimated; the "
                 "rule reads it); known% = the share of those of generators the model trained on (what it can see). "
                 f"est% = {result['estimator']} (the default); bound = a lower bound, not an estimate.")
    lines.append(f"LLM component: {result['llm_component']}")
    verdict = "PASSED" if result["passed"] else "FAILED"
    lines.append(f"{verdict}: {result['rule']} ({100 * result['tolerance']:.1f} pp); {result['pages']} pages, "
                 f"{result['seconds']} s")
    return "\n".join(lines)


def format_bakeoff(result: dict) -> str:
    """The bake-off's summary per run and estimator, in percentage points."""
    lines = [f"{'run':<6} {'estimator':<12} {'crawls':>6} {'max|err|':>8} {'mean|err|':>9} {'bias@0':>7} "
             f"{'coverage':>8} {'width':>6}"]
    for r in result["bakeoff"]:
        lines.append(f"{r['run']:<6} {r['estimator']:<12} {r['crawls']:>6} {r['max_abs_error_pp']:>8.1f} "
                     f"{r['mean_abs_error_pp']:>9.1f} {r['bias_at_0_pp']:>+7.1f} {r['coverage']:>8.2f} "
                     f"{r['mean_width_pp']:>6.1f}")
    lines.append("logo: the LLM component without the generator the crawl's LLM pages come from; drift: the human "
                 "mix of each crawl drawn anew. Coverage of a bound: its lower limit at or below the truth.")
    return "\n".join(lines)
