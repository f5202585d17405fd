"""Main-content extraction quality and speed on real pages with marked article text: leakwatch's
extractor (the ingest's path: decode, then main_text) against trafilatura and BeautifulSoup's get_text on
the same pages, in the same run.

    python -m benchmarks.bench_main_content [--pages DIR] [--repeats 3]

The pages are mozilla/readability's test pages in ../shared (source.html, and expected.html: the
article text Readability.js extracts, reviewed by its maintainers). Score per page: precision and
recall of word 4-gram shingles of the extracted text against the visible text of expected.html,
averaged over pages (a page with no text scores 0 and 0); F1 of the two averages. Pages are split in
two halves by a hash of their name ("dev" / "check") so rules developed on one can be checked on the
other. A second score counts image alt texts as part of expected.html's text (resiliparse's default
rendering; it reproduces the issue's starting figures, F1 0.91): leakwatch, like trafilatura, leaves
alt texts out, so it loses recall there; the variant that keeps them is measured beside it. trafilatura
is a baseline only (`pip install trafilatura`), never a dependency; BeautifulSoup (a dev dependency) is
the whole page's text, the floor to beat.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks.machine import MachineLoad

OUT = Path(__file__).parent / "out"
PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "web" / "readability" / "pages"
_WORD = re.compile(r"\w+")
SHINGLE = 4


@dataclass(frozen=True)
class Page:
    """One saved page: its bytes, the text its article holds, and its half of the split."""

    name: str
    source: bytes
    expected: str
    expected_with_alt: str
    half: str


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def shingle_scores(text: str, expected: str) -> tuple[float, float]:
    """(precision, recall) of the word 4-gram shingles of `text` against those of `expected`."""
    got, want = _shingles(text), _shingles(expected)
    if not got or not want:
        return 0.0, 0.0
    common = len(got & want)
    return common / len(got), common / len(want)


def visible_text(html: str, alt_texts: bool = False) -> str:
    """What a reader sees of an HTML fragment (with alt_texts, also the alt texts of its images), block by block."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(html), alt_texts=alt_texts, list_bullets=False)


def readability_pages(folder: Path = PAGES) -> list[Page]:
    """The pages of a readability test-page folder, in name order."""
    pages = []
    for page in sorted(p for p in folder.iterdir() if (p / "source.html").is_file()):
        half = "dev" if hashlib.sha1(page.name.encode()).digest()[0] % 2 == 0 else "check"
        expected = (page / "expected.html").read_text("utf-8")
        source = (page / "source.html").read_bytes()
        pages.append(Page(page.name, source, visible_text(expected), visible_text(expected, alt_texts=True), half))
    return pages


def _decoded(page: Page) -> str:
    from leakwatch.udfs.html import decode_html

    return decode_html(page.source, None)[0]


def extraction_scores(extract: Callable[[str], str], pages: list[Page], with_alt: bool = False) -> dict:
    """Precision, recall, F1 and pages with text, per half and over all pages; per-page scores."""
    per_page = {}
    for page in pages:
        text = extract(_decoded(page)) or ""
        expected = page.expected_with_alt if with_alt else page.expected
        per_page[page.name] = (page.half, bool(text.strip()), *shingle_scores(text, expected))
    scores: dict = {}
    for part in ("dev", "check", "all"):
        rows = [row for row in per_page.values() if part in ("all", row[0])]
        precision = sum(r[2] for r in rows) / len(rows)
        recall = sum(r[3] for r in rows) / len(rows)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[part] = {
            "pages": len(rows),
            "kept": sum(r[1] for r in rows),
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
        }
    scores["per_page"] = {name: [round(p, 3), round(r, 3)] for name, (_, _, p, r) in per_page.items()}
    return scores


def docs_per_second(extract: Callable[[str], str], pages: list[Page], repeats: int) -> dict:
    """Pages per second (wall and CPU) of decode + extract over all pages, best of `repeats`."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        for page in pages:
            extract(_decoded(page))
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - cpu_started)
    return {"docs_per_s": round(len(pages) / wall, 1), "docs_per_cpu_s": round(len(pages) / cpu, 1)}


def _trafilatura() -> Callable[[str], str] | None:
    try:
        import trafilatura
    except ImportError:
        return None
    return lambda html: trafilatura.extract(html) or ""


def _resiliparse_alone(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(html), main_content=True, alt_texts=False, list_bullets=False)


def _beautifulsoup(html: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text("\n", strip=True)


def main(argv: list[str] | None = None) -> dict:
    """Score and time the extractors; write benchmarks/out/main_content.json."""
    from leakwatch.udfs.html import main_text
    from leakwatch.udfs.ingest import EXTRACTOR_VERSION

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=PAGES, help="a readability test-page folder")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the pages (best is kept)")
    args = parser.parse_args(argv)
    if not args.pages.is_dir():
        print(f"skipped: {args.pages} is absent (the readability pages live in ../shared/data/web/readability)")
        return {}
    pages = readability_pages(args.pages)
    # resiliparse's main content alone was leakwatch's extractor up to leakwatch-extract/2.
    extractors = {f"leakwatch ({EXTRACTOR_VERSION})": main_text,
                  f"leakwatch ({EXTRACTOR_VERSION}) with alt texts kept": partial(main_text, alt_texts=True),
                  "resiliparse main content alone": _resiliparse_alone}
    baseline = _trafilatura()
    if baseline is None:
        print("trafilatura is not installed (pip install trafilatura): the baseline is left out")
    else:
        import trafilatura

        extractors[f"trafilatura {trafilatura.__version__}"] = baseline
    import bs4

    extractors[f"BeautifulSoup {bs4.__version__} get_text"] = _beautifulsoup
    result: dict = {"pages": len(pages), "extractors": {}}
    with MachineLoad() as load:
        for name, extract in extractors.items():
            scores = extraction_scores(extract, pages)
            with_alt = {
                part: extraction_scores(extract, pages, with_alt=True)[part] for part in ("dev", "check", "all")
            }
            result["extractors"][name] = {
                **scores,
                "with_alt_texts": with_alt,
                **docs_per_second(extract, pages, args.repeats),
            }
    result["machine"] = load.as_dict()
    print(f"load average {result['machine']['load_avg_start']} -> {result['machine']['load_avg_end']}")
    for name, row in result["extractors"].items():
        halves = ", ".join(
            f"{part} F1 {row[part]['f1']} (P {row[part]['precision']}, R {row[part]['recall']})"
            for part in ("dev", "check", "all")
        )
        print(
            f"{name}: {halves}; {row['all']['kept']} of {len(pages)} pages with text; "
            f"{row['docs_per_s']} docs/s ({row['docs_per_cpu_s']} per CPU-second); "
            f"with alt texts expected: F1 {row['with_alt_texts']['all']['f1']}"
        )
    OUT.mkdir(exist_ok=True)
    (OUT / "main_content.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
