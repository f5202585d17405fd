"""`leakwatch extract` speed as a run over full-size files sees it: the marginal rate between a small and
a large shard (Spark local[1], best of --repeats runs each, JVM up and warm), against warcio +
trafilatura and warcio + BeautifulSoup on the same shard in the same run.

    python -m benchmarks.bench_extract_speed [--pages 9148] [--small-pages 914] [--repeats 2]

trafilatura is a baseline only (`pip install trafilatura`), never a dependency; it is timed as
`extract(html)` (main text) and `extract(html, with_metadata=True)` (text, title, author and date:
the work closest to a documents row, which also carries the publication date).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from benchmarks.bench_extract import CRAWL, OUT, baseline_bs4, build_shard, spark_extract
from benchmarks.machine import MachineLoad, marginal_rate


def baseline_trafilatura(path: Path, limit: int, with_metadata: bool) -> dict | None:
    """warcio + trafilatura on the first `limit` HTML responses of the shard; None if not installed."""
    try:
        import trafilatura
    except ImportError:
        return None
    from warcio.archiveiterator import ArchiveIterator

    started, cpu_started = time.perf_counter(), time.process_time()
    docs = 0
    with open(path, "rb") as raw:
        for record in ArchiveIterator(raw):
            if record.rec_type != "response":
                continue
            html = record.content_stream().read().decode("utf-8", "replace")
            trafilatura.extract(html, with_metadata=with_metadata)
            docs += 1
            if docs >= limit:
                break
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "docs": docs,
        "docs_per_s": round(docs / seconds, 1),
        "docs_per_cpu_s": round(docs / cpu, 1),
        "version": trafilatura.__version__,
    }


def add_shard_args(parser: argparse.ArgumentParser, work: Path, runs: str) -> None:
    """The flags of a benchmark over the small and large shards (this one and bench_run_speed)."""
    parser.add_argument("--pages", type=int, default=9148, help="pages of the large shard")
    parser.add_argument("--small-pages", type=int, default=914, help="pages of the small shard")
    parser.add_argument("--repeats", type=int, default=2, help=f"timed {runs} per shard (best is kept)")
    parser.add_argument("--baseline-pages", type=int, default=300, help="pages each baseline runs on")
    parser.add_argument("--work", default=str(work))


def shards(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """(large, small, warm-up) shards in --work, built once."""
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    return (build_shard(work / f"{CRAWL}-bench-{args.pages}.warc.gz", args.pages),
            build_shard(work / f"{CRAWL}-bench-{args.small_pages}.warc.gz", args.small_pages, seed=1),
            build_shard(work / f"{CRAWL}-bench-warmup-1000.warc.gz", 1000, seed=3))


def extraction_baselines(path: Path, pages: int) -> dict:
    """The same-run baselines: {name: a call returning its result, None when not installed}."""
    return {
        "warcio_trafilatura": lambda: baseline_trafilatura(path, pages, with_metadata=False),
        "warcio_trafilatura_with_metadata": lambda: baseline_trafilatura(path, pages, True),
        "warcio_bs4": lambda: baseline_bs4(path, pages),
    }


def better_of(before: dict, after: dict) -> dict:
    """Per baseline, the faster of its runs before and after the timed runs: the one the machine let run."""
    out = {}
    for name in before:
        runs = [r for r in (before[name], after[name]) if r]
        out[name] = max(runs, key=lambda r: r["docs_per_s"]) if runs else "not installed"
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run it; write benchmarks/out/extract_speed.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shard_args(parser, OUT / "extract-work", "Spark runs")
    args = parser.parse_args(argv)
    work = Path(args.work)
    large, small, warmup = shards(args)
    baselines = extraction_baselines(large, args.baseline_pages)
    result: dict = {"shards": {"small": args.small_pages, "large": args.pages}}
    with MachineLoad() as load:
        # Baselines before and after the Spark runs: the better of the two is the one the machine let run.
        before = {name: run() for name, run in baselines.items()}
        warehouse = work / "warehouse-speed"
        for name, path in (("spark_local_1_small", small), ("spark_local_1_large", large)):
            for stale in (warehouse, Path(f"{warehouse}-warmup")):
                shutil.rmtree(stale, ignore_errors=True)
            result[name] = spark_extract([path], 1, warehouse, warmup, args.repeats)
        after = {name: run() for name, run in baselines.items()}
    result.update(better_of(before, after))
    small_run, large_run = result["spark_local_1_small"], result["spark_local_1_large"]
    marginal, fixed = marginal_rate(small_run, large_run)
    result["marginal_docs_per_s"], result["fixed_seconds"] = round(marginal), round(fixed, 2)
    result["speedup"] = {
        name: round(marginal / result[name]["docs_per_s"], 1) for name in baselines if isinstance(result[name], dict)
    }
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], **load.as_dict()}
    OUT.mkdir(exist_ok=True)
    (OUT / "extract_speed.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
