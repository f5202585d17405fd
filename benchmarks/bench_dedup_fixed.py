"""Dedup's fixed cost: `dedup_crawls` on small crawls (140 pages each, like the demo's), this checkout
against a baseline revision of leakwatch in the same run, each in its own process and Spark session
(local[1], 4 shuffle partitions, the JVM warmed by one untimed run; one crawl best of two, all crawls once).

    python -m benchmarks.bench_dedup_fixed [--baseline e5c7055] [--crawls 5] [--pages 140]

The baseline is exported with `git archive` into a temporary folder and imported from there
(PYTHONPATH), so both sides read the same documents written by this script.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
PACKAGES = ("jobs", "udfs", "schemas", "models")  # folders at the root that are leakwatch's subpackages
START = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)


def write_crawls(path: Path, n_crawls: int, pages: int) -> None:
    """`pages` documents per crawl on 10 hosts: random texts, 5% near copies, a tenth carried into the next crawl."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.bench_dedup import corpus
    from leakwatch.udfs.text import hash64, text_hash

    texts, _ = corpus(n_crawls * pages, seed=3)
    rng = np.random.default_rng(3)
    for c in range(n_crawls):
        crawl = f"CC-MAIN-2024-{10 + 4 * c:02d}"
        own = texts[c * pages : (c + 1) * pages]
        if c:  # content seen in an earlier crawl
            carried = rng.choice(c * pages, size=pages // 10, replace=False)
            own[: pages // 10] = [texts[i] for i in carried]
        ids = [hash64(f"{crawl}/{i}") for i in range(pages)]
        hosts = [f"site{i % 10}.example" for i in range(pages)]
        table = pa.table({
            "doc_id": pa.array(ids, pa.int64()),
            "url": pa.array([f"https://{h}/{i}" for i, h in enumerate(hosts)]),
            "host": pa.array(hosts),
            "fetch_time": pa.array([START + dt.timedelta(days=28 * c, seconds=i) for i in range(pages)],
                                   pa.timestamp("us", tz="UTC")),
            "text": pa.array(own),
            "text_hash": pa.array([text_hash(t) for t in own], pa.int64()),
        })
        (path / f"crawl={crawl}").mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path / f"crawl={crawl}" / "part-0.parquet")


def export_revision(rev: str, into: Path) -> Path:
    """A tree importable as `leakwatch` at revision `rev`: the package root with its subpackages inside."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=fh, check=True)
    src = into / "src"
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    site = into / "site"
    shutil.copytree(src / "leakwatch", site / "leakwatch")
    for name in PACKAGES:
        if (src / name).is_dir():
            shutil.copytree(src / name, site / "leakwatch" / name)
    return site


def child(docs: str, work: str) -> dict:
    """In this process: one crawl alone into a fresh warehouse (best of two, after one untimed), then all crawls."""
    import leakwatch
    from leakwatch.jobs.dedup import dedup_crawls
    from leakwatch.jobs.spark import SparkOptions, get_spark
    from leakwatch.udfs.minhash import DedupOptions

    spark = get_spark(SparkOptions(master="local[1]", shuffle_partitions=4), "bench-dedup-fixed")
    frame = spark.read.parquet(docs)
    first = sorted(r["crawl"] for r in frame.select("crawl").distinct().collect())[0]

    def once(crawls) -> float:
        warehouse = Path(work) / "wh"
        shutil.rmtree(warehouse, ignore_errors=True)
        selected = frame.where(frame.crawl.isin(crawls))
        start = time.perf_counter()
        dedup_crawls(spark, selected, DedupOptions(), str(warehouse))
        return time.perf_counter() - start

    crawls = sorted(r["crawl"] for r in frame.select("crawl").distinct().collect())
    once([first])  # warm: JVM code paths, Python workers
    one = min(once([first]) for _ in range(2))
    every = once(crawls)
    return {"leakwatch": str(Path(leakwatch.__file__).parent), "crawls": len(crawls),
            "all_crawls_s": round(every, 2), "per_crawl_s": round(every / len(crawls), 2), "one_crawl_s": round(one, 2)}


def run_side(site: Path | None, docs: Path, work: Path) -> dict:
    env = dict(os.environ)
    if site is not None:  # else this checkout, as the venv installs it
        env["PYTHONPATH"] = str(site)
    work.mkdir(parents=True)
    # Run from the work folder: Python workers start with their cwd first on sys.path, and a checkout's
    # cwd would put its own leakwatch/ before the baseline's.
    out = subprocess.run([sys.executable, __file__, "--child", str(docs), str(work)], env=env, check=True,
                         capture_output=True, text=True, cwd=work)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="e5c7055", help="git revision measured as the baseline")
    parser.add_argument("--crawls", type=int, default=5)
    parser.add_argument("--pages", type=int, default=140)
    parser.add_argument("--child", nargs=2, metavar=("DOCS", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    from benchmarks.machine import MachineLoad

    with tempfile.TemporaryDirectory(prefix="bench-dedup-fixed-") as tmp:
        tmp_path = Path(tmp)
        write_crawls(tmp_path / "documents", args.crawls, args.pages)
        site = export_revision(args.baseline, tmp_path / "baseline")
        with MachineLoad() as load:
            baseline = run_side(site, tmp_path / "documents", tmp_path / "work-baseline")
            ours = run_side(None, tmp_path / "documents", tmp_path / "work-ours")
    result = {"pages_per_crawl": args.pages, "baseline_rev": args.baseline, "baseline": baseline, "ours": ours,
              "one_crawl_speedup": round(baseline["one_crawl_s"] / ours["one_crawl_s"], 2),
              "machine": load.as_dict(), "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout}
    OUT.mkdir(exist_ok=True)
    (OUT / "dedup_fixed.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
