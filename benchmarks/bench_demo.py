"""`make demo` as a user waits for it: `leakwatch demo` into a new warehouse, a new JVM each run, its
stage seconds as the run prints them; alternating, in the same run, with the same command of a baseline
checkout (the previous code) when --baseline is given.

    python -m benchmarks.bench_demo [--repeats 3] [--baseline DIR] [--pause 8]

DIR is a checkout of the previous commit with its own virtualenv built (`git worktree add DIR REF`,
then `make -C DIR .venv/.installed`); both use the sample shards of this checkout's .cache/samples
(the same pages). Each run's stats rows (run_id and code_version aside) are compared with its tree's
first run's, to the last bit, and the baseline's with this tree's to 1e-12 (a float summed in another
order). JSON in benchmarks/out/demo.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.machine import MachineLoad

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
STAGES = ("extract", "dedup", "classify", "stats", "report")
SAMPLES = ROOT / ".cache" / "samples"  # the demo's default, built by the first run when it is not there
SECONDS = re.compile(r"^seconds: (.*)$", re.MULTILINE)
STAGE = re.compile(r"(\w+) (\d+\.\d+)")


def demo(tree: Path, warehouse: Path) -> dict:
    """One `leakwatch demo` of `tree` into `warehouse`: wall seconds, the stage seconds it printed and the
    warnings Spark logged (without their time stamps)."""
    python = tree / ".venv" / "bin" / "python"
    env = {**os.environ, "PYSPARK_PYTHON": str(python), "PYSPARK_DRIVER_PYTHON": str(python)}
    command = [str(tree / ".venv" / "bin" / "leakwatch"), "demo", "--out", str(warehouse), "--samples", str(SAMPLES)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"leakwatch demo of {tree} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    printed = SECONDS.search(done.stdout + done.stderr)
    stages = {name: float(value) for name, value in STAGE.findall(printed.group(1))}  # and "(total T)"
    warnings = sorted({re.sub(r"^\S+ \S+ ", "", line) for line in done.stderr.splitlines() if " WARN " in line})
    return {"wall": round(wall, 2), "stages": stages, "spark_warnings": warnings}


def stats_rows(warehouse: Path) -> list[dict]:
    rows = json.loads((warehouse / "stats.json").read_text())
    return [{k: v for k, v in r.items() if k not in ("run_id", "code_version")} for r in rows]


def close(a: list[dict], b: list[dict]) -> bool:
    """The same rows, floats to a relative 1e-12."""
    def equal(x, y) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15)
        return x == y
    if len(a) != len(b):
        return False
    return all(r.keys() == s.keys() and all(equal(r[k], s[k]) for k in r) for r, s in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a checkout of the previous code, with its .venv built")
    parser.add_argument("--pause", type=float, default=8.0, help="seconds between runs (the last JVM exits)")
    args = parser.parse_args()
    trees = {"now": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    first: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as work, MachineLoad() as load:
        for repeat in range(args.repeats):
            for name, tree in trees.items():
                time.sleep(args.pause)
                warehouse = Path(work) / f"{name}-{repeat}"
                run = demo(tree, warehouse)
                rows = stats_rows(warehouse)
                first.setdefault(name, rows)
                run["same_rows_as_first_run"] = rows == first[name]
                runs[name].append(run)
                print(f"{name} {repeat + 1}: {run}", flush=True)
        same_as_baseline = "baseline" not in first or close(first["baseline"], first["now"])
    summary = {name: {stage: statistics.median(r["stages"][stage] for r in rs) for stage in STAGES}
               | {"wall": statistics.median(r["wall"] for r in rs)} for name, rs in runs.items()}
    result = {"runs": runs, "medians": summary, "baseline_same_rows": same_as_baseline, "machine": load.as_dict()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "demo.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({"medians": summary, "baseline_same_rows": same_as_baseline, "machine": load.as_dict()},
                     indent=1))


if __name__ == "__main__":
    main()
