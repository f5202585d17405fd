"""jobs.dedup on local Spark: accuracy against exact Jaccard, determinism, short texts, cross-crawl lineage."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from pydoc_data.topics import topics

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from leakwatch.jobs.clusters import ConvergenceError, FingerprintMismatch, compute_clusters, connected_components
from leakwatch.jobs.dedup import dedup_crawls
from leakwatch.jobs.spark import MAX_RECORDS_PER_BATCH
from leakwatch.schemas.tables import CLUSTERS, DOCUMENTS, LSH_INDEX, LSH_SIGNATURES, URL_HISTORY
from leakwatch.udfs.minhash import DedupOptions, fingerprint
from leakwatch.udfs.text import text_hash, words

pytestmark = pytest.mark.spark

# A vocabulary from Python's own help topics: real words, and enough of them that unrelated
# random texts share no 5-word shingle.
VOCAB = sorted(set(re.findall(r"[a-z]{3,}", " ".join(topics.values()).lower())))
COLUMNS = ["doc_id", "crawl", "url", "fetch_time", "text", "text_hash"]
DOC_SCHEMA = StructType([DOCUMENTS[c] for c in COLUMNS])
FETCH = dt.datetime(2023, 2, 1)


def _text(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choices(VOCAB, k=n_words))


def _edit(rng: random.Random, text: str, rate: float) -> str:
    return " ".join(rng.choice(VOCAB) if rng.random() < rate else w for w in text.split())


def _row(doc_id: int, text: str, crawl: str = "CC-MAIN-2023-06", url: str | None = None, fetch=FETCH) -> tuple:
    return (doc_id, crawl, url or f"https://example.com/{doc_id}", fetch, text, text_hash(text))


def _docs(spark, rows: list[tuple]):
    return spark.createDataFrame(rows, DOC_SCHEMA)


def _shingles(text: str) -> set[str]:
    tokens = words(text)
    return {" ".join(tokens[i : i + 5]) for i in range(len(tokens) - 4)}


def _true_jaccard(texts: dict[int, str], min_shingles: int) -> dict[tuple[int, int], float]:
    """Brute force: exact Jaccard of every pair sharing a shingle (all others are 0)."""
    sets = {i: s for i, t in texts.items() if len(s := _shingles(t)) >= min_shingles}
    postings = defaultdict(list)
    for doc_id, shingles in sets.items():
        for shingle in shingles:
            postings[shingle].append(doc_id)
    pairs = {pair for ids in postings.values() for pair in combinations(sorted(ids), 2)}
    return {(a, b): len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in pairs}


def _planted_corpus(seed: int, n_base: int) -> list[tuple]:
    """Unrelated texts; a third get one near copy (word edit rate 0-12%), some an exact copy."""
    rng = random.Random(seed)
    rows, next_id = [], 1000
    for i in range(n_base):
        base = _text(rng, rng.randint(80, 220))
        rows.append(_row(next_id, base))
        next_id += 7
        if i % 3 == 0:
            rows.append(_row(next_id, _edit(rng, base, rng.uniform(0.0, 0.12))))
            next_id += 7
        if i % 20 == 0:  # differs only in case and punctuation: the same text_hash
            rows.append(_row(next_id, base.upper().replace(" ", ", ", 3) + "!"))
            next_id += 7
    return rows


def _pairs_by_cluster(rows) -> set[tuple[int, int]]:
    members = defaultdict(list)
    for row in rows:
        members[row["cluster_id"]].append(row["doc_id"])
    return {pair for ids in members.values() for pair in combinations(sorted(ids), 2)}


def test_precision_and_recall_against_exact_jaccard(spark) -> None:
    options = DedupOptions()
    rows = _planted_corpus(seed=11, n_base=1800)
    truth = _true_jaccard({r[0]: r[4] for r in rows}, options.min_shingles)
    clusters = compute_clusters(spark, _docs(spark, rows), options).collect()
    assert len(clusters) == len(rows)
    found = _pairs_by_cluster(clusters)
    true_pairs = {p for p, j in truth.items() if j >= options.jaccard_threshold}
    precision = len(found & true_pairs) / len(found)
    recall = len(true_pairs & found) / len(true_pairs)
    recall_high = len({p for p in true_pairs if truth[p] >= 0.9} & found) / sum(j >= 0.9 for j in truth.values())
    near_miss = sum(truth.get(p, 0.0) >= options.jaccard_threshold - 0.1 for p in found) / len(found)
    far = {p for p, j in truth.items() if j <= 0.6}
    merged_far = len(far & found) / len(far)
    print(f"dedup accuracy: {len(rows)} docs, {len(true_pairs)} pairs with J>=0.8, precision {precision:.3f}, "
          f"recall {recall:.3f}, recall at J>=0.9 {recall_high:.3f}, found pairs with J>=0.7 {near_miss:.3f}, "
          f"pairs with J<=0.6 merged {merged_far:.4f}")
    assert len(true_pairs) > 200 and len(far) > 200
    # Buckets and verification are chosen for recall at the threshold: the pairs found that are below it
    # are just below it (this corpus holds many pairs at 0.65-0.8; a cluster's pairs count transitively).
    assert recall >= 0.95
    assert recall_high >= 0.99
    assert near_miss >= 0.95
    assert merged_far <= 0.01
    assert precision >= 0.7

    by_id = {r["doc_id"]: r for r in clusters}
    for row in clusters:
        assert row["cluster_id"] == min(d for d, r in by_id.items() if r["cluster_id"] == row["cluster_id"])
    representatives = defaultdict(int)
    for row in clusters:
        representatives[row["cluster_id"]] += row["is_representative"]
        assert row["fingerprint"] == fingerprint(options)
    assert set(representatives.values()) == {1}


def test_identical_clusters_across_runs_and_partitionings(spark) -> None:
    options = DedupOptions()
    rows = _planted_corpus(seed=5, n_base=300)
    rng = random.Random(5)
    # Different fetch times so that the representative is chosen by time, not only by id.
    rows = [r[:3] + (FETCH + dt.timedelta(hours=rng.randint(0, 1000)),) + r[4:] for r in rows]
    docs = _docs(spark, rows)

    def clusters(frame, options=options) -> list:
        return sorted(tuple(r) for r in compute_clusters(spark, frame, options).collect())

    first = clusters(docs)
    assert first == clusters(_docs(spark, list(reversed(rows))).coalesce(1))
    # All in Spark (a batch too large for the driver), with components in Spark too (a graph too large for
    # it): every document labelled as on the driver, whatever the partitioning.
    in_spark = DedupOptions(max_driver_docs=0)
    assert first == clusters(docs, in_spark)
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "3")
    try:
        assert first == clusters(docs.repartition(7), dataclasses.replace(in_spark, max_driver_edges=0))
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)
    assert len({r[2] for r in first}) < len(first)  # some clusters hold several documents


def test_short_documents_get_exact_dedup_only(spark) -> None:
    rng = random.Random(9)
    template = "subscribe to our newsletter for more news about {}"  # 8 words: 4 shingles
    rows = [_row(i, template.format(rng.choice(VOCAB))) for i in range(1, 60)]
    rows += [_row(100, template.format("python")), _row(101, template.format("Python") + "!")]
    rows += [_row(200, ""), _row(201, "")]
    clusters = {r["doc_id"]: r for r in compute_clusters(spark, _docs(spark, rows), DedupOptions()).collect()}
    assert clusters[101]["cluster_id"] == 100 and clusters[101]["exact_group"] == 100
    assert clusters[201]["cluster_id"] == 200
    first_with_hash = {}
    for row in rows:  # rows are in doc_id order: the first of a text_hash is its smallest doc_id
        first_with_hash.setdefault(row[5], row[0])
    for doc_id, text, hashed in ((r[0], r[4], r[5]) for r in rows):
        assert clusters[doc_id]["cluster_id"] == clusters[doc_id]["exact_group"] == first_with_hash[hashed], text
        assert clusters[doc_id]["n_shingles"] < DedupOptions().min_shingles


def test_connected_components_and_iteration_bound(spark) -> None:
    chain = [(i, i + 1) for i in range(10, 60)] + [(200, 150), (150, 300), (7, 8)]
    edges = spark.createDataFrame(chain, "a long, b long")
    roots = {r["node"]: r["root"] for r in connected_components(edges, 30).collect()}
    assert all(roots[i] == 10 for i in range(10, 61))
    assert roots[200] == roots[300] == roots[150] == 150 and roots[8] == 7
    with pytest.raises(ConvergenceError, match="--max-cc-iterations"):
        connected_components(edges, 1)


def _read_clusters(spark, warehouse: str, crawl: str) -> list[tuple]:
    table = spark.read.parquet(f"{warehouse}/clusters").where(F.col("crawl") == crawl)
    return sorted(tuple(r) for r in table.select(*CLUSTERS.fieldNames()).collect())


def test_cross_crawl_first_seen_and_idempotent_appends(spark, tmp_path) -> None:
    warehouse = str(tmp_path / "wh")
    options = DedupOptions()
    rng = random.Random(21)
    crawl_a, crawl_b = "CC-MAIN-2023-06", "CC-MAIN-2023-14"
    same, original, fresh = _text(rng, 150), _text(rng, 150), _text(rng, 150)
    unrelated_a = [_row(20 + i, _text(rng, 120), crawl_a) for i in range(30)]
    unrelated_b = [_row(900 + i, _text(rng, 120), crawl_b) for i in range(30)]
    a_rows = [
        _row(500, same, crawl_a, "https://site.org/same"),
        _row(510, original, crawl_a, "https://site.org/original"),
        _row(520, "a short page", crawl_a, "https://site.org/short"),
        *unrelated_a,
    ]
    b_rows = [
        _row(5, same, crawl_b, "https://site.org/same"),  # recaptured: same URL, same text
        _row(6, _edit(rng, original, 0.01), crawl_b, "https://mirror.net/copy"),  # near copy, new URL
        _row(7, fresh, crawl_b, "https://site.org/original"),  # old URL, new content
        _row(8, "A short page!", crawl_b, "https://other.org/short"),  # short: exact match only
        *unrelated_b,
    ]
    docs = _docs(spark, a_rows + b_rows)

    batch = spark.conf.get(MAX_RECORDS_PER_BATCH, None)
    dedup_crawls(spark, docs.where(F.col("crawl") == crawl_a), options, warehouse)
    assert spark.conf.get(MAX_RECORDS_PER_BATCH, None) == batch  # its UDF's batch size is set for it alone
    a_first = _read_clusters(spark, warehouse, crawl_a)
    summaries = dedup_crawls(spark, docs.where(F.col("crawl") == crawl_b), options, warehouse)
    assert summaries[0].crawl == crawl_b and summaries[0].documents == len(b_rows)
    b_first = _read_clusters(spark, warehouse, crawl_b)
    rows = {r[0]: dict(zip(CLUSTERS.fieldNames(), r, strict=True)) for r in b_first}
    assert rows[5]["first_seen_crawl_url"] == crawl_a
    assert rows[5]["first_seen_crawl_content"] == crawl_a
    assert rows[5]["cluster_first_seen_crawl"] == crawl_a and rows[5]["cluster_id"] == 500
    assert rows[6]["first_seen_crawl_url"] == crawl_b
    assert rows[6]["first_seen_crawl_content"] == crawl_a and rows[6]["cluster_id"] == 510
    assert rows[7]["first_seen_crawl_url"] == crawl_a
    assert rows[7]["first_seen_crawl_content"] == crawl_b and rows[7]["cluster_id"] == 7
    assert rows[8]["first_seen_crawl_content"] == crawl_a and rows[8]["cluster_id"] == 520
    assert all(rows[900 + i]["first_seen_crawl_content"] == crawl_b for i in range(30))
    assert all(rows[900 + i]["cluster_id"] == 900 + i for i in range(30))

    # Re-running B, alone or with A, changes nothing.
    dedup_crawls(spark, docs.where(F.col("crawl") == crawl_b), options, warehouse)
    assert _read_clusters(spark, warehouse, crawl_b) == b_first
    dedup_crawls(spark, docs, options, warehouse)
    assert _read_clusters(spark, warehouse, crawl_a) == a_first
    assert _read_clusters(spark, warehouse, crawl_b) == b_first
    index = spark.read.parquet(f"{warehouse}/lsh_index/{a_first[0][-1]}/bands")
    assert index.count() == index.distinct().count()

    with pytest.raises(FingerprintMismatch, match=r"num_perm: 128 -> 64"):
        dedup_crawls(spark, docs, DedupOptions(num_perm=64), warehouse)
    with pytest.raises(FingerprintMismatch, match=r"threshold: 0.8 -> 0.7"):
        compute_clusters(spark, docs, DedupOptions(jaccard_threshold=0.7), warehouse)


def _three_crawls(seed: int) -> list[tuple]:
    """Three crawls that exercise every rule: exact and near copies within and across crawls, URLs captured
    again, short pages, a page bridging two earlier clusters, missing and tied fetch times."""
    rng = random.Random(seed)
    crawls = ["CC-MAIN-2023-06", "CC-MAIN-2023-14", "CC-MAIN-2023-23"]
    rows = [r[:1] + (crawls[0],) + r[2:] for r in _planted_corpus(seed, 40)]
    rows += [_row(90_000 + i, "a short notice " * (i % 3 + 1), crawls[0]) for i in range(4)]
    previous, next_id = list(rows), 200_000
    for crawl in crawls[1:]:
        own = []
        for r in rng.sample(previous, 30):
            kind = rng.random()
            text = r[4] if kind < 0.3 else _edit(rng, r[4], rng.uniform(0.0, 0.1)) if kind < 0.8 else _text(rng, 120)
            url = r[2] if rng.random() < 0.5 else None
            fetch = None if rng.random() < 0.1 else FETCH + dt.timedelta(hours=rng.randint(0, 3))
            own.append(_row(next_id, text, crawl, url, fetch))
            next_id += 3
        a, b = rng.sample(previous, 2)  # half of one page and half of another: linked to both or neither
        own.append(_row(next_id, " ".join(a[4].split()[:60] + b[4].split()[:60]), crawl))
        own += [_row(next_id + 1 + i, _text(rng, 100), crawl) for i in range(10)]
        # A host with a template: its navigation and footer lines are left out of the shingles.
        shop = [_text(rng, 90) for _ in range(6)]
        own += [_row(next_id + 40 + i, f"Home | Shop | Contact\n{text}\nAll rights reserved", crawl,
                     f"https://shop.example/{next_id + 40 + i}") for i, text in enumerate(shop + shop[:1])]
        own.append(_row(next_id + 20, "A short notice!", crawl))
        next_id += 100
        rows += own
        previous += own
    return rows


def _tables(spark, warehouse: str) -> dict[str, list]:
    fp = json.loads(Path(warehouse, "lsh_index", "_fingerprint.json").read_text())["fingerprint"]
    tables = {"clusters": ("clusters", CLUSTERS), "bands": (f"lsh_index/{fp}/bands", LSH_INDEX),
              "signatures": (f"lsh_index/{fp}/signatures", LSH_SIGNATURES), "urls": ("url_history", URL_HISTORY)}
    return {name: sorted(tuple(tuple(v) if isinstance(v, list) else v for v in r)
                         for r in spark.read.parquet(f"{warehouse}/{path}").select(*schema.fieldNames()).collect())
            for name, (path, schema) in tables.items()}


@pytest.mark.parametrize("settings", [{}, {"verify": False, "max_bucket_pairs": 2}])
def test_driver_and_spark_clustering_write_the_same_rows(spark, tmp_path, settings) -> None:
    rows = _three_crawls(seed=17)
    docs = _docs(spark, rows)
    largest = max(Counter(r[1] for r in rows).values())
    written = {}
    # All in Spark; each crawl on the driver (the crawls hold too many documents together); all crawls in one
    # pass on the driver.
    ways = {"spark": 0, "per crawl": largest, "one pass": len(rows)}
    if settings:  # the other rules of these settings are the same code whichever way the driver batches them
        del ways["per crawl"]
    for name, driver_docs in ways.items():
        warehouse = str(tmp_path / name.replace(" ", "-"))
        dedup_crawls(spark, docs, DedupOptions(max_driver_docs=driver_docs, **settings), warehouse)
        written[name] = _tables(spark, warehouse)
    for name in ways:
        assert written[name] == written["spark"], name
    clusters = [dict(zip(CLUSTERS.fieldNames(), r, strict=True)) for r in written["spark"]["clusters"]]
    # The corpus makes both paths do something: clusters reaching earlier crawls and within a crawl.
    assert sum(r["cluster_first_seen_crawl"] != r["crawl"] for r in clusters) >= 10
    assert sum(r["first_seen_crawl_url"] != r["crawl"] for r in clusters) >= 10
    assert sum(r["cluster_size"] > 1 for r in clusters) >= 10


def test_cli_dedups_the_warehouse_documents(spark, tmp_path, capsys) -> None:
    from leakwatch.cli import main
    from leakwatch.schemas.tables import INGEST_LOG

    warehouse = str(tmp_path / "wh")
    rng = random.Random(4)
    texts = [_text(rng, 60), _text(rng, 60)]
    defaults = {"warc_path": "file:///a.warc.gz", "run_id": "r1", "decode_errors": 0, "n_chars": 1, "n_words": 1,
                "extractor_version": "x", "warc_offset": 0}
    docs = [dict(defaults, doc_id=i, crawl="CC-MAIN-2023-06", url=f"https://e.org/{i}", fetch_time=FETCH,
                 text=texts[i % 2], text_hash=text_hash(texts[i % 2])) for i in range(3)]
    rows = [tuple(d.get(name) for name in DOCUMENTS.fieldNames()) for d in docs]
    spark.createDataFrame(rows, DOCUMENTS).write.partitionBy("crawl").parquet(f"{warehouse}/documents")
    log = ("file:///a.warc.gz", "CC-MAIN-2023-06", "ok", None, None, 1, 3, {}, 3, {}, 0, 0, 0.0, "x", "r1", FETCH,
           {"CC-MAIN-2023-06": 3})
    spark.createDataFrame([log], INGEST_LOG).write.partitionBy("crawl").parquet(f"{warehouse}/ingest_log")

    assert main(["dedup", "--out", warehouse, "--only-crawl", "CC-MAIN-2023-06"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {"crawl": "CC-MAIN-2023-06", "documents": 3, "clusters": 2, "exact_duplicates": 1,
                       "in_multi_doc_clusters": 2, "content_seen_before": 0, "url_seen_before": 0}
    assert main(["dedup", "--out", warehouse, "--num-perm", "64"]) == 2
    refused = capsys.readouterr().err.strip().splitlines()
    assert len(refused) == 1 and "num_perm: 128 -> 64" in refused[0] and "--rebuild" in refused[0]
    assert main(["dedup", "--out", warehouse, "--num-perm", "64", "--rebuild", "--only-crawl", "CC-MAIN-2023-06"]) == 2
    assert "leave out --only-crawl" in capsys.readouterr().err
    assert main(["dedup", "--out", warehouse, "--num-perm", "64", "--rebuild"]) == 0
    out, err = capsys.readouterr()
    assert "deleted lsh_index, clusters, url_history" in err and json.loads(out.strip().splitlines()[-1]) == summary
    assert main(["dedup", "--out", warehouse, "--num-perm", "64"]) == 0
