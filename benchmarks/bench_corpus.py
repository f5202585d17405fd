"""Corpus reader throughput and memory: a FineWeb-layout parquet file of N rows read by the corpus reader
(rows mapped, then whole document rows), against pyarrow reading the same columns in the same run.

    python -m benchmarks.bench_corpus [--rows 1000000] [--chars 3000] [--row-group 1000] [--file PATH]

Each measure runs in its own process (one thread: Arrow's pools at 1), so its peak RSS is its own.
Rates are per CPU second of that process (the shared machine's load slows wall time, not CPU time).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.machine import MachineLoad

OUT = Path(__file__).parent / "out"
MEASURES = ("pyarrow_columns", "reader_rows", "documents")


def vocabulary() -> list[str]:
    """~3,000 real words from Python's own help topics."""
    from pydoc_data.topics import topics

    return sorted(set(re.findall(r"[a-z]{3,}", " ".join(topics.values()).lower())))


def write_fineweb(path: Path, rows: int, chars: int, row_group: int, seed: int = 0) -> None:
    """A FineWeb-layout parquet file (text, id, dump, url, date, file_path, language, language_score,
    token_count), texts of log-normal length around `chars`, written `row_group` rows per row group."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    vocab = np.array(vocabulary())
    rng = np.random.default_rng(seed)
    schema = pa.schema([("text", pa.string()), ("id", pa.string()), ("dump", pa.string()), ("url", pa.string()),
                        ("date", pa.string()), ("file_path", pa.string()), ("language", pa.string()),
                        ("language_score", pa.float64()), ("token_count", pa.int64())])
    # ~7.3 characters per word with its space in this vocabulary.
    words_mean = chars / 7.3
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for start in range(0, rows, row_group):
            n = min(row_group, rows - start)
            lengths = np.maximum(5, rng.lognormal(np.log(words_mean) - 0.32, 0.8, n).astype(int))
            ids = rng.integers(0, vocab.size, int(lengths.sum()))
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            texts = [" ".join(vocab[ids[bounds[i]:bounds[i + 1]]]) for i in range(n)]
            crawl = "CC-MAIN-2024-10" if start < rows // 2 else "CC-MAIN-2024-18"
            writer.write_table(pa.table({
                "text": texts,
                "id": [f"<urn:uuid:{start + i:08d}-0000-4000-8000-000000000000>" for i in range(n)],
                "dump": [crawl] * n,
                "url": [f"https://www.site{(start + i) % 5000}.example.com/page/{start + i}" for i in range(n)],
                "date": [f"2024-02-2{1 + i % 8}T10:{i % 60:02d}:00Z" for i in range(n)],
                "file_path": [f"s3://commoncrawl/crawl-data/{crawl}/segments/x/warc/y.warc.gz"] * n,
                "language": ["en"] * n,
                "language_score": rng.uniform(0.65, 1.0, n),
                "token_count": lengths,
            }, schema=schema))


def _status_mb(key: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process; unlike ru_maxrss, the peak restarts at exec."""
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith(key)).split()[1]) / 1024


def measure(name: str, path: str) -> dict:
    """One measure in this process: rows, wall and CPU seconds, RSS along the way, peak RSS."""
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    from leakwatch.udfs.corpora import PRESETS
    from leakwatch.udfs.corpus_ingest import BATCH_ROWS, STREAM_BUFFER, CorpusIngest
    from leakwatch.udfs.ingest import IngestOptions

    ingest = CorpusIngest(path, None, "bench", IngestOptions(), PRESETS["fineweb"], "fineweb", "parquet")
    if name == "pyarrow_columns":
        import pyarrow.parquet as pq

        def rows():
            parquet = pq.ParquetFile(path, buffer_size=STREAM_BUFFER)
            columns = ["text", "url", "date", "dump", "id", "language", "language_score"]
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False):
                yield from zip(*(batch.column(c).to_pylist() for c in columns), strict=True)
    elif name == "reader_rows":
        from leakwatch.sources import open_ranged

        def rows():
            return ingest._parquet_rows(open_ranged(path))
    else:
        def rows():
            return ingest.documents()
    rss_start, samples, n = _status_mb("VmRSS"), [], 0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in rows():
        n += 1
        if n % 100_000 == 0:
            samples.append(round(_status_mb("VmRSS")))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"measure": name, "rows": n, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
              "rows_per_cpu_s": round(n / cpu), "rows_per_wall_s": round(n / wall),
              "rss_start_mb": round(rss_start), "rss_every_100k_rows_mb": samples,
              "peak_rss_mb": round(_status_mb("VmHWM"))}
    if name == "documents":
        result["kept"], result["skipped"] = ingest.report.kept, dict(ingest.report.skipped)
    return result


def main() -> None:
    """Write the file if needed, run each measure in its own process, print and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chars", type=int, default=3000)
    parser.add_argument("--row-group", type=int, default=1000)
    parser.add_argument("--file", default=None)
    parser.add_argument("--measure", choices=MEASURES, help="run this one measure here (the driver's subprocesses)")
    args = parser.parse_args()
    path = Path(args.file or OUT / f"fineweb-{args.rows}-rg{args.row_group}.parquet")
    if args.measure:
        print(json.dumps(measure(args.measure, str(path))))
        return
    OUT.mkdir(exist_ok=True)
    if not path.exists():
        started = time.perf_counter()
        write_fineweb(path, args.rows, args.chars, args.row_group)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    report = {"file": str(path), "bytes": path.stat().st_size, "rows": meta.num_rows,
              "row_groups": meta.num_row_groups, "measures": []}
    with MachineLoad() as load:
        for name in MEASURES:
            out = subprocess.run([sys.executable, "-m", "benchmarks.bench_corpus", "--file", str(path), "--measure",
                                  name], capture_output=True, text=True, check=True)
            report["measures"].append(json.loads(out.stdout))
            print(json.dumps(report["measures"][-1]), file=sys.stderr)
    report.update(load.as_dict())
    (OUT / f"bench_corpus-{path.stem}.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
