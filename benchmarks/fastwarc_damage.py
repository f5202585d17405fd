"""Why leakwatch does not read with FastWARC: records and errors, FastWARC vs warcio, on the shared
malformed WARC files (../shared/data/warc/malformed).

    python -m benchmarks.fastwarc_damage [--dir ../shared/data/warc/malformed]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "warc" / "malformed"


def read_all(path: Path, reader: str) -> dict:
    """Records read and the error that ended the file, if any, with one reader."""
    from fastwarc.warc import ArchiveIterator as FastIterator
    from warcio.archiveiterator import ArchiveIterator

    records, error = 0, None
    try:
        with open(path, "rb") as raw:
            iterator = FastIterator(raw, parse_http=False) if reader == "fastwarc" else ArchiveIterator(raw)
            for record in iterator:
                (record.reader if reader == "fastwarc" else record.content_stream()).read()
                records += 1
    except Exception as exc:  # noqa: BLE001 - what ended the file is the result
        error = type(exc).__name__
    return {"records": records, "error": error}


def main(argv: list[str] | None = None) -> dict:
    """Print, per malformed file, what each reader made of it, and the files where FastWARC read fewer
    records than warcio without raising an error (records lost silently)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    files = sorted(p for p in args.dir.iterdir() if p.name != "SOURCES.txt")
    result = {p.name: {"warcio": read_all(p, "warcio"), "fastwarc": read_all(p, "fastwarc")} for p in files}
    result["_fastwarc_silently_short"] = [
        name for name, r in result.items()
        if r["fastwarc"]["error"] is None and r["fastwarc"]["records"] < r["warcio"]["records"]
    ]
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
