"""`leakwatch train --negatives WAREHOUSE [--crawl ID ...]`: pre-ChatGPT pages of a warehouse (or of any
documents table) as human training texts, so the model learns the web it will measure.

Read with pyarrow (no Spark): the documents table's parquet files, kept only where the ingest log's latest
run of their WARC file wrote them (as the jobs read documents). English pages with at least MIN_WORDS words,
at most PER_DOMAIN pages of a registered domain, at most `max_pages` in all (a seeded sample). A fifth of
the registered domains is held out: those pages are measured (the card's FPR on them), never trained on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from leakwatch.errors import ConfigError
from leakwatch.schemas.values import is_pre_chatgpt
from leakwatch.training.corpus import Example
from leakwatch.udfs.classifier import MIN_WORDS, SCORED_LANGUAGE

NEGATIVES_SOURCE = "negatives"
PER_DOMAIN = 20
HELDOUT_SALT = "leakwatch-negatives-heldout-v1"
HELDOUT_PERCENT = 20
_COLUMNS = ["doc_id", "crawl", "registered_domain", "language", "n_words", "text", "warc_path", "run_id"]


def _tables(root: Path) -> tuple[Path, Path | None]:
    """(documents table, ingest log or None): a warehouse root, or a documents table itself."""
    if (root / "documents").is_dir():
        log = root / "ingest_log"
        return root / "documents", log if log.is_dir() else None
    return root, None


def _read(path: Path, columns: list[str]):
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
    missing = [c for c in columns if c not in dataset.schema.names]
    return dataset, missing


def _latest_runs(log_path: Path) -> set[tuple[str, str]] | None:
    """(path, run_id) of each input file's latest ingest run."""
    dataset, missing = _read(log_path, ["path", "run_id", "finished_at"])
    if missing:
        return None
    frame = dataset.to_table(columns=["path", "run_id", "finished_at"]).to_pandas()
    latest = frame.sort_values("finished_at").groupby("path").tail(1)
    return set(zip(latest["path"], latest["run_id"], strict=True))


def _heldout(domain: str) -> bool:
    digest = hashlib.sha256(f"{HELDOUT_SALT}:{domain}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELDOUT_PERCENT


def read_negatives(warehouse: str | None, crawls: tuple[str, ...], max_pages: int, seed: int,
                   ) -> tuple[list[Example], dict[str, Any] | None]:
    """The warehouse's pre-ChatGPT pages as human Examples, and the card's record of what was added."""
    if not warehouse:
        if crawls:
            raise ConfigError("--crawl selects crawls of --negatives WAREHOUSE: pass --negatives too")
        return [], None
    bad = [c for c in crawls if not is_pre_chatgpt(c)]
    if bad:
        raise ConfigError(f"--crawl {bad[0]} is not a pre-ChatGPT crawl (<= CC-MAIN-2022-40): its pages may be "
                          "LLM-written, so they cannot train as human text")
    root = Path(warehouse)
    if not root.is_dir():
        raise ConfigError(f"--negatives {root}: no such folder (a warehouse root or a documents table)")
    docs_path, log_path = _tables(root)
    try:
        dataset, missing = _read(docs_path, _COLUMNS)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--negatives {docs_path}: not a parquet table ({exc})") from exc
    need = [c for c in missing if c in ("crawl", "language", "n_words", "text")]
    if need:
        raise ConfigError(f"--negatives {docs_path}: the table lacks column(s) {', '.join(need)}")
    columns = [c for c in _COLUMNS if c not in missing]
    frame = dataset.to_table(columns=columns).to_pandas()
    n_rows = len(frame)
    latest = _latest_runs(log_path) if log_path and {"warc_path", "run_id"} <= set(columns) else None
    if latest is not None:
        frame = frame[[(p, r) in latest for p, r in zip(frame["warc_path"], frame["run_id"], strict=True)]]
    crawls_found = sorted(set(frame["crawl"]))
    wanted = set(crawls) if crawls else {c for c in crawls_found if is_pre_chatgpt(c)}
    absent = sorted(set(crawls) - set(crawls_found))
    if absent:
        raise ConfigError(f"--crawl {absent[0]} is not in {docs_path} (crawls there: {', '.join(crawls_found)})")
    if not wanted:
        raise ConfigError(f"{docs_path} has no pre-ChatGPT crawl (<= CC-MAIN-2022-40); crawls there: "
                          f"{', '.join(crawls_found) or 'none'}")
    frame = frame[frame["crawl"].isin(sorted(wanted))]
    eligible = frame[(frame["language"] == SCORED_LANGUAGE) & (frame["n_words"] >= MIN_WORDS)]
    domain = eligible["registered_domain"] if "registered_domain" in eligible else eligible["crawl"]
    eligible = eligible.assign(domain=domain.fillna("unknown"))
    rng = np.random.default_rng(seed)
    eligible = eligible.iloc[rng.permutation(len(eligible))]
    capped = eligible.groupby("domain", sort=False).head(PER_DOMAIN).head(max_pages)
    examples = [
        Example(text=text, llm=False, generator="", domain="web", source=NEGATIVES_SOURCE,
                group=f"{NEGATIVES_SOURCE}:{dom}", heldout=_heldout(dom), n_words=int(n), language=SCORED_LANGUAGE)
        for text, dom, n in zip(capped["text"], capped["domain"], capped["n_words"], strict=True)
    ]
    ids = sorted(str(i) for i in capped["doc_id"]) if "doc_id" in capped else sorted(
        hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in capped["text"])
    report = {
        "warehouse": str(root),
        "crawls": sorted(wanted),
        "rows_read": n_rows,
        "pages_eligible": len(eligible),
        "pages_added": len(examples),
        "pages_heldout": sum(e.heldout for e in examples),
        "domains": int(capped["domain"].nunique()),
        "per_crawl": dict(sorted(Counter(capped["crawl"]).items())),
        "rule": f"{SCORED_LANGUAGE}, >= {MIN_WORDS} words, <= {PER_DOMAIN} pages per registered domain, <= "
                f"{max_pages} pages (seed {seed}); {HELDOUT_PERCENT}% of domains held out",
        "fingerprint": "sha256:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16],
    }
    if not examples:
        raise ConfigError(f"{docs_path}: no English page of >= {MIN_WORDS} words in crawls {', '.join(sorted(wanted))}")
    return examples, report
