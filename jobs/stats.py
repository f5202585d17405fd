"""`leakwatch stats`: documents + clusters + scores -> the `stats` table (+ stats.csv, stats.json).

One row per time slice x view x dimension value over the whole series of crawls in the warehouse.
Pages are aggregated per host, then per registered domain, inside Spark; each row's domains then go
to one pandas group that runs the corrected estimator and its domain-clustered bootstrap
(leakwatch.estimators), seeded from the row's key so reruns give identical rows whatever the partitioning.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch import code_version
from leakwatch.config import Config
from leakwatch.crawls import load_crawls
from leakwatch.errors import StatsError
from leakwatch.estimators.calibration import (
    NegativeControl,
    ResolvedCalibration,
    card_calibration,
    check_can_correct,
    find_card,
    from_file,
    is_calibration_file,
    negative_control,
)
from leakwatch.estimators.options import StatsOptions
from leakwatch.jobs.progress import stage_progress
from leakwatch.jobs.results import CrawlEstimate, StatsResult
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.udf import bootstrap
from leakwatch.jobs.warehouse import (
    check_schema_versions,
    path_exists,
    read_documents,
    read_text,
    table_path,
    write_text,
)
from leakwatch.schemas.calibration import parse_calibration
from leakwatch.schemas.tables import STATS, STATS_KEY
from leakwatch.schemas.values import EXCESS_MARKERS, LEXICON_NAMES, UNKNOWN, is_pre_chatgpt

# A host counts as mostly LLM-written when its own corrected share (flagged share adjusted by the
# same TPR/FPR as the rows) is at least this; a raw flagged share of 0.5 would be out of reach of a
# classifier whose TPR is below 0.5, and within reach of human sites where FPR is high.
SITE_LLM_SHARE = 0.5


def _say(message: str) -> None:
    print(f"stats: {message}", file=sys.stderr, flush=True)


def load_calibration_file(spark: SparkSession, path: str, threshold: float | None) -> ResolvedCalibration:
    """A calibration file (schemas.calibration) at any Hadoop path, checked against --flag-threshold if given."""
    text = read_text(spark, path)
    if text is None:
        raise StatsError(f"calibration file {path} not found: pass a card slice name or an existing JSON file")
    return from_file(parse_calibration(text, path), path, threshold)


def resolve_calibration(spark: SparkSession, config: Config, model_id: str) -> ResolvedCalibration:
    """The calibration the options ask for (a file, else slices of the model's card), able to correct."""
    options = config.stats
    if is_calibration_file(options.calibration):
        resolved = load_calibration_file(spark, options.calibration, options.flag_threshold)
    else:
        card, card_path = find_card(model_id, options, config.classify.model)
        resolved = card_calibration(card, card_path, options)
    return check_can_correct(resolved)


def _read_table(spark: SparkSession, warehouse: str, table: str, command: str) -> DataFrame:
    path = table_path(warehouse, table)
    if not path_exists(spark, path):
        raise StatsError(f"no {table} table in {warehouse}: run `leakwatch {command} --out {warehouse}` first")
    return spark.read.parquet(path)


def join_inputs(spark: SparkSession, warehouse: str) -> tuple[DataFrame, list[dict]]:
    """Valid documents joined to their clusters and scores rows, and per-crawl checks and provenance."""
    docs = read_documents(spark, warehouse).select(
        "doc_id", "crawl", "host", "registered_domain", "tld", "language", "fetch_month", "published_date",
        "http_last_modified", "extractor_version",
    )
    clusters = _read_table(spark, warehouse, "clusters", "dedup").select(
        "doc_id", "crawl", "cluster_size", "is_representative", "first_seen_crawl_content",
        F.col("fingerprint").alias("minhash_fingerprint"), F.lit(True).alias("_has_cluster"),
    )
    scores = _read_table(spark, warehouse, "scores", "classify").select(
        "doc_id", "crawl", "p_llm", "scored", "model_id", "n_words", *LEXICON_NAMES, "lexicon_version",
        F.lit(True).alias("_has_scores"),
    )
    joined = docs.join(clusters, ["doc_id", "crawl"], "left").join(scores, ["doc_id", "crawl"], "left")
    per_crawl = joined.groupBy("crawl").agg(
        F.count("*").alias("n_docs"),
        F.sum(F.when(F.col("_has_cluster").isNull(), 1).otherwise(0)).alias("no_cluster"),
        F.sum(F.when(F.col("_has_scores").isNull(), 1).otherwise(0)).alias("no_scores"),
        *[F.array_sort(F.collect_set(c)).alias(c) for c in
          ("model_id", "minhash_fingerprint", "extractor_version", "lexicon_version")],
    )
    return joined.drop("_has_cluster", "_has_scores"), [r.asDict() for r in per_crawl.orderBy("crawl").collect()]


def check_inputs(warehouse: str, per_crawl: list[dict]) -> str:
    """Refuse crawls not deduplicated or not classified, and scores of several models; return the model id."""
    if not per_crawl:
        raise StatsError(f"no valid documents in {warehouse}: run `leakwatch extract` first")
    for column, command in (("no_cluster", "dedup"), ("no_scores", "classify")):
        missing = [r for r in per_crawl if r[column]]
        if missing:
            listing = "; ".join(f"{r['crawl']}: {r[column]} of {r['n_docs']} documents" for r in missing)
            flags = " ".join(f"--only-crawl {r['crawl']}" for r in missing)
            raise StatsError(f"documents without {'clusters' if command == 'dedup' else 'scores'} rows ({listing}): "
                             f"run `leakwatch {command} --out {warehouse} {flags}` first")
    models = sorted({m for r in per_crawl for m in r["model_id"]})
    if len(models) != 1:
        listing = "; ".join(f"{r['crawl']}: {', '.join(r['model_id'])}" for r in per_crawl)
        raise StatsError(f"the scores come from {len(models)} models ({listing}): one series needs one model; "
                         f"run `leakwatch classify --out {warehouse}` over every crawl with the same --model")
    return models[0]


def crawl_frame(spark: SparkSession, per_crawl: list[dict]) -> DataFrame:
    """One row per crawl: its date, era and provenance strings."""
    starts = {c["id"]: (c.get("from") or "")[:10] or None for c in load_crawls()}
    rows = [
        (r["crawl"], starts.get(r["crawl"]), is_pre_chatgpt(r["crawl"]), ",".join(r["minhash_fingerprint"]) or None,
         ",".join(r["extractor_version"]) or None, ",".join(r["lexicon_version"]) or None)
        for r in per_crawl
    ]
    schema = ("crawl string, crawl_date string, pre_chatgpt boolean, minhash_fingerprint string, "
              "extractor_version string, lexicon_version string")
    return spark.createDataFrame(rows, schema)


def page_rows(joined: DataFrame, top_domains: list[str], threshold: float) -> DataFrame:
    """One row per page x view x (time slice, dimension value) that counts it."""
    published = F.regexp_extract(F.coalesce(F.col("published_date"), F.lit("")), r"^((19|20)\d\d-(0[1-9]|1[0-2]))", 1)
    published_month = F.coalesce(
        F.when(published != "", published), F.date_format("http_last_modified", "yyyy-MM")
    )
    # Pages without a registered domain (IP hosts, ...) are clustered by host; without a host, each alone.
    domain_key = F.coalesce("registered_domain", "host", F.concat(F.lit("doc:"), F.col("doc_id").cast("string")))
    is_rep = F.col("is_representative")
    first_seen = is_rep & (F.col("first_seen_crawl_content") == F.col("crawl"))

    def slice_(time_slice, period, dimension, value):
        return F.struct(F.lit(time_slice).alias("time_slice"), period.alias("period"),
                        F.lit(dimension).alias("dimension"), value.alias("value"))

    crawl = F.col("crawl")
    slices = F.array(
        slice_("crawl", crawl, "all", F.lit("all")),
        slice_("crawl", crawl, "language", F.coalesce("language", F.lit(UNKNOWN))),
        slice_("crawl", crawl, "tld", F.coalesce("tld", F.lit(UNKNOWN))),
        F.when(F.col("registered_domain").isin(top_domains),
               slice_("crawl", crawl, "registered_domain", F.col("registered_domain"))),
        F.when(F.col("fetch_month").isNotNull(), slice_("fetch_month", F.col("fetch_month"), "all", F.lit("all"))),
        F.when(published_month.isNotNull(), slice_("published_month", published_month, "all", F.lit("all"))),
    )
    views = F.array(F.lit("captures"), F.when(is_rep, F.lit("unique")), F.when(first_seen, F.lit("first_seen")))
    scored = F.coalesce(F.col("scored"), F.lit(False))
    # Spark allows one generator per select: views first, then slices.
    return joined.select(
        "crawl",
        domain_key.alias("domain_key"),
        F.coalesce("host", domain_key).alias("host_key"),
        F.explode(F.filter(views, lambda v: v.isNotNull())).alias("view"),
        F.filter(slices, lambda s: s.isNotNull()).alias("slices"),
        scored.cast("long").alias("scored"),
        (scored & (F.col("p_llm") >= threshold)).cast("long").alias("flagged"),
        F.when(scored, F.col("p_llm")).otherwise(0.0).alias("p_llm"),
        F.col("n_words").cast("long").alias("n_words"),
        *[F.col(m).cast("long").alias(m) for m in LEXICON_NAMES],
        (F.col("cluster_size") >= 2).cast("long").alias("near_dup"),
    ).select("*", F.explode("slices").alias("s")).select(
        "s.*", "crawl", "view", "domain_key", "host_key", "scored", "flagged", "p_llm", "n_words", *LEXICON_NAMES,
        "near_dup",
    )


def per_domain(pages: DataFrame, options: StatsOptions, calibration: ResolvedCalibration) -> DataFrame:
    """Per row key and registered domain: page counts, sums, and its hosts judged for the site share."""
    sums = [F.sum(c).alias(c) for c in ("scored", "flagged", "p_llm", "n_words", *LEXICON_NAMES, "near_dup")]
    hosts = pages.groupBy(*STATS_KEY, "domain_key", "host_key").agg(F.count("*").alias("n_docs"), *sums)
    c = calibration.counts
    # flagged / scored >= FPR + SITE_LLM_SHARE * (TPR - FPR) <=> the host's corrected share >= SITE_LLM_SHARE
    site_cutoff = c.fpr + SITE_LLM_SHARE * (c.tpr - c.fpr)
    judged = F.col("scored") >= max(options.min_site_docs, 1)
    return hosts.groupBy(*STATS_KEY, "domain_key").agg(
        *[F.sum(x).alias(x) for x in ("n_docs", "scored", "flagged", "p_llm", "n_words", *LEXICON_NAMES, "near_dup")],
        F.sum(judged.cast("long")).alias("n_sites"),
        F.sum((judged & (F.col("flagged") >= site_cutoff * F.col("scored"))).cast("long")).alias("llm_sites"),
    )


def _pmw(hits: str, words: str = "n_words"):
    return F.when(F.col(words) > 0, F.col(hits) * 1e6 / F.col(words))


def finish_rows(rows: DataFrame, crawls: DataFrame, calibration: ResolvedCalibration, options: StatsOptions,
                model_id: str, run_id: str) -> DataFrame:
    """Add rates, the pre-ChatGPT marker baseline, calibration and provenance; columns of schemas.STATS."""
    rows = rows.join(F.broadcast(crawls), "crawl")
    # The baseline of a (view, dimension, value): its marker rate over every pre-ChatGPT crawl.
    baseline = rows.where((F.col("time_slice") == "crawl") & F.col("pre_chatgpt")).groupBy(
        "view", "dimension", "value"
    ).agg(F.sum("n_words").alias("base_words"), *[F.sum(m).alias(f"base_{m}") for m in EXCESS_MARKERS])
    rows = rows.join(baseline, ["view", "dimension", "value"], "left")
    c = calibration.counts
    extra = {
        "coverage": F.when(F.col("n_docs") > 0, F.col("n_scored") / F.col("n_docs")),
        "llm_site_share": F.when(F.col("n_sites") > 0, F.col("llm_sites") / F.col("n_sites")),
        "near_dup_share": F.when(F.col("n_docs") > 0, F.col("near_dup") / F.col("n_docs")),
        **{f"{m}_pmw": _pmw(m) for m in LEXICON_NAMES},
        **{f"{m}_excess_pmw": _pmw(m) - _pmw(f"base_{m}", "base_words") for m in EXCESS_MARKERS},
        "threshold": F.lit(calibration.threshold),
        "tpr": F.lit(c.tpr),
        "fpr": F.lit(c.fpr),
        "calibration": F.lit(calibration.label),
        "replicates": F.lit(options.replicates),
        "model_id": F.lit(model_id),
        "code_version": F.lit(code_version()),
        "run_id": F.lit(run_id),
    }
    return rows.select([extra.get(f.name, F.col(f.name)).cast(f.dataType).alias(f.name) for f in STATS.fields])


def top_domains(docs: DataFrame, n: int) -> list[str]:
    """The `n` registered domains with the most documents over the series (ties by name)."""
    if n <= 0:
        return []
    counts = docs.where(F.col("registered_domain").isNotNull()).groupBy("registered_domain").count()
    return [r[0] for r in counts.orderBy(F.desc("count"), "registered_domain").limit(n).collect()]


def run_stats(spark: SparkSession, config: Config) -> StatsResult:
    """Compute the stats table over every crawl of the warehouse; write parquet, CSV and JSON."""
    options, warehouse = config.stats, config.warehouse
    if options.replicates < 1 or not 0 < options.level < 1:
        raise StatsError(f"--replicates must be >= 1 and --level in (0, 1); got {options.replicates}, "
                         f"{options.level}")
    _say("checking that every crawl is deduplicated and classified")
    joined, per_crawl = join_inputs(spark, warehouse)
    model_id = check_inputs(warehouse, per_crawl)
    calibration = resolve_calibration(spark, config, model_id)
    c = calibration.counts
    _say(f"calibration {calibration.label}: TPR {c.tpr:.4f} ({c.true_positives}/{c.positives}), "
         f"FPR {c.fpr:.4f} ({c.false_positives}/{c.negatives})")
    check_schema_versions(spark, warehouse, ["stats"])
    domains = top_domains(read_documents(spark, warehouse), options.top_domains)
    _say(f"{len(per_crawl)} crawls, {sum(r['n_docs'] for r in per_crawl)} documents; "
         f"{len(domains)} registered domains get their own rows")

    pages = page_rows(joined, domains, calibration.threshold)
    grouped = per_domain(pages, options, calibration).groupBy(*STATS_KEY)
    # Kept once computed: the baseline and the rows both read them, and the bootstrap must run once.
    rows = bootstrap(grouped, calibration, options).persist()
    out = table_path(warehouse, "stats")
    _say(f"aggregating per domain and bootstrapping every row ({options.replicates} replicates)")
    with stage_progress(spark, "stats", unit="tasks"):
        n_rows = rows.count()
    _say(f"writing {n_rows} rows to {out}")
    table = finish_rows(rows, crawl_frame(spark, per_crawl), calibration, options, model_id, config.run_id)
    table.coalesce(1).sortWithinPartitions(*STATS_KEY).write.mode("overwrite").parquet(out)
    rows.unpersist()

    frame, csv_path, json_path = _write_copies(spark, out)
    headline = frame[(frame.time_slice == "crawl") & (frame.view == "captures") & (frame.dimension == "all")]
    control = negative_control(headline, calibration)
    _warn(control)
    columns = ("n_docs", "n_scored", "raw_share", "prevalence", "ci_low", "ci_high", "pre_chatgpt")
    return StatsResult(
        negative_control=control, stats=out, csv=csv_path, json=json_path, rows=len(frame), model_id=model_id,
        calibration=calibration.summary(),
        crawls={r.crawl: CrawlEstimate(**{k: _plain(getattr(r, k)) for k in columns}) for r in headline.itertuples()},
    )


def _write_copies(spark: SparkSession, out: str) -> tuple[pd.DataFrame, str, str]:
    """The stats table as pandas, and the paths of its CSV and JSON copies, written beside it."""
    # The stats table is small (rows, not pages): the CSV and JSON copies are made on the driver.
    frame = spark.read.parquet(out).toPandas().sort_values(list(STATS_KEY), kind="stable").reset_index(drop=True)
    csv_path, json_path = f"{out}.csv", f"{out}.json"
    write_text(spark, csv_path, frame.to_csv(index=False))
    # json.dumps writes floats at full precision (pandas' to_json stops at 15 digits).
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    write_text(spark, json_path, json.dumps(records, indent=1, default=_plain))
    _say(f"wrote {len(frame)} rows: {out}, {csv_path}, {json_path}")
    return frame, csv_path, json_path


def _warn(control: dict[str, NegativeControl]) -> None:
    for crawl, check in control.items():
        if not check.fits:
            _say(f"negative control: pre-ChatGPT crawl {crawl} flags {check.raw_share:.1%} of its scored pages "
                 f"but the calibration's FPR is {check.fpr:.1%}: its human texts are not like this warehouse's "
                 "pages, so every prevalence is biased (down if the crawl flags less, up if more); pass an "
                 "--fpr-slice or a --calibration FILE measured on pages like these")


def _plain(value):
    """numpy scalars and NaN as JSON-ready Python values."""
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def run(config: Config) -> int:
    """Run the stats job and print its summary as JSON."""
    summary = run_stats(get_spark(config.spark), config)
    print(json.dumps(dataclasses.asdict(summary), indent=1, sort_keys=True))
    return 0
