"""`leakwatch dedup`: documents -> clusters (exact + MinHash-LSH near duplicates) and the cross-crawl index.

Crawls are deduplicated one at a time, oldest first, each against the index of strictly earlier
crawls: a crawl's rows depend only on it and on the crawls before it, so re-running a crawl rewrites
the same rows. Crawl order: a `CC-MAIN-YYYY-WW` crawl is dated by the Monday of ISO week WW of YYYY
(so those sort as their names do); any other crawl by its earliest fetch_time; ties by name.

A component that reaches clusters of earlier crawls takes the id of the earliest of them, so rows
written for earlier crawls stay true; otherwise its id is the smallest doc_id of its earliest crawl
(the smallest doc_id of the component when it holds one crawl). `cluster_size` and
`is_representative` count the documents of the row's own crawl. One writer per warehouse at a time.

Written under the warehouse: `clusters/`, `url_history/`, `lsh_index/_fingerprint.json` (the settings
the index was built with; other settings are refused) and `lsh_index/<fingerprint>/` holding
`bands/`, `signatures/` and `_crawls.json` (the crawls indexed, with their order keys).
"""

import dataclasses
import json
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch.config import Config
from leakwatch.errors import ConfigError
from leakwatch.jobs.clusters import (
    DedupOutput,
    check_fingerprint,
    collected,
    crawl_orders,
    dedup_batch,
    driver_batches,
    index_dir,
)
from leakwatch.jobs.progress import stage_progress
from leakwatch.jobs.results import DedupSummary
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.warehouse import (
    check_schema_versions,
    delete_path,
    overwrite_crawls,
    read_documents,
    read_text,
    table_path,
    write_text,
)
from leakwatch.udfs.minhash import DedupOptions, validate_options

REBUILT = ("lsh_index", "clusters", "url_history")  # what dedup derives from documents alone


def dedup_crawls(spark: SparkSession, docs: DataFrame, options: DedupOptions, warehouse: str) -> list[DedupSummary]:
    """Deduplicate each crawl of `docs`, oldest first, writing clusters and extending the index. Crawls that
    hold at most max_driver_docs documents in all are clustered on the driver in one pass and written at once;
    otherwise crawl by crawl (each on the driver if it is small enough, else in Spark)."""
    validate_options(options)
    check_fingerprint(spark, warehouse, options, record=True)
    check_schema_versions(spark, warehouse, ["clusters", "lsh_index", "lsh_signatures", "url_history"])
    folder = index_dir(warehouse, options)
    manifest = f"{folder}/_crawls.json"
    done = json.loads(read_text(spark, manifest) or "{}")
    orders = crawl_orders(docs)
    order = sorted(orders, key=orders.__getitem__)
    for crawl in order:
        later = sorted(c for c, key in done.items() if key > orders[crawl] and c not in orders)
        if later:
            print(f"dedup: warning: {', '.join(later)} (later than {crawl}) were deduplicated before it; "
                  f"re-run them after this run so their first-seen columns know {crawl}", file=sys.stderr)
    small = collected(docs, options.max_driver_docs) if options.max_driver_docs and orders else None
    if small is not None:
        print(f"dedup: {len(small)} documents of {len(order)} crawls, clustered on the driver", file=sys.stderr)
        out = driver_batches(spark, small, [[crawl] for crawl in order], orders, warehouse, options)
        _write(out, warehouse, folder)
        done.update(orders)
        write_text(spark, manifest, json.dumps(done, indent=1, sort_keys=True))
        return summarize(out.clusters, order)
    summaries = []
    for crawl in order:
        with stage_progress(spark, f"dedup-{crawl}", unit="tasks"):
            out = dedup_batch(spark, docs.where(F.col("crawl") == crawl), options, warehouse, {crawl: orders[crawl]})
            _write(out, warehouse, folder)
        done[crawl] = orders[crawl]
        write_text(spark, manifest, json.dumps(done, indent=1, sort_keys=True))
        summaries += summarize(out.clusters, [crawl])
    return summaries


def _write(out: DedupOutput, warehouse: str, folder: str) -> None:
    # Each table's rows of the crawls in `out`, replacing those crawls' earlier rows.
    overwrite_crawls(out.clusters, table_path(warehouse, "clusters"))
    overwrite_crawls(out.index, f"{folder}/bands")
    overwrite_crawls(out.signatures, f"{folder}/signatures")
    overwrite_crawls(out.urls, table_path(warehouse, "url_history"))


def summarize(clusters: DataFrame, order: list[str]) -> list[DedupSummary]:
    """Counts of each crawl's clusters rows, in `order`: documents, clusters, duplicates, content seen before."""
    rows = clusters.groupBy("crawl").agg(
        F.count("*").alias("documents"),
        F.countDistinct("cluster_id").alias("clusters"),
        F.sum((F.col("doc_id") != F.col("exact_group")).cast("long")).alias("exact_duplicates"),
        F.sum((F.col("cluster_size") > 1).cast("long")).alias("in_multi_doc_clusters"),
        F.sum((F.col("first_seen_crawl_content") != F.col("crawl")).cast("long")).alias("content_seen_before"),
        F.sum((F.col("first_seen_crawl_url") != F.col("crawl")).cast("long")).alias("url_seen_before"),
    ).collect()
    by_crawl = {row["crawl"]: DedupSummary(**row.asDict()) for row in rows}
    return [by_crawl[crawl] for crawl in order if crawl in by_crawl]


def run(config: Config) -> int:
    """CLI entry of `leakwatch dedup`."""
    if config.rebuild and config.only_crawl:
        raise ConfigError("dedup: --rebuild deduplicates every crawl of the warehouse: leave out --only-crawl")
    spark = get_spark(config.spark, "leakwatch-dedup")
    if config.rebuild:
        deleted = [t for t in REBUILT if delete_path(spark, table_path(config.warehouse, t))]
        print(f"dedup: rebuilding: deleted {', '.join(deleted) or 'nothing'} in {config.warehouse}", file=sys.stderr)
    docs = read_documents(spark, config.warehouse, list(config.only_crawl) or None)
    summaries = dedup_crawls(spark, docs, config.dedup, config.warehouse)
    missing = sorted(set(config.only_crawl) - {s.crawl for s in summaries})
    if missing:
        print(f"dedup: no documents for {', '.join(missing)} in {config.warehouse}", file=sys.stderr)
    for summary in summaries:
        print(json.dumps(dataclasses.asdict(summary), sort_keys=True))
    return 1 if missing else 0


