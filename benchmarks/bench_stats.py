"""The stats stage on a small warehouse: the driver path (page rows summed and estimated in pandas, the
default up to --stats-max-driver-pages) against the Spark path (`max_driver_pages=0`: page rows summed and
estimated in Spark, as before the driver path) and against the driver path with its slices estimated as
before they worked on arrays (benchmarks.reference.estimate_slices_frames), in the same run, one Spark
session, the JVM warmed by one untimed run of each, the three alternating; and whether all wrote the
same rows.

    python -m benchmarks.bench_stats [--warehouse warehouse/demo] [--llm-texts FILE] [--repeats 3]

The warehouse is copied to a temporary folder first (stats rewrites its table). Defaults: the demo's
warehouse and LLM component (built with `leakwatch demo` first when there is none).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
DEMO = ROOT / "warehouse" / "demo"
KEY = ["time_slice", "period", "crawl", "view", "dimension", "value"]


def ensure_demo() -> Path:
    """The demo's warehouse, built with `leakwatch demo` (as `make demo` does) when it has no stats yet."""
    if not (DEMO / "stats").exists():
        subprocess.run([str(Path(sys.executable).parent / "leakwatch"), "demo", "--out", str(DEMO)], check=True,
                       stdout=subprocess.DEVNULL)
    return DEMO


def same_rows(a, b) -> bool:
    """Every column but code_version equal (floats to rtol 1e-9: sums of floats in another order)."""
    import numpy as np

    a, b = (f.sort_values(KEY).reset_index(drop=True) for f in (a, b))
    if len(a) != len(b):
        return False
    for column in a.columns.drop(["code_version", "run_id"]):
        if a[column].dtype.kind == "f":
            if not np.allclose(a[column].astype(float), b[column].astype(float), rtol=1e-9, atol=1e-12,
                               equal_nan=True):
                return False
        elif a[column].astype(str).tolist() != b[column].astype(str).tolist():
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=DEMO)
    parser.add_argument("--llm-texts", default=str(ROOT / ".cache" / "samples" / "llm_component.jsonl"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(OUT / "bench_stats.json"))
    args = parser.parse_args(argv)
    source = Path(args.warehouse)
    if source == DEMO:
        ensure_demo()
    if not (source / "scores").exists() or not Path(args.llm_texts).is_file():
        print(f"bench_stats: no classified warehouse at {source} or no {args.llm_texts}", file=sys.stderr)
        return 2

    from benchmarks.machine import MachineLoad
    from benchmarks.reference import estimate_slices_frames
    from leakwatch.config import Config
    from leakwatch.estimators.options import StatsOptions
    from leakwatch.jobs import stats as stats_job
    from leakwatch.jobs.spark import get_spark
    from leakwatch.jobs.stats import run_stats

    current = stats_job.estimate_slices

    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        warehouse = str(Path(tmp) / "warehouse")
        shutil.copytree(source, warehouse, ignore=shutil.ignore_patterns("stats", "stats.*", "report"))
        driver = StatsOptions().max_driver_pages
        paths = {"driver": driver, "driver_previous_slices": driver, "spark": 0}
        configs = {name: Config(warehouse=warehouse, run_id=f"bench-{name}",
                                stats=StatsOptions(llm_texts=(args.llm_texts,), max_driver_pages=most))
                   for name, most in paths.items()}
        spark = get_spark(configs["driver"].spark)
        tables, seconds = {}, {name: [] for name in paths}

        def run(name: str, config: Config):
            stats_job.estimate_slices = estimate_slices_frames if name == "driver_previous_slices" else current
            try:
                return run_stats(spark, config)
            finally:
                stats_job.estimate_slices = current

        with MachineLoad() as load:
            for name, config in configs.items():  # untimed: the JVM, the caches, the LLM component's scores
                run(name, config)
            for _ in range(args.repeats):
                for name, config in configs.items():
                    start = time.perf_counter()
                    summary = run(name, config)
                    seconds[name].append(round(time.perf_counter() - start, 2))
                    tables[name] = spark.read.parquet(summary.stats).toPandas()
    result = {
        "warehouse": str(source), "stats_rows": len(tables["driver"]),
        "same_rows": all(same_rows(tables["driver"], tables[name]) for name in paths),
        **{f"{name}_seconds": runs for name, runs in seconds.items()},
        **{f"{name}_best": min(runs) for name, runs in seconds.items()},
        **{f"{name}_median": statistics.median(runs) for name, runs in seconds.items()},
        "machine": load.as_dict(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0 if result["same_rows"] else 1


if __name__ == "__main__":
    sys.exit(main())
