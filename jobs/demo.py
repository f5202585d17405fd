"""`leakwatch demo`: build the sample shards (once, cached), run the whole pipeline, compare with the truth.

The estimators compare each crawl with the sample's own pre-ChatGPT crawls (the human component) and
with LLM pages like the samples' that no shard holds: the calibration split of the shipped LLM web
pages (leakwatch.estimators.components.shipped_llm_pages; the shards carry its demo split). The truth
goes into the warehouse (schemas.values.SYNTHETIC_TRUTH), so the report says it is synthetic and shows it.
"""

from __future__ import annotations

import json
from pathlib import Path

from leakwatch.config import Config
from leakwatch.errors import ConfigError
from leakwatch.estimators.components import shipped_llm_pages, write_llm_texts
from leakwatch.jobs.pipeline import run_pipeline
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.warehouse import read_text, table_path, write_text
from leakwatch.report.console import DEMO_COLUMNS, demo_rows, format_table, print_run_summary
from leakwatch.schemas.values import SYNTHETIC_TRUTH
from leakwatch.validation.samples import build_samples, sample_settings


def synthetic_truth(truth: dict) -> str:
    """The sample set's truth as the report reads it: the LLM share of each crawl's scorable pages."""
    crawls = {crawl: t["captures"]["scorable_share"] for crawl, t in truth["crawls"].items()}
    return json.dumps({"source": "the demo's synthetic sample shards (leakwatch demo)", "crawls": crawls,
                       "settings": truth["settings"]}, indent=1)


def check_same_samples(previous: str | None, settings: dict, warehouse: str) -> None:
    """Refuse a warehouse that holds the demo of other sample shards: the shards keep their file names
    whatever their settings, so extract's resume would keep the old documents beside the new truth. (A
    warehouse from before the settings were recorded there is not checked.)"""
    before = json.loads(previous).get("settings") if previous else None
    if before is not None and before != settings:
        raise ConfigError(f"{warehouse} holds the demo of other sample shards ({before.get('pages_per_crawl')} pages "
                          f"per crawl, seed {before.get('seed')}; now {settings['pages_per_crawl']}, seed "
                          f"{settings['seed']}): give another --out, or delete {warehouse} first")


def run(config: Config) -> int:
    """CLI entry of `leakwatch demo`."""
    folder = Path(config.demo.samples)
    spark = get_spark(config.spark, "leakwatch-demo")
    truth_path = table_path(config.warehouse, SYNTHETIC_TRUTH)
    samples = {"pages_per_crawl": config.demo.pages_per_crawl, "seed": config.demo.seed}
    check_same_samples(read_text(spark, truth_path), sample_settings(**samples), config.warehouse)
    shards, truth = build_samples(folder, **samples)
    # A second `make demo` finds the shards done and adds nothing; the later stages rewrite their tables.
    changes: dict = {"inputs.paths": tuple(str(p) for p in shards), "inputs.resume": True}
    if not config.stats.llm_texts:  # not chosen by the user
        component = write_llm_texts(folder / "llm_component.jsonl", shipped_llm_pages())
        changes["stats.llm_texts"] = (str(component.resolve()),)
        print(f"demo: the LLM component is the {len(shipped_llm_pages())} LLM web pages of the calibration split, "
              f"which no shard holds ({component}); the human component is the sample's pre-ChatGPT crawls")
    config = config.replace(changes)
    write_text(spark, truth_path, synthetic_truth(truth))
    summary = run_pipeline(spark, config, command="demo")
    print_run_summary(summary)
    if not summary.extract.files:
        print(f"demo: the sample shards were already extracted into {config.warehouse}: no rows added")
    print(f"\nLLM share per crawl: truth (of the sample pages the classifier scores) vs leakwatch's estimate"
          f" ({folder / 'truth.json'})")
    print(format_table(demo_rows(summary.stats, truth), DEMO_COLUMNS))
    components = summary.stats.components
    print(f"estimate: {components.estimator} (the default; bound is a lower bound); every estimator's share with its "
          f"95% CI beside it. LLM component: {components.llm}; human component: {components.human}")
    print(f"report: {summary.report}")
    return summary.extract.exit_status(config.inputs.max_failed_share)
