"""Dedup throughput: MinHash signatures per core (against datasketch's per-row MinHash), `leakwatch dedup`
end to end in local Spark as the corpus grows (with peak memory), and datasketch's in-memory MinHashLSH
as the single-node baseline in the same run (speed, and the share of its pairs we find).

    python -m benchmarks.bench_dedup [--scales 20000 100000] [--baseline-scale 100000] [--signature-docs 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out"
CRAWL = "CC-MAIN-2024-10"
START = dt.datetime(2024, 2, 20, tzinfo=dt.UTC)
NEAR_DUP_SHARE = 0.05


def vocabulary() -> np.ndarray:
    """~3,000 real words from Python's own help topics."""
    from pydoc_data.topics import topics

    return np.array(sorted(set(re.findall(r"[a-z]{3,}", " ".join(topics.values()).lower()))))


def corpus(n_docs: int, seed: int = 0, words: tuple[int, int] = (150, 450)) -> tuple[list[str], list[int]]:
    """Unrelated random texts, 5% of them near copies (0-3% of words replaced) of earlier ones.

    Returns the texts and, per text, the index of the text it copies (-1 for originals).
    """
    vocab = vocabulary()
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    source = np.full(n_docs, -1)
    copies = set(rng.choice(np.arange(1, n_docs), size=int(n_docs * NEAR_DUP_SHARE), replace=False).tolist())
    tokens: list[np.ndarray] = []
    for i in range(n_docs):
        if i in copies:
            j = int(rng.integers(0, i))
            while source[j] >= 0:  # copy an original, so planted groups stay pairs
                j = int(rng.integers(0, i))
            source[i] = j
            ids = tokens[j].copy()
            edited = rng.random(ids.size) < rng.uniform(0.0, 0.03)
            ids[edited] = rng.integers(0, vocab.size, int(edited.sum()))
        else:
            ids = rng.integers(0, vocab.size, int(rng.integers(*words)))
        tokens.append(ids)
        texts.append(" ".join(vocab[ids]))
    return texts, source.tolist()


def write_documents(path: Path, texts: list[str]) -> None:
    """The columns dedup reads of `documents`, as one parquet file in row groups of 50,000 rows (~75 MB,
    about what Spark's writer makes of a documents table: 128 MB blocks). pyarrow's default group, 1M rows,
    would make a 1M-document corpus one 1.5 GB group that a reader must hold whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from leakwatch.udfs.text import hash64, text_hash

    n = len(texts)
    table = pa.table({
        "doc_id": pa.array([hash64(f"bench/{i}") for i in range(n)], pa.int64()),
        "crawl": pa.array([CRAWL] * n),
        "url": pa.array([f"https://bench.example/{i}" for i in range(n)]),
        "fetch_time": pa.array([START + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
        "text": pa.array(texts),
        "text_hash": pa.array([text_hash(t) for t in texts], pa.int64()),
    })
    pq.write_table(table, path, row_group_size=50_000)


def signature_throughput(n_docs: int) -> dict:
    """Docs/s on one core for 1,000-word texts: our batch UDF body; the same body with the per-row
    code it had before its fast paths (benchmarks/reference.py); datasketch's MinHash per row."""
    import pandas as pd
    import xxhash
    from datasketch import MinHash

    from benchmarks import reference
    from benchmarks.machine import MachineLoad, best_rate
    from leakwatch.udfs.minhash import DedupOptions, band_hashes, lsh_params, signature, signature_frames

    texts, _ = corpus(n_docs, seed=1, words=(1000, 1001))
    options = DedupOptions()
    bands, rows = lsh_params(options.jaccard_threshold, options.num_perm)
    frames = [pd.DataFrame({"doc_id": np.arange(s, min(s + 4096, n_docs)), "text": texts[s : s + 4096]})
              for s in range(0, n_docs, 4096)]

    def before(sample: list[str]) -> None:
        for text in sample:
            hashes = reference.shingle_hashes(text, options.shingle_size)
            sig = signature(hashes, options.num_perm, options.minhash_seed)
            sig.view(np.int32).tolist()
            band_hashes(sig, bands, rows)

    def datasketch_rows(sample: list[str]) -> None:
        # Tokenized as before the fast paths, so this row stays comparable with earlier runs.
        for text in sample:
            tokens = reference.normalize_text(text).split()
            mh = MinHash(num_perm=options.num_perm, seed=options.minhash_seed, hashfunc=xxhash.xxh32_intdigest)
            mh.update_batch([" ".join(tokens[i : i + 5]).encode() for i in range(len(tokens) - 4)])

    sample = texts[: max(200, n_docs // 5)]
    runs = {"ours": (n_docs, lambda: list(signature_frames(iter(frames), options))),
            "before_fast_paths": (len(sample), lambda: before(sample)),
            "datasketch_per_row": (len(sample), lambda: datasketch_rows(sample))}
    with MachineLoad() as load:
        wall = {name: round(best_rate(n, run)) for name, (n, run) in runs.items()}
        cpu = {name: round(best_rate(n, run, clock=time.process_time)) for name, (n, run) in runs.items()}
    return {"docs": n_docs, "words_per_doc": 1000, "docs_per_s_per_core": wall["ours"],
            "before_fast_paths_docs_per_s": wall["before_fast_paths"],
            "datasketch_per_row_docs_per_s": wall["datasketch_per_row"],
            "docs_per_cpu_s": cpu, "machine": load.as_dict()}


class TreeRss:
    """Peak resident memory of a process and its descendants (the Spark JVM and Python workers), from /proc."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every, self.peak, self.peak_pss = pid, every, 0, 0
        self.kinds: dict[str, int] = {}  # at the sample with the peak total: RSS by kind of process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _tree_rss(self) -> dict[str, int]:
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        children[int(fh.read().rsplit(")", 1)[1].split()[1])].append(int(entry))
                except OSError:
                    continue
        kinds: dict[str, int] = defaultdict(int)
        todo = [self.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                with open(f"/proc/{pid}/comm") as fh:
                    name = fh.read().strip()
                pss = _pss_bytes(pid)
            except OSError:
                continue
            kind = "driver" if pid == self.pid else "jvm" if name == "java" else "workers"
            kinds[kind] += rss
            # Forked Python workers share pages with their daemon: RSS counts those once per process,
            # PSS splits them. Both are kept, with the number of processes of each kind.
            kinds[f"{kind}_pss"] += pss
            kinds[f"{kind}_n"] += 1
        return kinds

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            kinds = self._tree_rss()
            total = sum(v for k, v in kinds.items() if k in ("driver", "jvm", "workers"))
            if total > self.peak:
                self.peak, self.kinds = total, dict(kinds)
            self.peak_pss = max(self.peak_pss, sum(v for k, v in kinds.items() if k.endswith("_pss")))

    def peak_by_kind(self) -> dict[str, int]:
        """MB per kind of process (driver Python, Spark JVM, Python workers) at the peak of RSS: RSS, PSS
        (`_pss`), and the number of processes (`_n`)."""
        return {kind: (v if kind.endswith("_n") else round(v / 2**20)) for kind, v in sorted(self.kinds.items())}

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _pss_bytes(pid: int) -> int:
    """Proportional set size of a process (Linux smaps_rollup), 0 where the kernel has none."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def write_corpus(n_docs: int, path: Path) -> None:
    """The benchmark corpus as parquet, from a child process: the dedup run's memory then holds no
    corpus texts of the benchmark's own (1M texts are ~3 GB of Python strings)."""
    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from benchmarks.bench_dedup import corpus, write_documents; "
                    "write_documents(Path(sys.argv[2]), corpus(int(sys.argv[1]))[0])", str(n_docs), str(tmp)],
                   check=True)
    os.replace(tmp, path)


def one_scale(n_docs: int, work: Path, baseline: bool, driver_docs: int | None = None,
              driver_memory: str = "6g") -> dict:
    """Child process: dedup n_docs in local[2] Spark; optionally datasketch's MinHashLSH on the same texts.
    `driver_docs`: --max-driver-docs (None: its default). Peak memory is that of the dedup alone: the
    corpus is written by another process and generated here again (same seed) only after dedup,
    for the baseline."""
    from pyspark.sql import functions as F

    from leakwatch.jobs.dedup import dedup_crawls
    from leakwatch.jobs.spark import SparkOptions, get_spark
    from leakwatch.udfs.minhash import DedupOptions
    from leakwatch.udfs.text import hash64

    docs_path = work / f"documents-{n_docs}.parquet"
    write_corpus(n_docs, docs_path)
    warehouse = work / f"warehouse-{n_docs}"
    shutil.rmtree(warehouse, ignore_errors=True)
    spark = get_spark(SparkOptions(master="local[2]", driver_memory=driver_memory,
                                   shuffle_partitions=max(8, n_docs // 25000)))
    options = DedupOptions() if driver_docs is None else DedupOptions(max_driver_docs=driver_docs)
    docs = spark.read.parquet(str(docs_path))
    with TreeRss(os.getpid()) as rss:
        t = time.perf_counter()
        (summary,) = dedup_crawls(spark, docs, options, str(warehouse))
        seconds = time.perf_counter() - t
    result = {"docs": n_docs, "max_driver_docs": options.max_driver_docs, "driver_memory": driver_memory,
              "seconds": round(seconds, 1), "docs_per_s": round(n_docs / seconds),
              "peak_rss_mb": round(rss.peak / 2**20), "peak_rss_mb_by_process": rss.peak_by_kind(),
              "peak_pss_mb": round(rss.peak_pss / 2**20), "summary": dataclasses.asdict(summary)}
    if baseline:
        texts, source = corpus(n_docs)
        ids = {hash64(f"bench/{i}"): i for i in range(n_docs)}
        clusters = spark.read.parquet(str(warehouse / "clusters")).select("doc_id", "cluster_id")
        cluster_of = {ids[r["doc_id"]]: r["cluster_id"] for r in clusters.where(F.col("cluster_size") > 1).collect()}
        result["baseline"] = datasketch_baseline(texts, options, cluster_of)
        result["planted"] = planted_recall(texts, source, cluster_of)
    spark.stop()
    shutil.rmtree(warehouse)
    docs_path.unlink()  # hundreds of MB at 1M docs; the corpus is regenerated from its seed
    return result


def planted_recall(texts: list[str], source: list[int], cluster_of: dict[int, int]) -> dict:
    """Share of planted near-copy pairs put in one cluster, by their exact shingle Jaccard."""
    from leakwatch.udfs.text import words

    def shingles(text: str) -> set[str]:
        tokens = words(text)
        return {" ".join(tokens[k : k + 5]) for k in range(len(tokens) - 4)}

    by_band: dict[str, list[bool]] = defaultdict(list)
    for i, j in enumerate(source):
        if j < 0:
            continue
        a, b = shingles(texts[i]), shingles(texts[j])
        jaccard = len(a & b) / len(a | b)
        band = ">=0.9" if jaccard >= 0.9 else ">=0.8" if jaccard >= 0.8 else "<0.8"
        by_band[band].append(cluster_of.get(i) is not None and cluster_of.get(i) == cluster_of.get(j))
    return {band: {"pairs": len(hits), "found": round(sum(hits) / len(hits), 4)} for band, hits in by_band.items()}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def datasketch_baseline(texts: list[str], options, cluster_of: dict[int, int]) -> dict:
    """datasketch MinHash + in-memory MinHashLSH on one core; the share of its pairs our clusters hold."""
    import xxhash
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    from leakwatch.udfs.text import words

    before = _rss_mb()
    t = time.perf_counter()
    lsh = MinHashLSH(threshold=options.jaccard_threshold, num_perm=options.num_perm)
    sketches = {}
    with lsh.insertion_session() as session:
        for i, text in enumerate(texts):
            tokens = words(text)
            if len(tokens) - 4 < options.min_shingles:
                continue
            mh = MinHash(num_perm=options.num_perm, seed=options.minhash_seed, hashfunc=xxhash.xxh32_intdigest)
            mh.update_batch([" ".join(tokens[k : k + 5]).encode() for k in range(len(tokens) - 4)])
            sketches[i] = LeanMinHash(mh)
            session.insert(i, sketches[i])
    pairs = set()
    for i, mh in sketches.items():
        pairs.update((min(i, j), max(i, j)) for j in lsh.query(mh) if j != i)
    seconds = time.perf_counter() - t
    verified = {p for p in pairs if sketches[p[0]].jaccard(sketches[p[1]]) >= options.jaccard_threshold}

    def share(found: set) -> float:
        hits = sum(cluster_of.get(a) is not None and cluster_of.get(a) == cluster_of.get(b) for a, b in found)
        return round(hits / len(found), 4) if found else 1.0

    ours = defaultdict(list)
    for doc, cluster in cluster_of.items():
        ours[cluster].append(doc)
    our_pairs = {pair for members in ours.values() for pair in combinations(sorted(members), 2)}
    return {"seconds": round(seconds, 1), "docs_per_s": round(len(texts) / seconds), "lsh_pairs": len(pairs),
            "lsh_pairs_found": share(pairs), "verified_pairs": len(verified), "verified_pairs_found": share(verified),
            "our_pairs": len(our_pairs), "our_pairs_in_its_lsh_pairs": share_of(our_pairs, pairs),
            "rss_growth_mb": round(_rss_mb() - before)}  # sketches + index held in memory at the end


def share_of(found: set, reference: set) -> float:
    """Share of `found` that is in `reference`."""
    return round(len(found & reference) / len(found), 4) if found else 1.0


def main(argv: list[str] | None = None) -> dict:
    """Run the dedup benchmark and write benchmarks/out/dedup.json (or --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="*", default=[20000, 100000])
    parser.add_argument("--baseline-scale", type=int, default=100000)
    parser.add_argument("--signature-docs", type=int, default=2000)
    parser.add_argument("--work", default=str(OUT / "dedup-work"))
    parser.add_argument("--one-scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-driver-docs", type=int, nargs="*", default=[None], metavar="N",
                        help="run every scale with each of these --max-driver-docs (0: all in Spark; default: "
                             "the setting's default), to compare the driver and Spark paths at one scale")
    parser.add_argument("--driver-docs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--driver-memory", default="6g", help="driver memory of the dedup runs (default 6g)")
    parser.add_argument("--json", default="dedup.json", help="file name of the result in benchmarks/out")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.one_scale:
        print(json.dumps(one_scale(args.one_scale, work, args.baseline, args.driver_docs, args.driver_memory)))
        return {}
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    report = {"machine": {"cores": os.cpu_count(), "load_avg_at_start": os.getloadavg()},
              "signatures": signature_throughput(args.signature_docs), "end_to_end": []}
    print(json.dumps(report["signatures"]), flush=True)
    for n, driver_docs in ((n, d) for n in args.scales for d in args.max_driver_docs):
        cmd = [sys.executable, "-m", "benchmarks.bench_dedup", "--one-scale", str(n), "--work", str(work),
               "--driver-memory", args.driver_memory]
        if n == args.baseline_scale:
            cmd.append("--baseline")
        if driver_docs is not None:
            cmd += ["--driver-docs", str(driver_docs)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"bench_dedup: the {n}-document run failed")
        report["end_to_end"].append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(report["end_to_end"][-1]), flush=True)
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    (OUT / args.json).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
