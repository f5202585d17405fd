"""The human-readable model card (Markdown) of a card dict: scope, data, targets, every protocol's figures,
calibration, and the research bake-off (BAKEOFF.md beside this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

BAKEOFF = Path(__file__).resolve().parent / "BAKEOFF.md"


def _fmt(x: Any) -> str:
    return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def _head(card: dict[str, Any]) -> list[str]:
    m, op, sc = card["model"], card["operating_threshold"], card["scoring"]
    c = sc["calibration"]
    lines = [
        f"# leakwatch synthetic-text classifier — `{m['file']}`",
        "",
        f"model_id `{m['model_id']}`, {m['size_bytes'] / 1e6:.2f} MB quantized fasttext, created {m['created_at']} "
        f"by leakwatch {m['leakwatch_version']} (`leakwatch train`).",
        "",
        "## Scope",
        f"- English only: {card['scope']['not_scored']}; such documents count as not covered.",
        f"- Text form: {card['scope']['text_form']}.",
        f"- Score: {sc['logit']} = z; P(LLM) = sigmoid({c['intercept']:.4f} + {c['slope']:.4f} z + "
        f"{c['length_slope']:.4f} z l + {c['length_shift']:.4f} l), l = ln(tokens read) - {c['length_center']}. "
        "P(LLM) is calibrated with each source label-balanced (equal priors).",
        f"- Operating threshold **{op['value']:.4f}**, chosen by {op['chosen_by']} ({op.get('per_kind')}).",
        "",
        "## Data",
        "| source | licence | citation | human | llm | trained on | held out | held out, scorable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in card["data"]["sources"]:
        lines.append(f"| {s['source']} | {s['licence']} | {s['citation']} | {s['n_human']} | {s['n_llm']} | "
                     f"{s['n_train']} | {s['n_heldout']} | {s['n_heldout_scorable']} |")
    d = card["data"]
    neg = d["inputs"].get("negatives")
    lines += [
        "",
        f"- As the pipeline sees it: {d['as_the_pipeline_sees_it']}.",
        f"- Trained on LLM text of: {', '.join(d['trained_generators'])}. Measured, never trained on: "
        f"{', '.join(d['excluded_generators'])} (completion models continuing a human text: training on them cost "
        "~0.2 AUROC on unseen chat models' web pages, see the bake-off).",
        f"- Weights: {d['weights']}.",
        f"- Held out: {d['heldout']['rule']} ({d['heldout']['n_records']} records, fingerprint "
        f"`{d['heldout']['fingerprint']}`).",
        f"- LLM web pages: {d['llm_pages']}",
        f"- Warehouse negatives: {neg if neg else 'none (`leakwatch train --negatives WAREHOUSE` adds them)'}.",
    ]
    return lines


def _targets(card: dict[str, Any]) -> list[str]:
    lines = ["", "## Targets (issue 12)", "| target | wanted | measured | reached | figure |", "|---|---|---|---|---|"]
    for name, t in card["targets"].items():
        lines.append(f"| {name} | {t['target']} | {_fmt(t['value'])} | {'yes' if t['reached'] else '**no**'} | "
                     f"`{t['from']}` |")
    res = card["metrics"]
    logo = res["leave_one_generator_out"]
    lines += [
        "",
        f"Trained generators only: leave-one-generator-out mean AUROC {_fmt(logo.get('mean_auroc_trained_generators'))}"
        f", TPR spread at the threshold {_fmt(logo.get('tpr_spread_trained_generators'))}. " + _throughput(card),
    ]
    return lines


def _throughput(card: dict[str, Any]) -> str:
    t = card.get("throughput")
    if not t:
        return "Docs/s: not measured yet (`python -m benchmarks.bench_classify --record-card`)."
    base = t["baseline"]
    versus = f" ({base['model']} in the same run: {base['spark_local1_docs_per_s_per_core']:.0f})" if base else ""
    return (f"Docs/s: {t['spark_local1_docs_per_s_per_core']:.0f} per core in Spark local[1]{versus}, "
            f"{t['spark_docs_per_cpu_s']:.0f} per CPU-second of the JVM and the Python worker; measured "
            f"{t['measured_at']} at load {t['machine'].get('load_avg_start')} -> {t['machine'].get('load_avg_end')} "
            "(`benchmarks/bench_classify.py`, target 2,000 docs/s per core).")


def _figure_table(title: str, note: str, rows: dict[str, dict[str, Any]], what: str) -> list[str]:
    lines = ["", f"## {title}", note, "", f"| {what} | pos | neg | AUROC | TPR@1%FPR | TPR@threshold |",
             "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name}{'' if r.get('trained_on', True) else ' (never trained on)'} | {r['n_pos']} | "
                     f"{r['n_neg']} | {_fmt(r['auroc'])} | {_fmt(r['tpr_at_1pct_fpr'])} | "
                     f"{_fmt(r.get('tpr_at_threshold'))} |")
    return lines


def _metrics(card: dict[str, Any]) -> list[str]:
    res = card["metrics"]
    web = res["web"]
    lines = ["", "## Real pre-ChatGPT web pages at the operating threshold",
             "Each page scored by a model that did not train on it (held-out half: the shipped model; the other "
             "half: a twin trained with the held-out half instead).", "", "| pages | scored | flagged | FPR |",
             "|---|---|---|---|"]
    for name, r in web.items():
        if "fpr" in r:
            lines.append(f"| {name} | {r['n_scored']} | {r['fp']} | {_fmt(r['fpr'])} |")
    lines += ["", "## Random grouped split (the shipped model on the held-out groups)",
              "| slice | pos | neg | AUROC | TPR@1%FPR | TPR@op | FPR@op |", "|---|---|---|---|---|---|---|"]
    for name, r in res["random_grouped"].items():
        op = r["rates_at_operating_threshold"]
        lines.append(f"| {name} | {r['n_pos']} | {r['n_neg']} | {_fmt(r['auroc'])} | {_fmt(r['tpr_at_1pct_fpr'])} | "
                     f"{_fmt(op['tpr'])} | {_fmt(op['fpr'])} |")
    threshold_note = "TPR@threshold: at the threshold that flags 1% of that model's held-out corpus human texts."
    lines += _figure_table(
        f"Leave one generator out (mean AUROC {_fmt(res['leave_one_generator_out']['mean_auroc'])})",
        "Trained without the generator, tested on its held-out texts against the held-out human texts of its "
        f"sources (LLM web pages: against the real web pages). {threshold_note}",
        res["leave_one_generator_out"]["per_generator"], "generator")
    lines += _figure_table(
        f"Leave one domain out (mean AUROC {_fmt(res['leave_one_domain_out']['mean_auroc'])})",
        "Corpus domains and LLM web page genres left out in 5 folds each, then each scored alone (a genre: its "
        "LLM pages against the real web pages). "
        + threshold_note, res["leave_one_domain_out"]["per_domain"], "domain")
    lines += _figure_table(
        f"Leave one source out (mean AUROC {_fmt(res['leave_one_source_out']['mean_auroc'])})",
        "Trained without a whole corpus (both labels): the protocol closest to data never seen. " + threshold_note,
        res["leave_one_source_out"]["per_source"], "source")
    return lines


def _calibration(card: dict[str, Any]) -> list[str]:
    q = card["metrics"]["calibration_quality"]
    lines = ["", "## Calibration quality (shipped model, held-out texts)",
             f"{q['scope']}: ECE {_fmt(q['ece'])} (source-balanced {_fmt(q['ece_source_balanced'])}; every generator "
             f"{_fmt(q['ece_all'])}), largest share of held-out texts with one score value {q['max_tie_share']}.",
             "", "| P(LLM) bin | texts | mean P(LLM) | LLM share |", "|---|---|---|---|"]
    for r in q["reliability"]:
        lines.append(f"| {r['bin']} | {r['n']} | {_fmt(r['mean_p'])} | {_fmt(r['llm_share'])} |")
    lines += ["", "## Thresholds (shipped model, held-out texts; `p_llm >= threshold` counts as flagged)",
              "Full table per source, generator and domain in the `.json` card (`calibration.slices`).", "",
              "| threshold | TP / pos | TPR | FP / neg | FPR |", "|---|---|---|---|---|"]
    for r in card["calibration"]["slices"]["overall"]:
        lines.append(f"| {r['threshold']} | {r['tp']} / {r['n_pos']} | {_fmt(r['tpr'])} | {r['fp']} / {r['n_neg']} | "
                     f"{_fmt(r['fpr'])} |")
    return lines


def _settings(card: dict[str, Any]) -> list[str]:
    lines = ["", "## Settings", f"`{card['settings']['fingerprint']}`: " + ", ".join(
        f"{k}={v}" for k, v in card["settings"].items() if k != "fingerprint")]
    if card["settings_tried"]:
        lines += ["", "### fasttext settings tried (`--sweep`; trained on the pool, held-out split)",
                  "| settings | AUROC | TPR@1%FPR | train s |", "|---|---|---|---|"]
        lines += [f"| `{t['fingerprint']}` | {_fmt(t['auroc'])} | {_fmt(t['tpr_at_1pct_fpr'])} | {t['train_seconds']} |"
                  for t in card["settings_tried"]]
    return lines


def render_card_md(card: dict[str, Any]) -> str:
    """Markdown of a model card dict."""
    parts = _head(card) + _targets(card) + _metrics(card) + _calibration(card) + _settings(card)
    if BAKEOFF.is_file():
        parts += ["", BAKEOFF.read_text(encoding="utf-8").strip()]
    return "\n".join(parts) + "\n"


def write_card_md(card: dict[str, Any], path: Path) -> None:
    """Write the human-readable model card."""
    path.write_text(render_card_md(card), encoding="utf-8")
