"""`leakwatch demo`: build the sample shards (once, cached), run the whole pipeline, compare with the truth.

The estimate is corrected with error rates measured on pages like the samples that no shard holds
(`leakwatch.validation.samples.calibration_texts`): the model card's rates come from other text (research corpora,
real 2019 web pages) and do not hold for documentation pages and these LLM pages.
"""

from __future__ import annotations

from pathlib import Path

from leakwatch.config import Config
from leakwatch.estimators.options import StatsOptions
from leakwatch.jobs.pipeline import run_pipeline
from leakwatch.jobs.spark import get_spark
from leakwatch.report.console import DEMO_COLUMNS, demo_rows, format_table, print_run_summary
from leakwatch.validation.measure import demo_calibration
from leakwatch.validation.samples import build_samples


def run(config: Config) -> int:
    """CLI entry of `leakwatch demo`."""
    folder = Path(config.demo.samples)
    shards, truth = build_samples(folder, pages_per_crawl=config.demo.pages_per_crawl)
    # A second `make demo` finds the shards done and adds nothing; the later stages rewrite their tables.
    changes: dict = {"inputs.paths": tuple(str(p) for p in shards), "inputs.resume": True}
    if config.stats.calibration == StatsOptions.calibration:  # not chosen by the user
        counts, path = demo_calibration(folder, config)
        rates = (f"it flags {counts['tp']}/{counts['n_pos']} LLM and {counts['fp']}/{counts['n_neg']} human "
                 "held-out sample-like pages")
        if path is not None:
            changes["stats.calibration"] = str(path.resolve())
            print(f"demo: the correction uses the model's error rates on pages like these: {rates} ({path})")
        else:
            print(f"demo: the model cannot tell these LLM pages from these documentation pages ({rates}): no "
                  "correction can hold on them, so the estimates below use the model card's rates and are not "
                  "to be trusted; the validate command shows the method where the model separates its data")
    config = config.replace(changes)
    spark = get_spark(config.spark, "leakwatch-demo")
    summary = run_pipeline(spark, config, command="demo")
    print_run_summary(summary)
    if not summary.extract.files:
        print(f"demo: the sample shards were already extracted into {config.warehouse}: no rows added")
    print(f"\nLLM share per crawl: truth (of the sample pages the classifier scores) vs leakwatch's estimate"
          f" ({folder / 'truth.json'})")
    print(format_table(demo_rows(summary.stats, truth), DEMO_COLUMNS))
    calibration = summary.stats.calibration
    print("flagged: share of scored pages over the model's threshold; estimate: corrected with "
          f"TPR {calibration.tpr:.1%} and FPR {calibration.fpr:.1%} ({calibration.source})")
    print(f"report: {summary.report}")
    return summary.extract.exit_status(config.inputs.max_failed_share)


