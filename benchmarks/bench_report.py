"""The report's input-health section: the ingest log read once and summed in pandas (jobs.report.load_health)
against the three Spark aggregations it replaced (benchmarks.reference.load_health_spark), alternating in
one Spark session after one untimed call of each, on a warehouse that has an ingest_log; and whether both
give the same tables.

    python -m benchmarks.bench_report [--warehouse warehouse/demo] [--master local[1]] [--repeats 3]

Without --warehouse, the demo's (built with `leakwatch demo` first when there is none).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.bench_stats import DEMO, ensure_demo

OUT = Path(__file__).parent / "out"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", default=str(DEMO))
    parser.add_argument("--master", default="local[1]")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if Path(args.warehouse) == DEMO:
        ensure_demo()

    import pandas as pd

    from benchmarks.machine import MachineLoad
    from benchmarks.reference import load_health_spark
    from leakwatch.jobs.report import load_health
    from leakwatch.jobs.spark import SparkOptions, get_spark

    spark = get_spark(SparkOptions(master=args.master))
    ways = {"read_once": load_health, "spark_aggregations": load_health_spark}
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    with MachineLoad() as load:
        health = {name: way(spark, args.warehouse) for name, way in ways.items()}  # untimed
        if health["read_once"] is None:
            print(f"bench_report: {args.warehouse} has no ingest_log", file=sys.stderr)
            return 2
        for _ in range(args.repeats):
            for name, way in ways.items():
                start = time.perf_counter()
                way(spark, args.warehouse)
                seconds[name].append(round(time.perf_counter() - start, 2))
    new, old = health["read_once"], health["spark_aggregations"]
    try:
        pd.testing.assert_frame_equal(new.per_crawl, old.per_crawl, check_dtype=False)
        pd.testing.assert_frame_equal(new.problems, old.problems, check_dtype=False)
        same = new.n_problems == old.n_problems
    except AssertionError:
        same = False
    result = {"warehouse": args.warehouse, "master": args.master, "files": int(new.per_crawl["files"].sum()),
              "same_tables": same, **{f"{name}_seconds": runs for name, runs in seconds.items()},
              **{f"{name}_median": statistics.median(runs) for name, runs in seconds.items()},
              "machine": load.as_dict()}
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_report.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
