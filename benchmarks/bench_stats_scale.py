"""Stats at scale: the demo's warehouse replicated to about --pages pages, then `run_stats` on it in Spark
local[2] (beyond --stats-max-driver-pages: the Spark path), timed with the peak memory of the process
tree, one size after the other, each in a new process; the cost per page between the sizes.

    python -m benchmarks.bench_stats_scale [--pages 100000 1000000] [--work DIR]

Each copy of the demo's 700 pages gets its own doc ids, clusters and registered domains and hosts
(so the bootstrap's domains grow with the pages, as on the web); texts, scores, crawls and the ingest
log are the demo's. The LLM component is the demo's. The replicated warehouses stay in --work
(~3 GB at 1M pages) and are reused when present.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_stats import DEMO, ensure_demo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
LLM = ROOT / ".cache" / "samples" / "llm_component.jsonl"
COPIED = ("ingest_log", "lsh_index", "url_history", "_schema_versions.json")


def replicate(spark, source: Path, target: Path, pages: int) -> int:
    """Write `target`: `source`'s documents, clusters and scores repeated to at least `pages` rows."""
    from pyspark.sql import functions as F

    docs = spark.read.parquet(str(source / "documents"))
    copies = math.ceil(pages / docs.count())
    k = spark.range(copies).withColumnRenamed("id", "_copy")

    def renamed(column: str):
        return F.when(F.col(column).isNotNull(), F.concat(F.lit("c"), F.col("_copy").cast("string"), F.lit("-"),
                                                          F.col(column)))

    def ids(frame, *columns):
        return frame.crossJoin(k).withColumns({c: F.xxhash64(c, "_copy") for c in columns})

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    out = ids(docs, "doc_id").withColumns({"host": renamed("host"), "registered_domain": renamed("registered_domain")})
    out.drop("_copy").write.partitionBy("crawl").parquet(str(tmp / "documents"))
    for table, columns in (("clusters", ("doc_id", "cluster_id", "exact_group")), ("scores", ("doc_id",))):
        frame = ids(spark.read.parquet(str(source / table)), *columns)
        frame.drop("_copy").write.partitionBy("crawl").parquet(str(tmp / table))
    for name in COPIED:
        if (source / name).is_dir():
            shutil.copytree(source / name, tmp / name)
        elif (source / name).exists():
            shutil.copy(source / name, tmp / name)
    os.replace(tmp, target)
    return copies


def one_size(pages: int, work: Path) -> dict:
    """Child process: build (or reuse) the warehouse of about `pages` pages, run stats on it, measured."""
    from benchmarks.bench_dedup import TreeRss
    from benchmarks.machine import MachineLoad
    from leakwatch.config import Config
    from leakwatch.estimators.options import StatsOptions
    from leakwatch.jobs.spark import SparkOptions, get_spark
    from leakwatch.jobs.stats import run_stats

    spark = get_spark(SparkOptions(master="local[2]"))
    warehouse = work / f"stats-{pages}"
    if not (warehouse / "documents").exists():
        replicate(spark, DEMO, warehouse, pages)
    n_pages = spark.read.parquet(str(warehouse / "documents")).count()
    shutil.rmtree(warehouse / "stats", ignore_errors=True)
    config = Config(warehouse=str(warehouse), run_id=f"bench-stats-{pages}", stats=StatsOptions(llm_texts=(str(LLM),)))
    with MachineLoad() as load, TreeRss(os.getpid()) as rss:
        start = time.perf_counter()
        summary = run_stats(spark, config)
        seconds = time.perf_counter() - start
    rows = spark.read.parquet(summary.stats).count()
    spark.stop()
    return {"pages": n_pages, "seconds": round(seconds, 1), "pages_per_s": round(n_pages / seconds),
            "stats_rows": rows, "peak_rss_mb": round(rss.peak / 2**20), "peak_rss_mb_by_process": rss.peak_by_kind(),
            "machine": load.as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work", default=str(OUT / "stats-scale-work"))
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.one_size:
        print(json.dumps(one_size(args.one_size, work)))
        return 0
    ensure_demo()
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    runs = []
    for pages in args.pages:
        done = subprocess.run([sys.executable, "-m", "benchmarks.bench_stats_scale", "--one-size", str(pages),
                               "--work", str(work)], capture_output=True, text=True, env=env)
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), flush=True)
    result: dict = {"runs": runs}
    if len(runs) >= 2:
        a, b = runs[0], runs[-1]
        result["marginal_ms_per_page"] = round(1000 * (b["seconds"] - a["seconds"]) / (b["pages"] - a["pages"]), 3)
        result["time_ratio"] = round(b["seconds"] / a["seconds"], 2)
        result["page_ratio"] = round(b["pages"] / a["pages"], 2)
    OUT.mkdir(exist_ok=True)
    (OUT / "stats_scale.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
