"""Do two warehouses hold the same results? `python -m benchmarks.compare_stats WAREHOUSE_A WAREHOUSE_B`.

Compares the stats rows and the documents, ingest_log, clusters and scores tables of two warehouses,
every column but those that name a run (run ids, code version, timestamps, seconds), and, given
`--stdout A B`, two captures of what `leakwatch demo` or `leakwatch run` printed, every line but the
one with the seconds per stage. Written to check that a refactor changes no result: the same seed
and the same inputs (at the same paths) must give equal rows. Exit status 0 when all are equal.
No Spark: the tables are read with pyarrow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

# Columns that name the run that wrote a row, not what it found.
RUN_COLUMNS = {"run_id", "code_version", "finished_at", "started_at", "seconds"}
TABLES = {
    "stats": ["time_slice", "period", "crawl", "view", "dimension", "value"],
    "documents": ["doc_id"],
    "ingest_log": ["path"],
    "clusters": ["doc_id"],
    "scores": ["doc_id"],
}


def read_table(warehouse: Path, name: str, keys: list[str]) -> pd.DataFrame | None:
    """A table without its run columns, in key order; None when the warehouse lacks it."""
    path = warehouse / name
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    if "crawl" in frame.columns:  # a partition column comes back as a category
        frame["crawl"] = frame["crawl"].astype(str)
    frame = frame.drop(columns=[c for c in frame.columns if c in RUN_COLUMNS])
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)[sorted(frame.columns)]


def compare_tables(a: Path, b: Path) -> list[str]:
    """One line per table: equal with its row count, or what differs."""
    lines = []
    for name, keys in TABLES.items():
        left, right = read_table(a, name, keys), read_table(b, name, keys)
        if left is None or right is None:
            lines.append(f"{name}: missing in {a if left is None else b}" if (left is None) != (right is None)
                         else f"{name}: absent in both")
            continue
        try:
            pd.testing.assert_frame_equal(left, right, check_exact=True, obj=name)
        except AssertionError as exc:
            lines.append(f"{name}: DIFFERENT ({len(left)} vs {len(right)} rows): {str(exc).splitlines()[0:6]}")
            continue
        lines.append(f"{name}: {len(left)} rows equal")
    return lines


def printed_lines(path: Path) -> list[str]:
    """What a command printed, less the seconds per stage (timing, not results)."""
    return [line for line in path.read_text("utf-8").splitlines() if not line.startswith("seconds:")]


def compare_stdout(a: Path, b: Path) -> str:
    """Equal, or the first line that differs."""
    left, right = printed_lines(a), printed_lines(b)
    if left == right:
        return f"stdout: {len(left)} lines equal (seconds line left out)"
    for i, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return f"stdout: DIFFERENT at line {i + 1}:\n  {x}\n  {y}"
    return f"stdout: DIFFERENT: {len(left)} vs {len(right)} lines"


def main(argv: list[str] | None = None) -> int:
    """Print one line per comparison; 0 when everything is equal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse_a", type=Path)
    parser.add_argument("warehouse_b", type=Path)
    parser.add_argument("--stdout", nargs=2, type=Path, metavar=("A", "B"), help="two captures of a command's stdout")
    args = parser.parse_args(argv)
    lines = compare_tables(args.warehouse_a, args.warehouse_b)
    if args.stdout:
        lines.append(compare_stdout(*args.stdout))
    print("\n".join(lines))
    return 1 if any("DIFFERENT" in line or "missing" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
