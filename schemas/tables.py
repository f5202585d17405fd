"""StructTypes of the warehouse tables, versioned, and of the rows Spark's pandas functions return.

A change to a table's columns bumps its version in SCHEMA_VERSIONS; jobs refuse to append rows of
one version to a table written with another.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from leakwatch.schemas.values import ESTIMATOR_COLUMNS, EXCESS_MARKERS, LEXICON_NAMES

SCHEMA_VERSIONS = {
    "documents": 2,  # 2: origin
    "ingest_log": 2,  # 2: kept_by_crawl
    "clusters": 1,
    "lsh_index": 1,
    "lsh_signatures": 1,
    "url_history": 1,
    "scores": 1,
    "stats": 3,  # 3: hdyb
}

DOCUMENTS = StructType(
    [
        StructField("doc_id", LongType(), False),
        StructField("crawl", StringType(), False),
        StructField("warc_path", StringType(), False),
        StructField("warc_offset", LongType(), False),
        StructField("warc_record_id", StringType(), True),
        StructField("url", StringType(), False),
        StructField("host", StringType(), True),
        StructField("registered_domain", StringType(), True),
        StructField("tld", StringType(), True),
        StructField("fetch_time", TimestampType(), True),
        StructField("fetch_month", StringType(), True),
        StructField("http_last_modified", TimestampType(), True),
        StructField("published_date", StringType(), True),
        StructField("language", StringType(), True),
        StructField("language_score", DoubleType(), True),
        StructField("charset", StringType(), True),
        StructField("charset_source", StringType(), True),
        StructField("decode_errors", IntegerType(), False),
        StructField("n_chars", IntegerType(), False),
        StructField("n_words", IntegerType(), False),
        StructField("text", StringType(), False),
        StructField("text_hash", LongType(), False),
        StructField("extractor_version", StringType(), False),
        StructField("run_id", StringType(), False),
        # Where the row came from: warc | arc (an archive's record), or the corpus it was read from (a preset:
        # c4, fineweb, redpajama, dolma; --corpus-name; else parquet | jsonl). Null in rows written before v2.
        StructField("origin", StringType(), True),
    ]
)

INGEST_LOG = StructType(
    [
        StructField("path", StringType(), False),
        StructField("crawl", StringType(), False),
        StructField("status", StringType(), False),  # ok | partial | failed
        StructField("error_class", StringType(), True),
        StructField("error_message", StringType(), True),
        StructField("attempts", IntegerType(), False),
        StructField("records", LongType(), False),
        StructField("records_by_type", MapType(StringType(), LongType()), False),
        StructField("kept", LongType(), False),
        StructField("skipped", MapType(StringType(), LongType()), False),
        StructField("decode_replacements", LongType(), False),
        StructField("bytes_read", LongType(), False),
        StructField("seconds", DoubleType(), False),
        StructField("extractor_version", StringType(), False),
        StructField("run_id", StringType(), False),
        StructField("finished_at", TimestampType(), False),
        # Kept rows per crawl: a corpus file's rows may go to several (`crawl` is then the one most went to).
        # Null in rows written before v2, whose kept rows are all in `crawl`.
        StructField("kept_by_crawl", MapType(StringType(), LongType()), True),
    ]
)

# One row per document of a deduplicated crawl (`leakwatch dedup`). Crawls are ordered in time
# (see jobs/dedup.py); "first seen" is the earliest crawl, up to and including this one.
CLUSTERS = StructType(
    [
        StructField("doc_id", LongType(), False),
        StructField("crawl", StringType(), False),
        StructField("cluster_id", LongType(), False),  # smallest doc_id of the cluster's first-seen crawl
        StructField("cluster_size", LongType(), False),  # documents of this crawl in the cluster
        StructField("is_representative", BooleanType(), False),  # earliest fetch, then smallest doc_id
        StructField("exact_group", LongType(), False),  # smallest doc_id of this crawl with the same text_hash
        StructField("n_shingles", IntegerType(), False),  # below min_shingles: exact dedup only
        StructField("first_seen_crawl_url", StringType(), False),
        StructField("first_seen_crawl_content", StringType(), False),  # own crawl or an exact/near match's
        StructField("cluster_first_seen_crawl", StringType(), False),
        StructField("fingerprint", StringType(), False),  # udfs.minhash.fingerprint of the settings
    ]
)

# The persistent cross-crawl index, at lsh_index/<fingerprint>/bands: (band, band_hash) -> cluster.
# band -1 holds the exact key (text_hash) of every document, short ones included.
LSH_INDEX = StructType(
    [
        StructField("band", IntegerType(), False),
        StructField("band_hash", LongType(), False),
        StructField("cluster_id", LongType(), False),
        StructField("first_seen_crawl", StringType(), False),
        StructField("first_seen_order", StringType(), False),
        StructField("crawl", StringType(), False),  # the crawl that added the row
        StructField("crawl_order", StringType(), False),
        StructField("fingerprint", StringType(), False),
    ]
)

# lsh_index/<fingerprint>/signatures: one MinHash signature per cluster and crawl (that of its
# smallest doc_id with enough shingles), to verify a later crawl's candidate matches against it.
LSH_SIGNATURES = StructType(
    [
        StructField("cluster_id", LongType(), False),
        StructField("signature", ArrayType(IntegerType(), False), False),  # uint32 values as int32
        StructField("crawl", StringType(), False),
        StructField("crawl_order", StringType(), False),
        StructField("fingerprint", StringType(), False),
    ]
)

# url_history: the crawls each URL (by Spark's xxhash64 of the URL string) was captured in.
URL_HISTORY = StructType(
    [
        StructField("url_hash", LongType(), False),
        StructField("crawl", StringType(), False),
        StructField("crawl_order", StringType(), False),
    ]
)

# One row per valid document per crawl, written by `leakwatch classify`; joins documents on doc_id.
SCORES = StructType(
    [
        StructField("doc_id", LongType(), False),
        StructField("crawl", StringType(), False),
        StructField("p_llm", DoubleType(), True),  # null when not scored
        StructField("scored", BooleanType(), False),  # English and >= the model card's min_words
        StructField("model_id", StringType(), False),  # sha256 prefix of the model file
        StructField("n_words", IntegerType(), False),
        *[StructField(name, IntegerType(), False) for name in LEXICON_NAMES],
        StructField("marker_terms", MapType(StringType(), IntegerType()), False),  # hits only
        StructField("lexicon_version", StringType(), False),
        StructField("run_id", StringType(), False),
    ]
)

# `leakwatch stats`: one row per time slice x view x dimension value, over the whole series of
# crawls in the warehouse (rewritten whole on every run). Tidy: readable by pandas and DuckDB.
STATS = StructType(
    [
        StructField("time_slice", StringType(), False),  # crawl | fetch_month | published_month
        StructField("period", StringType(), False),  # the crawl id, or YYYY-MM of the month slices
        StructField("crawl", StringType(), False),  # the crawl whose pages the row counts
        StructField("crawl_date", StringType(), True),  # start of the crawl's capture window (YYYY-MM-DD)
        StructField("pre_chatgpt", BooleanType(), False),  # crawl <= CC-MAIN-2022-40: the negative control
        StructField("view", StringType(), False),  # captures | unique | first_seen
        StructField("dimension", StringType(), False),  # all | language | tld | registered_domain
        StructField("value", StringType(), False),  # "all" for dimension all
        StructField("n_docs", LongType(), False),
        StructField("n_domains", LongType(), False),  # registered domains: the bootstrap's clusters
        StructField("n_scored", LongType(), False),
        StructField("coverage", DoubleType(), True),  # n_scored / n_docs
        StructField("n_flagged", LongType(), False),  # scored and p_llm >= threshold
        StructField("raw_share", DoubleType(), True),  # n_flagged / n_scored
        StructField("mean_p_llm", DoubleType(), True),
        StructField("prevalence", DoubleType(), True),  # the default estimator's share; null when not measurable
        StructField("ci_low", DoubleType(), True),
        StructField("ci_high", DoubleType(), True),
        StructField("estimator", StringType(), False),  # the default estimator (a versioned name)
        StructField("measurable", BooleanType(), False),
        StructField("not_measurable", StringType(), True),  # why not: too few pages or domains, too wide, ...
        # Every estimator's share and interval (a lower bound's interval covers the bound).
        *[StructField(f"{name}{part}", DoubleType(), True) for name in ESTIMATOR_COLUMNS
          for part in ("", "_low", "_high")],
        StructField("human_baseline", StringType(), True),  # where the human component came from
        StructField("baseline_pages", LongType(), True),
        # The slice's largest pre-ChatGPT estimate against the other pre-ChatGPT crawls, and whether any
        # such interval excludes 0: the baseline moved between pre-ChatGPT crawls beyond its noise.
        StructField("baseline_drift", DoubleType(), True),
        StructField("baseline_moved", BooleanType(), True),
        StructField("n_sites", LongType(), True),  # hosts with enough scored pages to be judged
        StructField("llm_site_share", DoubleType(), True),  # share of those hosts mostly flagged
        StructField("near_dup_share", DoubleType(), True),  # documents in a cluster of 2 or more
        StructField("n_words", LongType(), False),
        # Marker hits per million words, then the excess over the pre-ChatGPT rate.
        *[StructField(f"{name}_pmw", DoubleType(), True) for name in LEXICON_NAMES],
        *[StructField(f"{name}_excess_pmw", DoubleType(), True) for name in EXCESS_MARKERS],
        StructField("threshold", DoubleType(), False),
        StructField("tpr", DoubleType(), True),  # the LLM component's share at or above the threshold
        StructField("fpr", DoubleType(), True),  # the row's human component's share at or above it
        StructField("llm_component", StringType(), False),  # which labelled LLM texts, how many, generators
        StructField("estimators", StringType(), False),  # every estimator's versioned name
        StructField("binning", StringType(), False),  # cells: length strata x score bins
        StructField("word_model", StringType(), True),  # the word-frequency estimator's vocabulary
        StructField("replicates", IntegerType(), False),
        StructField("model_id", StringType(), True),
        StructField("minhash_fingerprint", StringType(), True),
        StructField("extractor_version", StringType(), True),
        StructField("lexicon_version", StringType(), True),
        StructField("code_version", StringType(), False),
        StructField("run_id", StringType(), False),
    ]
)

# The key of a stats row: time slice, period, crawl, view, dimension and value.
STATS_KEY = ("time_slice", "period", "crawl", "view", "dimension", "value")

# What the stats job's estimation (an applyInPandas function, one call per view x dimension x value, every
# crawl and month of it) returns per row key; the job joins it to the row's totals.
ESTIMATE_ROWS = StructType(
    [StructField(k, StringType(), False) for k in STATS_KEY]
    + [StructField(n, DoubleType(), True) for n in ("prevalence", "ci_low", "ci_high")]
    + [StructField("measurable", BooleanType(), False), StructField("not_measurable", StringType(), True)]
    + [StructField(f"{name}{part}", DoubleType(), True) for name in ESTIMATOR_COLUMNS for part in ("", "_low", "_high")]
    + [StructField("human_baseline", StringType(), True), StructField("baseline_pages", LongType(), True),
       StructField("baseline_drift", DoubleType(), True), StructField("baseline_moved", BooleanType(), True),
       StructField("tpr", DoubleType(), True), StructField("fpr", DoubleType(), True)]
)

# What dedup's signature function (mapInPandas) returns per document.
SIGNATURE_DDL = "doc_id long, n_shingles int, signature array<int>, band_hashes array<long>"

# The columns of SCORES that classify's scoring UDF computes; the job adds ids, provenance and the
# model id around them. Arrow hands every UDF column back as nullable; the job casts to SCORES.
SCORES_UDF_COLUMNS = ("p_llm", "scored", *LEXICON_NAMES, "marker_terms")
SCORES_UDF = StructType([StructField(f.name, f.dataType, True) for f in SCORES.fields
                         if f.name in SCORES_UDF_COLUMNS])
