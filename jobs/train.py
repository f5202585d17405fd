"""`leakwatch train`: labelled JSONL -> quantized fasttext model + model card (.json and .md).

Runs on the driver without Spark: the corpus is ~30,000 texts. The shipped model never sees the
held-out sibling groups (udfs.classifier.is_heldout) nor web-cc2019; every figure in the card
comes from those texts, so `leakwatch validate` and the statistics can use them as unseen data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch import __version__
from leakwatch.errors import ConfigError
from leakwatch.jobs.config import Config
from leakwatch.udfs.classifier import (
    GROUPING_VERSION,
    HELDOUT_PERCENT,
    HELDOUT_SALT,
    HUMAN_LABEL,
    LABEL_PREFIX,
    LLM_LABEL,
    MAX_TOKENS,
    MIN_WORDS,
    MODEL_FILE,
    OPENING_WORDS,
    SCORED_LANGUAGE,
    SIBLING_RULES,
    assign_groups,
    canonical_generator,
    classifier_text,
    is_heldout,
    is_scorable,
    load_card_schema,
    model_id,
    predict_llm,
    schema_errors,
    word_count,
)
from leakwatch.udfs.langid import identify_language

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "labeled"
CARD_VERSION = 1
# Real pre-ChatGPT web text: measured, never trained on (its FPR would otherwise be in-sample).
EVAL_ONLY_SOURCES = ("web-cc2019",)
# Shorter labelled texts (one-line QA answers) teach little and are never scored anyway.
MIN_TRAIN_WORDS = 20
TARGET_FPR = 0.01
OOF_FOLDS = 3
NAN_RETRIES = 5
THREADS = 2
# Quantization: keep the most frequent words/n-grams and product-quantize their vectors.
QUANTIZE_CUTOFF = 100_000
THRESHOLD_GRID = [round(x, 3) for x in [*np.arange(0.05, 0.951, 0.05), 0.97, 0.98, 0.99, 0.995, 0.999]]
SOURCES = {
    "l2r": ("CC BY 3.0", "Hao, Li et al., Learning to Rewrite, ACL 2025"),
    "fast-detect-gpt": ("MIT", "Bao et al., Fast-DetectGPT, ICLR 2024"),
    "seqxgpt": ("Apache-2.0", "Wang et al., SeqXGPT, EMNLP 2023"),
    "mgtbench": ("MIT", "He et al., MGTBench, 2023"),
    "web-cc2019": (
        "Apache-2.0 (allenai/dolma test data); page text is third-party web content",
        "one CC-MAIN-2019-30 WARC via allenai/dolma",
    ),
}
TARGETS = {"logo_mean_auroc": 0.95, "tpr_at_1pct_fpr": 0.6, "web_cc2019_fpr_max": 0.01}


@dataclass(frozen=True)
class Settings:
    """fasttext supervised settings (names as fasttext spells them)."""

    wordNgrams: int = 2  # noqa: N815 - fasttext's own argument names
    dim: int = 32
    epoch: int = 15
    lr: float = 0.5
    minCount: int = 2  # noqa: N815
    minn: int = 0
    maxn: int = 0
    loss: str = "softmax"
    bucket: int = 2_000_000

    def fingerprint(self) -> str:
        """Short string naming every setting, e.g. 'wng2_dim32_ep15_lr0.5_mc2_ch0-0_softmax'."""
        return (
            f"wng{self.wordNgrams}_dim{self.dim}_ep{self.epoch}_lr{self.lr}_mc{self.minCount}"
            f"_ch{self.minn}-{self.maxn}_{self.loss}"
        )


DEFAULT_SETTINGS = Settings()
SWEEP = (
    Settings(wordNgrams=1),
    DEFAULT_SETTINGS,
    Settings(wordNgrams=3),
    Settings(epoch=30),
    Settings(dim=100),
    Settings(minCount=5),
    Settings(loss="ova"),
    Settings(minn=3, maxn=5, epoch=10),
    # Softer models: fasttext floors probabilities at 1e-5, so an over-confident model ties many
    # texts at p=1 and cannot be read at 1% FPR.
    Settings(lr=0.1, epoch=5),
    Settings(lr=0.1, epoch=15),
    Settings(dim=16, lr=0.05, epoch=10),
)


@dataclass
class Example:
    """One labelled text with what the splits and slices need."""

    text: str
    llm: bool
    generator: str
    domain: str
    source: str
    group: str
    heldout: bool
    n_words: int
    language: str


def read_corpus(data_dir: Path) -> list[Example]:
    """All *.jsonl files of a labelled folder, with sibling groups and the held-out flag."""
    files = sorted(data_dir.glob("*.jsonl"))
    if not files:
        raise ConfigError(f"no *.jsonl files in {data_dir}: pass --data DIR with labelled JSONL")
    examples = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            try:
                records = [json.loads(line) for line in fh if line.strip()]
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}: not JSON lines ({exc})") from exc
        missing = [i for i, r in enumerate(records) if not {"text", "label"} <= r.keys()]
        if missing:
            raise ConfigError(f"{path}: line {missing[0] + 1} lacks 'text' or 'label'")
        for rec, group in zip(records, assign_groups(records), strict=True):
            source = path.stem  # the corpus a text came from (web-cc2019's records name their crawl)
            lang = rec.get("lang") or "und"
            examples.append(
                Example(
                    text=rec["text"],
                    llm=rec["label"] == LLM_LABEL,
                    generator=canonical_generator(rec.get("generator") or "") if rec["label"] == LLM_LABEL else "",
                    domain=rec.get("domain") or "unknown",
                    source=source,
                    group=group,
                    heldout=source in EVAL_ONLY_SOURCES or is_heldout(group),
                    n_words=word_count(rec["text"]),
                    language=identify_language(rec["text"])[0] if lang == "und" else lang,
                )
            )
    return examples


def auroc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties averaged); None without both classes."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return None
    order = np.argsort(s, kind="mergesort")
    sorted_s = np.asarray(s)[order]
    ranks = np.empty(len(s))
    # Average ranks over ties: each run of equal scores gets the mean of its positions.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_at_fpr(human_scores: np.ndarray, fpr: float) -> float:
    """Lowest threshold t with at most floor(fpr * n) human scores >= t."""
    desc = np.sort(np.asarray(human_scores))[::-1]
    allowed = int(np.floor(fpr * len(desc)))
    if allowed >= len(desc):
        return 0.0
    return float(np.nextafter(desc[allowed], np.inf))


def rates(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, Any]:
    """Counts and rates of `p_llm >= threshold` against the labels."""
    y = np.asarray(y, dtype=bool)
    flagged = np.asarray(s) >= threshold
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    tp, fp = int((flagged & y).sum()), int((flagged & ~y).sum())
    return {
        "threshold": round(float(threshold), 6),
        "n_pos": n_pos,
        "n_neg": n_neg,
        "tp": tp,
        "fp": fp,
        "tpr": round(tp / n_pos, 4) if n_pos else None,
        "fpr": round(fp / n_neg, 4) if n_neg else None,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def metrics(y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    """AUROC and TPR at 1% and 5% FPR (thresholds set on this slice's own human texts)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s)
    out: dict[str, Any] = {"n_pos": int(y.sum()), "n_neg": int((~y).sum()), "auroc": _round(auroc(y, s))}
    for name, fpr in (("tpr_at_1pct_fpr", 0.01), ("tpr_at_5pct_fpr", 0.05)):
        ok = y.any() and (~y).any()
        out[name] = rates(y, s, threshold_at_fpr(s[~y], fpr))["tpr"] if ok else None
    return out


def slices(examples: list[Example]) -> dict[str, np.ndarray]:
    """Masks of the evaluation slices: overall, per source, per generator (its LLM texts and the
    human texts of the sources it appears in), per domain."""
    src = np.array([e.source for e in examples])
    gen = np.array([e.generator for e in examples])
    dom = np.array([e.domain for e in examples])
    human = ~np.array([e.llm for e in examples], dtype=bool)
    out = {"overall": src != EVAL_ONLY_SOURCES[0]}
    for s in sorted(set(src)):
        out[f"source:{s}"] = src == s
    for g in sorted(set(gen) - {""}):
        out[f"generator:{g}"] = (gen == g) | (human & np.isin(src, sorted(set(src[gen == g]))))
    for d in sorted(set(dom)):
        out[f"domain:{d}"] = dom == d
    return out


def train_fasttext(examples: Iterable[Example], settings: Settings, workdir: Path):
    """Train a fasttext model on examples (written to a temporary file in workdir)."""
    import fasttext

    path = workdir / "train.txt"
    with path.open("w", encoding="utf-8") as fh:
        for e in examples:
            label = LLM_LABEL if e.llm else HUMAN_LABEL
            fh.write(f"{LABEL_PREFIX}{label} {classifier_text(e.text)}\n")
    # fasttext-numpy2 0.10.4 now and then stops with "Encountered NaN" on small corpora, not
    # reproducibly (the same call with the same seed then succeeds), so a failed run is retried.
    for seed in range(NAN_RETRIES):
        try:
            model = fasttext.train_supervised(
                input=str(path), thread=THREADS, seed=seed, verbose=0, **dataclasses.asdict(settings)
            )
            return model, path
        except RuntimeError as exc:
            if "NaN" not in str(exc):
                raise
    raise RuntimeError(f"fasttext diverged {NAN_RETRIES} times with {settings.fingerprint()}: lower lr")


def _log(message: str) -> None:
    print(f"[train] {message}", file=sys.stderr, flush=True)


def _evaluate(model, test: list[Example]) -> np.ndarray:
    return predict_llm(model, [e.text for e in test])


def _labels(examples: list[Example]) -> np.ndarray:
    return np.array([e.llm for e in examples], dtype=bool)


def _held_out_eval(
    pool: list[Example], test: list[Example], keep: Callable[[Example], bool], settings: Settings, workdir: Path
) -> dict[str, Any]:
    model, _ = train_fasttext([e for e in pool if keep(e)], settings, workdir)
    return metrics(_labels(test), _evaluate(model, test))


def run_sweep(pool: list[Example], test: list[Example], workdir: Path) -> list[dict[str, Any]]:
    """Each SWEEP setting trained on the training pool and measured on the held-out split."""
    tried = []
    for settings in SWEEP:
        start = time.monotonic()
        model, _ = train_fasttext(pool, settings, workdir)
        seconds = time.monotonic() - start
        result = metrics(_labels(test), _evaluate(model, test))
        tried.append({"settings": dataclasses.asdict(settings), "fingerprint": settings.fingerprint(),
                      "train_seconds": round(seconds, 1), **result})
        _log(f"sweep {settings.fingerprint()}: AUROC {result['auroc']} in {seconds:.0f}s")
    return tried


def operating_threshold(pool: list[Example], settings: Settings, workdir: Path) -> dict[str, Any]:
    """Threshold at TARGET_FPR on out-of-fold human scores of the training pool (grouped folds),
    so the held-out texts stay untouched by the choice."""
    fold = np.array([int(hashlib.sha256(e.group.encode()).hexdigest(), 16) % OOF_FOLDS for e in pool])
    scorable = np.array([is_scorable(e.language, e.n_words) for e in pool])
    scores = np.full(len(pool), np.nan)
    for k in range(OOF_FOLDS):
        model, _ = train_fasttext([e for e, f in zip(pool, fold, strict=True) if f != k], settings, workdir)
        idx = np.flatnonzero((fold == k) & scorable)
        scores[idx] = predict_llm(model, [pool[i].text for i in idx])
    human = scorable & ~_labels(pool)
    value = threshold_at_fpr(scores[human], TARGET_FPR)
    return {
        "value": round(value, 6),
        "target_fpr": TARGET_FPR,
        "chosen_by": f"{OOF_FOLDS}-fold grouped out-of-fold scores of the training pool: the lowest "
        f"threshold flagging at most {TARGET_FPR:.0%} of its {int(human.sum())} scorable human texts",
    }


def calibration(test: list[Example], scores: np.ndarray, thresholds: list[float]) -> dict[str, Any]:
    """TPR/FPR with counts for each threshold, overall and per source, generator and domain."""
    y = _labels(test)
    return {
        "thresholds": thresholds,
        "slices": {
            name: [rates(y[mask], scores[mask], t) for t in thresholds]
            for name, mask in slices(test).items()
        },
    }


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
    examples: list[Example], model_path: Path, settings: Settings, tried: list[dict[str, Any]],
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


def evaluate_all(pool: list[Example], test: list[Example], web: list[Example], shipped, threshold: float,
                 settings: Settings, workdir: Path) -> tuple[dict[str, Any], np.ndarray]:
    """Random grouped split (the shipped model), leave-one-generator-out, leave-one-domain-out."""
    scores = _evaluate(shipped, test)
    y = _labels(test)
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


def write_card_md(card: dict[str, Any], path: Path) -> None:
    """The human-readable model card."""
    path.write_text(render_card_md(card), encoding="utf-8")


def _fmt(x: Any) -> str:
    return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def render_card_md(card: dict[str, Any]) -> str:
    """Markdown of a model card dict: sources, settings, metrics, targets, calibration."""
    m, res = card["model"], card["metrics"]
    op = card["operating_threshold"]
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
    lines += [
        "",
        f"- Eval-only (never trained on): {', '.join(d['eval_only_sources'])}. Training texts need "
        f">= {d['min_train_words']} words; evaluation uses scorable texts only.",
        f"- Sibling groups ({d['grouping']['version']}): a human text and the LLM texts made from it share "
        f"a group; rules per source {d['grouping']['rules']}, plus a shared opening of "
        f"{d['grouping']['opening_words']} normalized words in any source.",
        f"- Held out: {d['heldout']['rule']} ({d['heldout']['n_records']} records, fingerprint "
        f"`{d['heldout']['fingerprint']}`). Call `udfs.classifier.heldout_mask(records)` to get them.",
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
    web = res["web_cc2019"]
    lines += [
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
    cal = card["calibration"]
    lines += [
        "",
        "## Calibration (shipped model, held-out texts; `p_llm >= threshold` counts as flagged)",
        "Full table per source, generator and domain in the `.json` card (`calibration.slices`).",
        "",
        "| threshold | TP / pos | TPR | FP / neg | FPR |",
        "|---|---|---|---|---|",
    ]
    for r in cal["slices"]["overall"]:
        lines.append(f"| {r['threshold']} | {r['tp']} / {r['n_pos']} | {_fmt(r['tpr'])} | "
                     f"{r['fp']} / {r['n_neg']} | {_fmt(r['fpr'])} |")
    return "\n".join(lines) + "\n"


def validate_card(card: dict[str, Any]) -> None:
    """Raise ValueError listing every way the card breaks its JSON schema."""
    errors = schema_errors(card, load_card_schema())
    if errors:
        raise ValueError("model card does not match its schema:\n  " + "\n  ".join(errors[:20]))


def train(data_dir: Path, out_dir: Path, sweep: bool = False, settings: Settings = DEFAULT_SETTINGS,
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
            settings = Settings(**best["settings"])
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
    y = _labels(test)
    overall = {**metrics(y, scores), "rates_at_operating_threshold": rates(y, scores, threshold)}
    web_rates = rates(np.zeros(len(web), dtype=bool), _evaluate(model, web), threshold)
    results = {
        "random_grouped": {"overall": overall},
        "leave_one_generator_out": {"mean_auroc": 0.0, "per_generator": {}},
        "leave_one_domain_out": {"mean_auroc": 0.0, "per_domain": {}},
        "web_cc2019": {"n_scored": len(web), "fp": web_rates["fp"], "fpr": web_rates["fpr"]},
    }
    return results, scores


def register(subparsers) -> None:
    """Add the `train` subcommand."""
    parser = subparsers.add_parser("train", help="labelled JSONL -> fasttext model + model card")
    parser.add_argument("--config", metavar="FILE", help="TOML file with settings; flags given here override it")
    parser.add_argument("--data", dest="train_data", default=str(DEFAULT_DATA),
                        help=f"folder of labelled *.jsonl (default {DEFAULT_DATA})")
    parser.add_argument("--out", dest="train_out", default="models", help="output folder (default models/)")
    parser.add_argument("--sweep", action="store_true", help="try the built-in settings grid and keep the best")
    parser.add_argument("--no-eval", dest="evaluate", action="store_false",
                        help="skip leave-one-out evaluation and the out-of-fold threshold (quick runs)")
    parser.set_defaults(func=run)


def run(config: Config, args) -> int:
    """Train the classifier and write it with its card."""
    data_dir = Path(args.train_data)
    if not data_dir.is_dir():
        raise ConfigError(f"labelled data folder not found: {data_dir} (pass --data DIR)")
    card = train(data_dir, Path(args.train_out), sweep=args.sweep, evaluate=args.evaluate)
    t = card["targets"]
    print(json.dumps({"model": card["model"], "targets": t}, indent=1))
    return 0
