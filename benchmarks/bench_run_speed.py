"""The whole `leakwatch run` (extract -> dedup -> classify -> stats -> report) as a run over full-size
files sees it: the marginal rate between a small and a large shard, per stage and end to end, in
Spark local[1] with the JVM up and warm (one untimed whole run on a third shard first), a new
warehouse for every run, best of --repeats runs per shard; and, in the same run, warcio + trafilatura
and warcio + BeautifulSoup on the large shard as the extraction baselines.

    python -m benchmarks.bench_run_speed [--pages 9148] [--small-pages 914] [--repeats 2] [--cold]

With --cold, each shard is also run once through the `leakwatch run` command (a new JVM each time),
so the fixed cost a user waits for, JVM start included, is in the output too.
The shards are those of bench_extract (human pages of one crawl, CC-like records); the LLM component
for stats is the project's shipped calibration pages, as in the demo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_extract import OUT
from benchmarks.bench_extract_speed import add_shard_args, better_of, extraction_baselines, shards
from benchmarks.machine import MachineLoad, marginal_rate

STAGES = ("extract", "dedup", "classify", "stats", "report")

# Runs in a child process: one Spark session for the warm-up and every timed run.
CHILD = """
import json, os, shutil, sys, time
from leakwatch.config import Config
from leakwatch.jobs.pipeline import run_pipeline
from leakwatch.jobs.spark import SparkOptions, get_spark
from benchmarks.machine import tree_cpu_seconds

work, llm, repeats, warmup, shards = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
spark = get_spark(SparkOptions(master="local[1]"))
quiet = lambda message: None

def whole_run(path, warehouse):
    shutil.rmtree(warehouse, ignore_errors=True)
    config = Config(warehouse=warehouse).replace({"inputs.paths": (path,), "stats.llm_texts": (llm,)})
    cpu, start = tree_cpu_seconds(os.getpid()), time.perf_counter()
    result = run_pipeline(spark, config, say=quiet)
    seconds, cpu = time.perf_counter() - start, tree_cpu_seconds(os.getpid()) - cpu
    assert result.extract.rows_written == result.extract.kept, result.extract
    return {"docs": result.extract.rows_written, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "stages": dict(result.seconds)}

whole_run(warmup, os.path.join(work, "warehouse-warmup"))
out = {}
for path in shards:
    out[path] = [whole_run(path, os.path.join(work, "warehouse-run")) for _ in range(repeats)]
print(json.dumps(out))
"""


def warm_runs(work: Path, llm: Path, repeats: int, warmup: Path, shards: list[Path]) -> dict:
    """{shard: [run, ...]} from one child process (see CHILD)."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([sys.executable, "-c", CHILD, str(work), str(llm), str(repeats), str(warmup),
                             *map(str, shards)], capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def cold_run(work: Path, llm: Path, shard: Path) -> dict:
    """`leakwatch run` as a user starts it: a new process and JVM; wall-clock seconds."""
    warehouse = work / "warehouse-cold"
    shutil.rmtree(warehouse, ignore_errors=True)
    command = [str(Path(sys.executable).parent / "leakwatch"), "run", str(shard), "--warehouse", str(warehouse),
               "--llm-texts", str(llm)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    # The summary's line "seconds: extract 1.2, dedup 3.4, ... (total 9.9)": the rest is start-up.
    line = next((x for x in (done.stdout + done.stderr).splitlines() if x.startswith("seconds: ")), "")
    stages = {name: float(value) for name, value in
              (part.split() for part in line.removeprefix("seconds: ").split(" (")[0].split(", ") if part)}
    return {"seconds": round(seconds, 2), "stages": stages,
            "outside_stages": round(seconds - sum(stages.values()), 2) if stages else None}


def best(runs: list[dict]) -> dict:
    """The fastest run, with every run's seconds beside it."""
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "all_seconds": [r["seconds"] for r in runs]}


def stage_marginals(small: dict, large: dict) -> dict:
    """Per stage: docs per second between the two runs, and the fixed seconds of the small run."""
    out = {}
    for stage in STAGES:
        a = {"docs": small["docs"], "seconds": small["stages"][stage]}
        b = {"docs": large["docs"], "seconds": large["stages"][stage]}
        rate, fixed = marginal_rate(a, b)
        out[stage] = {"marginal_docs_per_s": round(rate), "fixed_seconds": round(fixed, 2),
                      "ms_per_doc": round(1000 / rate, 3)}
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run it; write benchmarks/out/run_speed.json."""
    from leakwatch.estimators.components import shipped_llm_pages, write_llm_texts

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shard_args(parser, OUT / "run-work", "whole runs")
    parser.add_argument("--cold", action="store_true", help="also one `leakwatch run` command per shard")
    args = parser.parse_args(argv)
    work = Path(args.work)
    large, small, warmup = shards(args)
    llm = write_llm_texts(work / "llm_component.jsonl", shipped_llm_pages())
    baselines = extraction_baselines(large, args.baseline_pages)
    result: dict = {"shards": {"small": args.small_pages, "large": args.pages},
                    "input_mb": {"small": round(small.stat().st_size / 1e6, 1),
                                 "large": round(large.stat().st_size / 1e6, 1)}}
    with MachineLoad() as load:
        before = {name: run() for name, run in baselines.items()}
        runs = warm_runs(work, llm, args.repeats, warmup, [small, large])
        small_run, large_run = best(runs[str(small)]), best(runs[str(large)])
        if args.cold:
            result["cold"] = {"small": cold_run(work, llm, small), "large": cold_run(work, llm, large)}
        after = {name: run() for name, run in baselines.items()}
    result.update(better_of(before, after))
    result["warm_small"], result["warm_large"] = small_run, large_run
    marginal, fixed = marginal_rate(small_run, large_run)
    cpu_rate = (large_run["docs"] - small_run["docs"]) / max(large_run["cpu_seconds"] - small_run["cpu_seconds"], 1e-9)
    result["whole_run"] = {"marginal_docs_per_s_per_core": round(marginal), "fixed_seconds": round(fixed, 2),
                           "marginal_docs_per_cpu_s_all_processes": round(cpu_rate),
                           "mb_per_s": round(marginal * result["input_mb"]["large"] / args.pages, 2)}
    result["stages"] = stage_marginals(small_run, large_run)
    if args.cold:
        cold_small = {"docs": small_run["docs"], **result["cold"]["small"]}
        cold_large = {"docs": large_run["docs"], **result["cold"]["large"]}
        rate, cold_fixed = marginal_rate(cold_small, cold_large)
        result["cold"]["marginal_docs_per_s"], result["cold"]["fixed_seconds"] = round(rate), round(cold_fixed, 2)
    result["speedup_of_whole_run"] = {name: round(marginal / result[name]["docs_per_s"], 1)
                                      for name in baselines if isinstance(result[name], dict)}
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], **load.as_dict()}
    OUT.mkdir(exist_ok=True)
    (OUT / "run_speed.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
