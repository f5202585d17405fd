"""Where a stats row's interval width comes from: the stats stage run once with every source of the
bootstrap varying (what `leakwatch stats` does), then once per source with only that one varying and the
others held at their data (replicate 0): the crawl's own domains, the human baseline's domains, the LLM
component's generators and groups. Beside them, the floor that no estimator of a sample of n scored pages
goes below: the normal 95% interval of a share p measured without any classifier error,
2 x 1.96 x sqrt(p (1 - p) / n), at the warehouse's synthetic truth where it has one.

    python -m benchmarks.interval_sources [--warehouse warehouse/demo] [--llm-texts FILE]

The warehouse is copied to a temporary folder first. Rows: every crawl's `all` row of the captures view.
The driver path is measured (the demo's size); a source is held by replacing its replicates with
replicate 0 around `estimate_row`, so the estimates themselves are the same in every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_stats import DEMO, ROOT, ensure_demo

OUT = ROOT / "benchmarks" / "out"
SOURCES = ("crawl", "human", "llm")


def held(component):
    """The component with every replicate equal to its data (replicate 0)."""
    hist = np.repeat(component.hist[:1], len(component.hist), axis=0)
    mean = None if component.word_mean is None else np.repeat(component.word_mean[:1], len(component.word_mean))
    return dataclasses.replace(component, hist=hist, word_mean=mean)


def varying(sources: set[str]):
    """estimate_row with only `sources` resampled."""
    from leakwatch.estimators import bootstrap

    original, totals = bootstrap.estimate_row, bootstrap.replicate_totals

    def frozen_totals(counts, replicates, rng):
        return np.repeat(totals(counts, replicates, rng)[:1], replicates + 1, axis=0)

    def estimate_row(evidence, seed, settings=None, names=None):
        settings = settings or bootstrap.Settings()
        evidence = dataclasses.replace(
            evidence,
            human=evidence.human if "human" in sources else held(evidence.human),
            llm=evidence.llm if "llm" in sources else held(evidence.llm))
        if "crawl" in sources:
            return original(evidence, seed, settings, names)
        bootstrap.replicate_totals = frozen_totals  # the crawl's replicates, drawn inside estimate_row
        try:
            return original(evidence, seed, settings, names)
        finally:
            bootstrap.replicate_totals = totals

    return estimate_row


def floor_width(share: float, n: int) -> float:
    """The normal 95% interval's width of a share measured on n pages without classifier error."""
    return 2 * 1.96 * math.sqrt(share * (1 - share) / n) if n else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=DEMO)
    parser.add_argument("--llm-texts", default=str(ROOT / ".cache" / "samples" / "llm_component.jsonl"))
    parser.add_argument("--out", default=str(OUT / "interval_sources.json"))
    args = parser.parse_args(argv)
    if args.warehouse == DEMO:
        ensure_demo()
    if not (args.warehouse / "scores").exists() or not Path(args.llm_texts).is_file():
        print(f"interval_sources: no classified warehouse at {args.warehouse} or no {args.llm_texts}", file=sys.stderr)
        return 2

    from leakwatch.config import Config
    from leakwatch.estimators import rows
    from leakwatch.estimators.options import StatsOptions
    from leakwatch.jobs.spark import get_spark
    from leakwatch.jobs.stats import run_stats

    truth_file = args.warehouse / "synthetic_truth.json"
    truth = json.loads(truth_file.read_text())["crawls"] if truth_file.exists() else {}
    runs = {"all": set(SOURCES), **{source: {source} for source in SOURCES}}
    current = rows.estimate_row
    widths: dict[str, dict[str, float]] = {}
    facts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="interval-sources-") as tmp:
        warehouse = str(Path(tmp) / "warehouse")
        shutil.copytree(args.warehouse, warehouse, ignore=shutil.ignore_patterns("stats", "stats.*", "report"))
        spark = None
        for name, sources in runs.items():
            config = Config(warehouse=warehouse, run_id=f"sources-{name}",
                            stats=StatsOptions(llm_texts=(args.llm_texts,)))
            spark = spark or get_spark(config.spark)
            rows.estimate_row = varying(sources)
            try:
                summary = run_stats(spark, config)
            finally:
                rows.estimate_row = current
            table = spark.read.parquet(summary.stats).toPandas()
            table = table[(table.time_slice == "crawl") & (table.view == "captures") & (table.dimension == "all")]
            for row in table.sort_values("crawl").itertuples():
                if row.ci_low is None or row.ci_low != row.ci_low:  # not measurable
                    continue
                widths.setdefault(row.crawl, {})[name] = round(100 * (row.ci_high - row.ci_low), 2)
                if name == "all":
                    share = truth.get(row.crawl, row.prevalence)
                    facts[row.crawl] = {"estimate_pct": round(100 * row.prevalence, 2), "truth_pct":
                                        None if row.crawl not in truth else round(100 * truth[row.crawl], 2),
                                        "n_scored": int(row.n_scored), "n_domains": int(row.n_domains),
                                        "floor_pp": round(100 * floor_width(share, int(row.n_scored)), 2)}
    result = {"warehouse": str(args.warehouse), "estimator": "the default (prevalence, ci_low, ci_high)",
              "crawls": {crawl: {**facts[crawl], "width_pp": widths[crawl]} for crawl in facts}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"{'crawl':18} {'estimate':>8} {'truth':>6} {'pages':>5} {'domains':>7} "
          + " ".join(f"{'w ' + n:>8}" for n in runs) + f" {'floor':>6}")
    for crawl, f in result["crawls"].items():
        w = f["width_pp"]
        print(f"{crawl:18} {f['estimate_pct']:8.1f} {f['truth_pct'] if f['truth_pct'] is not None else '':>6} "
              f"{f['n_scored']:5d} {f['n_domains']:7d} " + " ".join(f"{w.get(n, math.nan):8.1f}" for n in runs)
              + f" {f['floor_pp']:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
