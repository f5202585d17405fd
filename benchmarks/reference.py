"""The per-record text functions as they were before their fast paths: one regex pass over the
whole text, one xxhash call per shingle, every word of a page counted for markers. They are the
oracle that tests/udfs/test_fast_paths.py compares the fast versions with, and the in-run baseline of
the benchmarks; the pipeline does not use them. Also the report's input health as three Spark
aggregations, as it was before it read the ingest log once, and the stats driver path's slices as they
were estimated before they skipped the frames per slice and per row."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import numpy as np
import xxhash

from leakwatch.schemas.values import LEXICON_NAMES
from leakwatch.udfs.markers import Lexicons, lexicons

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
_DIGIT = re.compile(r"\d")
_MAX_TOKENS = 512
_CHARS_PER_TOKEN = 12
# classifier_text/2's clean-up before tokens (udfs/classifier.py): line-initial list bullets, control characters
# and lone surrogates. It is not part of the fast path, so the oracle applies the same rule.
_BULLET = re.compile(r"^[ \t]*(?:[-*\u2022\u00b7\u25aa\u2013]|\d{1,2}[.)])[ \t]+", re.M)
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def normalize_text(text: str) -> str:
    """udfs.text.normalize_text before its fast paths: NFKC, lowercase, one regex pass."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub(" ", text).strip()


def classifier_text(text: str) -> str:
    """udfs.classifier.classifier_text (text form classifier_text/2) before its fast path: one findall over
    the whole head."""
    text = _BULLET.sub("", _UNPRINTABLE.sub(" ", text[: _MAX_TOKENS * _CHARS_PER_TOKEN]))
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_TOKEN.findall(_DIGIT.sub("0", text))[:_MAX_TOKENS])


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """udfs.minhash.shingle_hashes before it hashed on arrays: one xxhash call per joined shingle."""
    tokens = normalize_text(text).encode("utf-8").split(b" ")
    if len(tokens) < size or not tokens[0]:
        return np.empty(0, dtype=np.uint32)
    shingles = map(b" ".join, zip(*(tokens[i:] for i in range(size)), strict=False))
    return np.fromiter(map(xxhash.xxh32_intdigest, shingles), dtype=np.uint32)


def count_markers(text: str, lex: Lexicons | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """udfs.markers.count_markers before its fast path: every word of the page counted."""
    lex = lex or lexicons()
    normalized = normalize_text(text)
    counts = Counter(normalized.split())
    hits = [(lex.single[w], n) for w, n in counts.items() if w in lex.single]
    padded = f" {normalized} "
    for start in counts.keys() & lex.phrases.keys():
        for key, hit in lex.phrases[start].items():
            needle = " " + " ".join(key) + " "
            n, at = 0, padded.find(needle)
            while at >= 0:
                n += 1
                at = padded.find(needle, at + 1)
            if n:
                hits.append((hit, n))
    per_lexicon = dict.fromkeys(LEXICON_NAMES, 0)
    per_term: dict[str, int] = {}
    for (name, term), n in hits:
        per_lexicon[name] += n
        per_term[term] = per_term.get(term, 0) + n
    return per_lexicon, per_term


def load_health_spark(spark, warehouse: str):
    """jobs.report.load_health before it read the log once: three Spark aggregations over the ranked,
    persisted log (the oracle of tests/jobs/test_report.py and the baseline of bench_report)."""
    from pyspark.sql import functions as F

    from leakwatch.jobs.report import PROBLEM_FILES
    from leakwatch.jobs.warehouse import latest_ingest_log
    from leakwatch.report.page import Health
    from leakwatch.schemas.values import FILE_STATUSES

    log = latest_ingest_log(spark, warehouse)
    if log is None:
        return None
    columns = ("crawl", "path", "status", "error_class", "error_message", "records", "kept", "skipped")
    log = log.select(*columns).persist()
    try:
        per_crawl = log.groupBy("crawl").agg(
            F.count("*").alias("files"),
            *(F.sum((F.col("status") == s).cast("long")).alias(s) for s in FILE_STATUSES),
            F.sum("records").alias("records"),
            F.sum("kept").alias("kept"),
        ).toPandas()
        skips = (log.select("crawl", F.explode("skipped").alias("reason", "n"))
                 .groupBy("crawl", "reason").agg(F.sum("n").alias("n")).toPandas())
        problems = (log.where(F.col("status") != "ok").drop("skipped").orderBy("status", "crawl", "path")
                    .limit(PROBLEM_FILES).toPandas())
    finally:
        log.unpersist()
    if not skips.empty:
        wide = skips.pivot(index="crawl", columns="reason", values="n").fillna(0).astype("int64")
        wide.columns = [f"skipped: {c}" for c in wide.columns]
        per_crawl = per_crawl.merge(wide, left_on="crawl", right_index=True, how="left")
        per_crawl[list(wide.columns)] = per_crawl[list(wide.columns)].fillna(0).astype("int64")
    n_problems = int(per_crawl["partial"].sum() + per_crawl["failed"].sum())
    return Health(per_crawl.sort_values("crawl").reset_index(drop=True), problems, n_problems)


def estimate_slices_frames(cells, ctx, columns):
    """leakwatch.estimators.rows.estimate_slices as it was before it worked on arrays: a sort and a frame per
    slice, a frame per row (groupby), the slices' frames joined at the end; the same estimation (the oracle
    of tests/leakwatch/test_estimators.py and the baseline of bench_stats)."""
    import pandas as pd

    from leakwatch.estimators import rows as R

    parts = []
    for _, part in cells.groupby(["view", "dimension", "value"], sort=True):
        frame = part.sort_values(["bucket", "cell", *R.KEY], kind="stable")
        slice_key = tuple(frame[k].iloc[0] for k in ("view", "dimension", "value"))
        human = R.baselines(frame, ctx, slice_key)
        out, control = [], []
        for key, group in frame.groupby(list(R.KEY), sort=True):
            cells_ = R.RowCells(*(group[c].to_numpy() for c in ("bucket", "cell", "n", "s")),
                                int(group["n_domains"].iloc[0]))
            baseline = human.get(key[2], human[None])
            out.append(R._row(dict(zip(R.KEY, key, strict=True)), cells_, baseline, ctx))
            if key[0] == "crawl" and baseline.other_crawls and out[-1]["prevalence"] is not None:
                control.append(out[-1])
        table = pd.DataFrame(out)
        table["baseline_drift"] = max(r["prevalence"] for r in control) if control else None
        table["baseline_moved"] = any(r["ci_low"] > 0 for r in control) if control else None
        parts.append(table[columns])
    return pd.DataFrame([row for part in parts for row in part.itertuples(index=False, name=None)], columns=columns)
