"""Clustering one batch of documents (one crawl) against the cross-crawl index of earlier crawls:
exact groups, MinHash-LSH candidates verified by estimated Jaccard, connected components, first-seen
crawls; and where that index lives and which settings built it. jobs/dedup.py drives it crawl by crawl.
A batch of at most max_driver_docs documents is clustered on the driver instead (driver_batches, with
udfs.driver_clusters): the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from leakwatch.crawls import crawl_order_key
from leakwatch.errors import ConfigError
from leakwatch.jobs.spark import MAX_RECORDS_PER_BATCH, sql_conf
from leakwatch.jobs.templates import host_column, with_templates
from leakwatch.jobs.udf import signatures
from leakwatch.jobs.warehouse import path_exists, read_text, table_path, write_text
from leakwatch.schemas.tables import CLUSTERS, LSH_INDEX, LSH_SIGNATURES, URL_HISTORY
from leakwatch.udfs.components import components
from leakwatch.udfs.driver_clusters import batch_outputs, batch_rows, lookup_keys, signed_batch
from leakwatch.udfs.minhash import (
    DedupOptions,
    fingerprint,
    fingerprint_differences,
    fingerprint_parts,
    validate_options,
    verify_slots,
)

EXACT_BAND = -1  # lsh_index rows keyed by text_hash rather than by an LSH band


class FingerprintMismatch(ConfigError):
    """The warehouse's lsh_index was built with other dedup settings than this run's."""


class ConvergenceError(RuntimeError):
    """Connected components did not settle within the allowed rounds."""


@dataclass
class DedupOutput:
    """What deduplicating one batch of documents gives: its clusters rows and its index additions."""

    clusters: DataFrame
    index: DataFrame
    signatures: DataFrame
    urls: DataFrame


def crawl_orders(docs: DataFrame) -> dict[str, str]:
    """Order key of every crawl present in `docs`."""
    rows = docs.groupBy("crawl").agg(F.min("fetch_time").alias("earliest")).collect()
    return {row["crawl"]: crawl_order_key(row["crawl"], row["earliest"]) for row in rows}


def index_root(state: str) -> str:
    return table_path(state, "lsh_index")


def index_dir(state: str, options: DedupOptions) -> str:
    return f"{index_root(state)}/{fingerprint(options)}"


def check_fingerprint(spark: SparkSession, state: str, options: DedupOptions, record: bool = False) -> None:
    """Refuse an lsh_index built with other settings, saying which differ; record ours if asked."""
    manifest = f"{index_root(state)}/_fingerprint.json"
    text = read_text(spark, manifest)
    wanted = fingerprint_parts(options)
    if text is not None:
        found = json.loads(text)
        if found["fingerprint"] != fingerprint(options):
            differences = "; ".join(fingerprint_differences(found["parts"], wanted))
            raise FingerprintMismatch(
                f"dedup: the lsh_index in {state} was built with other settings (index -> this run: {differences}): "
                f"run with the index's settings, or rebuild it and every crawl's clusters with "
                f"`leakwatch dedup --out {state} --rebuild`"
            )
    elif record:
        write_text(spark, manifest, json.dumps({"fingerprint": fingerprint(options), "parts": wanted}, indent=1))


def _read_table(spark: SparkSession, path: str, schema, before_order: str) -> DataFrame:
    if not path_exists(spark, path):
        return spark.createDataFrame([], schema)
    table = spark.read.schema(schema).parquet(path).select(*schema.fieldNames())
    return table.where(F.col("crawl_order") < before_order)


def _bucket_edges(ms: str, max_pairs: int) -> Column:
    # All pairs of a sorted bucket; a bucket larger than max_pairs links each member to its smallest.
    pairs = (
        f"flatten(transform(sequence(0, size({ms}) - 2), i -> transform(slice({ms}, i + 2, size({ms}) - i - 1),"
        f" y -> named_struct('a', {ms}[i], 'b', y))))"
    )
    star = f"transform(slice({ms}, 2, size({ms}) - 1), y -> named_struct('a', {ms}[0], 'b', y))"
    return F.expr(f"CASE WHEN size({ms}) <= {max_pairs} THEN {pairs} ELSE {star} END")


def _large_star(edges: DataFrame) -> DataFrame:
    both = edges.select(F.col("a").alias("u"), F.col("b").alias("v")).union(
        edges.select(F.col("b").alias("u"), F.col("a").alias("v"))
    )
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return both.join(smallest, "u").where(F.col("v") > F.col("u")).select(
        F.col("v").alias("a"), F.col("m").alias("b")
    ).distinct()


def _small_star(edges: DataFrame) -> DataFrame:
    down = edges.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v"))
    smallest = down.groupBy("u").agg(F.min("v").alias("m"))
    linked = down.join(smallest, "u").select(F.col("v").alias("a"), F.col("m").alias("b")).where("a != b")
    return linked.union(smallest.select(F.col("u").alias("a"), F.col("m").alias("b"))).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    # Done when every node points to one root and no root points further: each star is a component.
    two_roots = edges.groupBy("a").count().where("count > 1").select("a")
    chained = edges.join(edges.select(F.col("a").alias("b")), "b", "left_semi").select("a")
    return not two_roots.union(chained).limit(1).count()


def connected_components(edges: DataFrame, max_iterations: int) -> DataFrame:
    """(node, root) for every node of an undirected edge list (a, b); root = smallest node of its component.

    Alternating large-star / small-star (Kiveris et al., 2014) until the graph is a forest of stars.
    """
    current = edges.select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b")).where("a != b")
    current = current.distinct().localCheckpoint()
    for _ in range(max_iterations):
        if _is_star_forest(current):
            roots = current.select(F.col("b").alias("node"), F.col("b").alias("root"))
            return current.select(F.col("a").alias("node"), F.col("b").alias("root")).union(roots).distinct()
        current = _small_star(_large_star(current)).localCheckpoint()
    raise ConvergenceError(
        f"dedup: connected components did not converge in {max_iterations} rounds "
        f"({current.count()} edges left): raise --max-cc-iterations"
    )


def graph_labels(spark: SparkSession, edges: DataFrame, options: DedupOptions) -> DataFrame:
    """(node, root) of the match graph: on the driver when it has at most max_driver_edges edges (one Spark
    job instead of several per round), else in Spark; the same labels either way."""
    small = edges.select("a", "b").limit(options.max_driver_edges + 1).toPandas()
    if len(small) > options.max_driver_edges:
        return connected_components(edges, options.max_cc_iterations)
    nodes, roots = components(small["a"].to_numpy(), small["b"].to_numpy())
    return spark.createDataFrame(pd.DataFrame({"node": nodes, "root": roots}), "node long, root long")


def _min_key(order: str, node: str, crawl: str) -> Column:
    # Structs compare field by field: earliest crawl first, then smallest id.
    return F.struct(F.col(order).alias("order"), F.col(node).alias("id"), F.col(crawl).alias("crawl"))


def _near_matches(
    reps: DataFrame, prior_bands: DataFrame, prior_sigs: DataFrame, options: DedupOptions
) -> tuple[DataFrame, DataFrame]:
    # Pairs (a, b) of LSH candidates among the batch's exact-group representatives and the earlier
    # clusters sharing one of their buckets (verified if asked), and those earlier clusters' index rows.
    batch_bands = reps.where(F.col("band_hashes").isNotNull()).select(
        F.posexplode("band_hashes").alias("band", "band_hash"), F.col("doc_id").alias("node")
    )
    prior_near = prior_bands.where(F.col("band") != EXACT_BAND).join(
        batch_bands.select("band", "band_hash").distinct(), ["band", "band_hash"], "left_semi"
    )
    members = batch_bands.select(
        "band", "band_hash", F.struct(F.col("node"), F.lit(False).alias("prior")).alias("m")
    ).unionByName(
        prior_near.select("band", "band_hash", F.struct(F.col("cluster_id").alias("node"), F.lit(True).alias("prior"))
                          .alias("m"))
    )
    candidates = (
        members.groupBy("band", "band_hash")
        .agg(F.sort_array(F.collect_set("m")).alias("ms"))
        .where(F.size("ms") >= 2)
        .select(F.explode(_bucket_edges("ms", options.max_bucket_pairs)).alias("e"))
        .where(~(F.col("e.a.prior") & F.col("e.b.prior")))  # links among earlier clusters are not ours to make
        .select(F.col("e.a.node").alias("a"), F.col("e.b.node").alias("b"))
        .distinct()
    )
    if not options.verify:
        return candidates, prior_near
    prior_node_sigs = prior_sigs.join(prior_near.select("cluster_id").distinct(), "cluster_id", "left_semi") \
        .groupBy("cluster_id").agg(F.min_by("signature", "crawl_order").alias("signature"))
    node_sigs = reps.where(F.col("signature").isNotNull()).select(F.col("doc_id").alias("node"), "signature") \
        .unionByName(prior_node_sigs.select(F.col("cluster_id").alias("node"), "signature"))
    agree = "aggregate(zip_with(sa, sb, (x, y) -> IF(x = y, 1, 0)), 0, (acc, v) -> acc + v)"
    verified = (
        candidates.join(node_sigs.select(F.col("node").alias("a"), F.col("signature").alias("sa")), "a")
        .join(node_sigs.select(F.col("node").alias("b"), F.col("signature").alias("sb")), "b")
        .where(F.expr(agree) >= verify_slots(options.jaccard_threshold, options.num_perm))
        .select("a", "b")
    )
    return verified, prior_near


def _prior_index(spark: SparkSession, state: str | None, options: DedupOptions,
                 start: str) -> tuple[DataFrame, DataFrame, DataFrame]:
    """The index's bands, signatures and URL history of crawls before `start` (empty without a state)."""
    if state is None:
        return (spark.createDataFrame([], LSH_INDEX), spark.createDataFrame([], LSH_SIGNATURES),
                spark.createDataFrame([], URL_HISTORY))
    check_fingerprint(spark, state, options)
    folder = index_dir(state, options)
    return (_read_table(spark, f"{folder}/bands", LSH_INDEX, start),
            _read_table(spark, f"{folder}/signatures", LSH_SIGNATURES, start),
            _read_table(spark, table_path(state, "url_history"), URL_HISTORY, start))


def _signed(spark: SparkSession, docs: DataFrame, orders: dict[str, str], options: DedupOptions) -> DataFrame:
    """The documents with their crawl order, URL hash, MinHash signature and exact group, checkpointed."""
    # Rows per mapInPandas call: bounds the memory of one batch of texts in a Python worker; set for the
    # signatures alone (computed by the eager checkpoint) and restored.
    with sql_conf(spark, MAX_RECORDS_PER_BATCH, str(options.signature_batch_rows)):
        order_df = F.broadcast(spark.createDataFrame(sorted(orders.items()), "crawl string, crawl_order string"))
        base = docs.select("doc_id", "crawl", "url", "fetch_time", "text", "text_hash").join(order_df, "crawl")
        host = ["host"] if "host" in docs.columns else []
        texts = docs.select("doc_id", "crawl", "url", "text", "text_hash", *host)
        sigs = signatures(with_templates(texts, options).select("doc_id", "text", "template"), options)
        return (
            base.drop("text")
            .withColumn("url_hash", F.xxhash64("url"))
            .join(sigs, "doc_id")
            .withColumn("exact_group", F.min("doc_id").over(Window.partitionBy("text_hash")))
            .localCheckpoint()  # computed once (the UDF is the costly part), and short plans downstream
        )


def _component_first(docs_sig: DataFrame, labels: DataFrame, prior_first: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Each document's component, and each component's first key (earliest crawl, then smallest id)."""
    docs_comp = docs_sig.join(labels, docs_sig["doc_id"] == labels["node"], "left").withColumn(
        "comp", F.coalesce("root", "doc_id")
    )
    prior_keys = prior_first.join(labels, prior_first["cluster_id"] == labels["node"]).select(
        F.col("root").alias("comp"),
        F.struct(F.col("first.order").alias("order"), F.col("cluster_id").alias("id"),
                 F.col("first.crawl").alias("crawl")).alias("key"),
    )
    comp_first = (
        docs_comp.select("comp", _min_key("crawl_order", "doc_id", "crawl").alias("key"))
        .union(prior_keys)
        .groupBy("comp")
        .agg(F.min("key").alias("first"))
    )
    return docs_comp, comp_first


def _content_first(docs_sig: DataFrame, matches: DataFrame, prior_first: DataFrame) -> DataFrame:
    """Per exact group, the crawl its content was first seen in: its own, or any group or earlier cluster it
    matches."""
    group_first = docs_sig.groupBy("exact_group").agg(
        F.min(F.struct(F.col("crawl_order").alias("order"), F.col("crawl"))).alias("first")
    )
    node_first = group_first.select(F.col("exact_group").alias("node"), "first").unionByName(
        prior_first.select(F.col("cluster_id").alias("node"), "first")
    )
    match_first = (
        matches.select("a", "b").union(matches.select("b", "a"))
        .join(node_first.withColumnRenamed("node", "b"), "b")
        .select(F.col("a").alias("exact_group"), "first")
    )
    return (
        group_first.unionByName(match_first).groupBy("exact_group").agg(F.min("first").alias("content"))
        .select("exact_group", F.col("content.crawl").alias("first_seen_crawl_content"))
    )


def _rows(docs_comp: DataFrame, comp_first: DataFrame, content_first: DataFrame, url_first: DataFrame,
          fp: str) -> DataFrame:
    """One row per document: its cluster, size, representative, first-seen crawls and fingerprint."""
    by_comp = Window.partitionBy("comp")
    earliest_fetch = Window.partitionBy("comp").orderBy(F.col("fetch_time").asc_nulls_last(), "doc_id")
    return (
        docs_comp.join(comp_first, "comp")
        .join(content_first, "exact_group")
        .join(url_first, "url_hash", "left")
        .withColumn("batch_url", F.min(F.struct(F.col("crawl_order").alias("order"), F.col("crawl")))
                    .over(Window.partitionBy("url_hash")))
        .select(
            "doc_id", "crawl", "crawl_order", "text_hash", "url_hash", "signature", "band_hashes",
            F.col("first.id").alias("cluster_id"),
            F.count("*").over(by_comp).alias("cluster_size"),
            (F.row_number().over(earliest_fetch) == 1).alias("is_representative"),
            "exact_group", "n_shingles",
            F.least("prior_url", "batch_url")["crawl"].alias("first_seen_crawl_url"),
            "first_seen_crawl_content",
            F.col("first.crawl").alias("cluster_first_seen_crawl"),
            F.col("first.order").alias("cluster_first_order"),
            F.lit(fp).alias("fingerprint"),
        )
    )


def dedup_batch(
    spark: SparkSession,
    docs: DataFrame,
    options: DedupOptions,
    state: str | None = None,
    orders: dict[str, str] | None = None,
) -> DedupOutput:
    """Cluster `docs` (DOCUMENTS columns) against the index in `state` of crawls older than all of them."""
    validate_options(options)
    fp = fingerprint(options)
    orders = orders or crawl_orders(docs)
    if not orders:
        raise ValueError("dedup: no documents to deduplicate")
    if options.max_driver_docs:
        small = collected(docs, options.max_driver_docs)
        if small is not None:
            return driver_batches(spark, small, [sorted(orders)], orders, state, options)
    prior_bands, prior_sigs, prior_urls = _prior_index(spark, state, options, min(orders.values()))
    docs_sig = _signed(spark, docs, orders, options)
    # Exact duplicates share a signature: only one document per exact group enters LSH.
    reps = docs_sig.where(F.col("doc_id") == F.col("exact_group"))
    prior_exact = prior_bands.where(F.col("band") == EXACT_BAND).join(
        reps.select(F.col("text_hash").alias("band_hash")).distinct(), "band_hash", "left_semi"
    )
    candidates, prior_near = _near_matches(reps, prior_bands, prior_sigs, options)
    # A cluster of an earlier crawl is one node, with the id and signature the index keeps for it.
    prior_first = (
        prior_near.unionByName(prior_exact)
        .groupBy("cluster_id")
        .agg(F.min(F.struct(F.col("first_seen_order").alias("order"), F.col("first_seen_crawl").alias("crawl")))
             .alias("first"))
    )
    to_prior_exact = reps.join(prior_exact, reps["text_hash"] == prior_exact["band_hash"]).select(
        F.col("doc_id").alias("a"), F.col("cluster_id").alias("b")
    )
    matches = candidates.union(to_prior_exact).localCheckpoint()
    in_exact_group = docs_sig.where(F.col("doc_id") != F.col("exact_group")).select(
        F.col("exact_group").alias("a"), F.col("doc_id").alias("b")
    )
    labels = graph_labels(spark, matches.union(in_exact_group), options)
    docs_comp, comp_first = _component_first(docs_sig, labels, prior_first)
    content_first = _content_first(docs_sig, matches, prior_first)
    url_first = prior_urls.join(docs_sig.select("url_hash").distinct(), "url_hash", "left_semi").groupBy(
        "url_hash"
    ).agg(F.min(F.struct(F.col("crawl_order").alias("order"), F.col("crawl"))).alias("prior_url"))
    return _outputs(_rows(docs_comp, comp_first, content_first, url_first, fp).localCheckpoint(), fp)


def collected(docs: DataFrame, most: int) -> pd.DataFrame | None:
    """The documents on the driver (with host and Spark's URL hash), or None if there are more than `most`."""
    if docs.limit(most + 1).count() > most:
        return None
    return docs.select("doc_id", "crawl", "url", "fetch_time", "text", "text_hash", host_column(docs).alias("host"),
                       F.xxhash64("url").alias("url_hash")).toPandas()


def driver_batches(spark: SparkSession, docs: pd.DataFrame, batches: list[list[str]], orders: dict[str, str],
                   state: str | None, options: DedupOptions) -> DedupOutput:
    """dedup_batch on the driver for documents collected there, batch after batch (each a list of crawls, in
    crawl order): each against the earlier index, that is the stored rows of earlier crawls not redone here and
    the rows the earlier batches made. The stored rows the documents can touch are looked up in Spark (one join
    per table); the rest is udfs.driver_clusters."""
    fp = fingerprint(options)
    signed = signed_batch(docs, orders, options)
    stored = [frame.where(~F.col("crawl").isin(list(orders)))
              for frame in _prior_index(spark, state, options, max(orders.values()))]

    def keyed(frame: pd.DataFrame, schema: str) -> DataFrame:
        return F.broadcast(spark.createDataFrame(frame, schema))

    prior = stored[0].join(keyed(lookup_keys(signed), "band int, band_hash long"), ["band", "band_hash"],
                           "left_semi").toPandas()
    sigs = stored[1].limit(0).toPandas()
    if options.verify and len(prior):
        ids = pd.DataFrame({"cluster_id": prior["cluster_id"].unique()})
        sigs = stored[1].join(keyed(ids, "cluster_id long"), "cluster_id", "left_semi").toPandas()
    hashes = pd.DataFrame({"url_hash": signed["url_hash"].unique()})
    urls = stored[2].join(keyed(hashes, "url_hash long"), "url_hash", "left_semi").toPandas()
    made: dict[str, list[pd.DataFrame]] = {"clusters": [], "index": [], "signatures": [], "urls": []}
    for batch in batches:
        start = min(orders[c] for c in batch)
        earlier = [pd.concat([found[found["crawl_order"] < start], *made[name]], ignore_index=True)
                   for found, name in ((prior, "index"), (sigs, "signatures"), (urls, "urls"))]
        rows = batch_rows(signed[signed["crawl"].isin(batch)], *earlier, options, fp)
        for name, frame in batch_outputs(rows, fp).items():
            made[name].append(frame)

    def frame(name: str, schema) -> DataFrame:
        return spark.createDataFrame(pd.concat(made[name], ignore_index=True)[schema.fieldNames()], schema)

    return DedupOutput(clusters=frame("clusters", CLUSTERS), index=frame("index", LSH_INDEX),
                       signatures=frame("signatures", LSH_SIGNATURES), urls=frame("urls", URL_HISTORY))


def _outputs(result: DataFrame, fp: str) -> DedupOutput:
    first = [
        F.col("cluster_first_seen_crawl").alias("first_seen_crawl"),
        F.col("cluster_first_order").alias("first_seen_order"),
        "crawl", "crawl_order", F.lit(fp).alias("fingerprint"),
    ]
    long_reps = result.where((F.col("doc_id") == F.col("exact_group")) & F.col("band_hashes").isNotNull())
    near_keys = long_reps.select(F.posexplode("band_hashes").alias("band", "band_hash"), "cluster_id", *first)
    exact_keys = result.select(F.lit(EXACT_BAND).alias("band"), F.col("text_hash").alias("band_hash"), "cluster_id",
                               *first)
    signatures = long_reps.groupBy("cluster_id", "crawl", "crawl_order").agg(
        F.min_by("signature", "doc_id").alias("signature")
    ).withColumn("fingerprint", F.lit(fp))
    return DedupOutput(
        clusters=result.select(*CLUSTERS.fieldNames()),
        index=near_keys.unionByName(exact_keys).distinct().select(*LSH_INDEX.fieldNames()),
        signatures=signatures.select(*LSH_SIGNATURES.fieldNames()),
        urls=result.select(*URL_HISTORY.fieldNames()).distinct(),
    )


def compute_clusters(
    spark: SparkSession, docs: DataFrame, options: DedupOptions, state: str | None = None
) -> DataFrame:
    """The `clusters` rows of `docs`, matched against the index in `state` (a warehouse root) if given."""
    return dedup_batch(spark, docs, options, state).clusters
