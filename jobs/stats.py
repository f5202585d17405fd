"""`leakwatch stats`: documents + clusters + scores -> the `stats` table (+ stats.csv, stats.json).

One row per time slice x view x dimension value over the whole series of crawls in the warehouse.
Spark counts each row's scored pages per domain bucket and cell (length stratum x score bin:
leakwatch.estimators.base.Binning); each slice (view x dimension x value, all its crawls and months)
then goes to one pandas group that compares every row with the slice's human component (its
pre-ChatGPT pages) and the LLM component (labelled LLM text scored as the pipeline scores it), with
every registered estimator and one shared bootstrap seeded from the row's key, so reruns give identical
rows whatever the partitioning (leakwatch.estimators.rows). The word-frequency estimator's weights come
from a pass over the pre-ChatGPT pages' text, its page scores from a second.
When the page rows number at most --stats-max-driver-pages, they are read onto the driver once and the
counts and slices are done there in pandas (local_totals, local_cells, estimate_slices: the same rows,
a test compares both paths). Either way the rows' totals and estimates (a row per stats row, not per
page) are joined on the driver (finish_rows) and written by Spark.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch import code_version
from leakwatch.config import Config
from leakwatch.crawls import load_crawls
from leakwatch.errors import StatsError
from leakwatch.estimators.base import ESTIMATORS, Binning, estimator, versions
from leakwatch.estimators.bootstrap import Settings, llm_component, row_seed
from leakwatch.estimators.components import (
    LabelledText,
    ScoredTexts,
    default_llm_texts,
    heldout_texts,
    read_llm_texts,
    score_texts,
)
from leakwatch.estimators.rows import SliceContext, estimate_slices
from leakwatch.estimators.rules import near_zero
from leakwatch.jobs.progress import stage_progress
from leakwatch.jobs.results import Components, CrawlEstimate, NegativeControl, StatsResult
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.udf import estimates
from leakwatch.jobs.warehouse import (
    path_exists,
    read_documents,
    record_schema_version,
    table_path,
    write_text,
)
from leakwatch.jobs.wordfreq import fit_word_model, with_word_scores
from leakwatch.schemas.tables import ESTIMATE_ROWS, STATS, STATS_KEY
from leakwatch.schemas.values import ESTIMATOR_COLUMNS, EXCESS_MARKERS, LEXICON_NAMES, UNKNOWN, is_pre_chatgpt
from leakwatch.training.corpus import DEFAULT_DATA
from leakwatch.udfs.classifier import model_id as file_model_id
from leakwatch.validation.measure import model_threshold

# A host counts as mostly LLM-written when its own corrected share (its flagged share adjusted by the
# LLM component's and the warehouse baseline's rates at the threshold) is at least this.
SITE_LLM_SHARE = 0.5
# Domain buckets: the bootstrap resamples hash(registered domain) mod this (unions of whole domains, the
# random-group form of a cluster bootstrap), so its cost stops growing with the number of domains.
DOMAIN_BUCKETS = 4096


def _say(message: str) -> None:
    print(f"stats: {message}", file=sys.stderr, flush=True)


def _read_table(spark: SparkSession, warehouse: str, table: str, command: str) -> DataFrame:
    path = table_path(warehouse, table)
    if not path_exists(spark, path):
        raise StatsError(f"no {table} table in {warehouse}: run `leakwatch {command} --out {warehouse}` first")
    return spark.read.parquet(path)


def join_inputs(spark: SparkSession, warehouse: str, documents: DataFrame) -> tuple[DataFrame, list[dict]]:
    """Valid documents (`documents`: jobs.warehouse.read_documents) joined to their clusters and scores
    rows, with their domains (with_domains), persisted (the caller unpersists it); and per-crawl checks
    and provenance, counted from the persisted rows, so the join runs once."""
    docs = documents.select(
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
    joined = with_domains(docs.join(clusters, ["doc_id", "crawl"], "left").join(scores, ["doc_id", "crawl"], "left"))
    joined = joined.persist()
    per_crawl = joined.groupBy("crawl").agg(
        F.count("*").alias("n_docs"),
        F.sum(F.when(F.col("_has_cluster").isNull(), 1).otherwise(0)).alias("no_cluster"),
        F.sum(F.when(F.col("_has_scores").isNull(), 1).otherwise(0)).alias("no_scores"),
        *[F.array_sort(F.collect_set(c)).alias(c) for c in
          ("model_id", "minhash_fingerprint", "extractor_version", "lexicon_version")],
    )
    return joined, [r.asDict() for r in per_crawl.orderBy("crawl").collect()]


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


def crawl_table(per_crawl: list[dict]) -> pd.DataFrame:
    """One row per crawl: its date, era and provenance strings."""
    starts = {c["id"]: (c.get("from") or "")[:10] or None for c in load_crawls()}
    rows = [
        (r["crawl"], starts.get(r["crawl"]), is_pre_chatgpt(r["crawl"]), ",".join(r["minhash_fingerprint"]) or None,
         ",".join(r["extractor_version"]) or None, ",".join(r["lexicon_version"]) or None)
        for r in per_crawl
    ]
    return pd.DataFrame(rows, columns=["crawl", "crawl_date", "pre_chatgpt", "minhash_fingerprint",
                                       "extractor_version", "lexicon_version"])


def cell_column(binning: Binning):
    """The cell (length stratum x score bin) of a scored page: Binning.cell as a Spark expression."""
    p = F.least(F.greatest(F.col("p_llm"), F.lit(1e-12)), F.lit(1 - 1e-12))
    k = F.floor((F.log(p / (1 - p)) - F.lit(binning.anchor)) / F.lit(binning.width)) + F.lit(binning.below)
    k = F.least(F.greatest(k, F.lit(0)), F.lit(binning.bins - 1))
    # A score at the threshold belongs above its edge, whatever the last bit of the logarithm says.
    k = F.when(F.col("p_llm") >= binning.threshold, F.greatest(k, F.lit(binning.below))).otherwise(
        F.least(k, F.lit(binning.below - 1)))
    stratum = sum((F.col("n_words") >= edge).cast("int") for edge in binning.length_edges)
    return (stratum * F.lit(binning.bins) + k).cast("int")


def with_domains(joined: DataFrame) -> DataFrame:
    """Pages with the cluster the bootstrap resamples (their registered domain) and its bucket."""
    # Pages without a registered domain (IP hosts, ...) are clustered by host; without a host, each alone.
    domain_key = F.coalesce("registered_domain", "host", F.concat(F.lit("doc:"), F.col("doc_id").cast("string")))
    return joined.withColumn("domain_key", domain_key).withColumn(
        "bucket", F.pmod(F.xxhash64("domain_key"), F.lit(DOMAIN_BUCKETS)).cast("int"))


# page_rows' views (captures, unique, first_seen) x slices (crawl x all, language, tld, registered_domain;
# fetch_month; published_month): the most rows one page can have.
ROWS_PER_PAGE = 3 * 6


def page_rows(joined: DataFrame, top_domains: list[str], binning: Binning) -> DataFrame:
    """One row per page x view x (time slice, dimension value) that counts it, with its domain bucket and
    cell: at most ROWS_PER_PAGE rows a page."""
    published = F.regexp_extract(F.coalesce(F.col("published_date"), F.lit("")), r"^((19|20)\d\d-(0[1-9]|1[0-2]))", 1)
    published_month = F.coalesce(
        F.when(published != "", published), F.date_format("http_last_modified", "yyyy-MM")
    )
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
    page_columns = ("crawl", "view", "domain_key", "host_key", "bucket", "cell", "word_score", "scored", "flagged",
                    "p_llm", "n_words", *LEXICON_NAMES, "near_dup")
    # Spark allows one generator per select: views first, then slices.
    return joined.select(
        "crawl", "domain_key", "bucket",
        F.coalesce("host", "domain_key").alias("host_key"),
        F.when(scored, cell_column(binning)).alias("cell"),
        F.when(scored, F.col("word_score")).alias("word_score"),
        F.explode(F.filter(views, lambda v: v.isNotNull())).alias("view"),
        F.filter(slices, lambda s: s.isNotNull()).alias("slices"),
        scored.cast("long").alias("scored"),
        (scored & (F.col("p_llm") >= binning.threshold)).cast("long").alias("flagged"),
        F.when(scored, F.col("p_llm")).otherwise(0.0).alias("p_llm"),
        F.col("n_words").cast("long").alias("n_words"),
        *[F.col(m).cast("long").alias(m) for m in LEXICON_NAMES],
        (F.col("cluster_size") >= 2).cast("long").alias("near_dup"),
    ).select("*", F.explode("slices").alias("s")).select("s.*", *page_columns)


SUMS = ("scored", "flagged", "p_llm", "n_words", *LEXICON_NAMES, "near_dup")


def row_totals(pages: DataFrame, min_site_docs: int, site_cutoff: float) -> DataFrame:
    """Per row key: pages, domains (with scored pages), sums, and its hosts judged for the site share."""
    hosts = pages.groupBy(*STATS_KEY, "domain_key", "host_key").agg(
        F.count("*").alias("n_docs"), *[F.sum(c).alias(c) for c in SUMS])
    # flagged / scored >= site_cutoff <=> the host's corrected share >= SITE_LLM_SHARE
    judged = F.col("scored") >= max(min_site_docs, 1)
    domains = hosts.groupBy(*STATS_KEY, "domain_key").agg(
        *[F.sum(x).alias(x) for x in ("n_docs", *SUMS)],
        F.sum(judged.cast("long")).alias("n_sites"),
        F.sum((judged & (F.col("flagged") >= site_cutoff * F.col("scored"))).cast("long")).alias("llm_sites"),
    )
    return domains.groupBy(*STATS_KEY).agg(
        *[F.sum(x).alias(x) for x in ("n_docs", *SUMS, "n_sites", "llm_sites")],
        F.count("*").alias("n_domains"),
        F.sum((F.col("scored") > 0).cast("long")).alias("n_scored_domains"),
    ).select(
        *STATS_KEY, "n_docs", "n_domains", "n_scored_domains", F.col("scored").alias("n_scored"),
        F.col("flagged").alias("n_flagged"), "n_sites", "llm_sites", "near_dup", "n_words", *LEXICON_NAMES,
        F.when(F.col("scored") > 0, F.col("p_llm") / F.col("scored")).alias("mean_p_llm"),
        F.when(F.col("scored") > 0, F.col("flagged") / F.col("scored")).alias("raw_share"),
    )


def row_cells(pages: DataFrame) -> DataFrame:
    """Scored pages per row key, domain bucket and cell, with their word-score sum."""
    return pages.where(F.col("scored") == 1).groupBy(*STATS_KEY, "bucket", "cell").agg(
        F.count("*").alias("n"), F.sum("word_score").alias("s"))


def driver_pages(pages: DataFrame, most: int, documents: int) -> pd.DataFrame | None:
    """The page rows of `documents` pages as pandas when there are at most `most` of them, else None.
    They are counted first unless even ROWS_PER_PAGE rows a page stay within `most` (a job saved)."""
    if not most or (documents * ROWS_PER_PAGE > most and pages.count() > most):
        return None
    return pages.toPandas()


def local_totals(pages: pd.DataFrame, min_site_docs: int, site_cutoff: float) -> pd.DataFrame:
    """row_totals of page rows held in pandas: the same sums, in the same steps (hosts, domains, rows)."""
    key, sums = list(STATS_KEY), list(SUMS)

    def summed(frame: pd.DataFrame, by: list[str], columns: list[str]) -> tuple[pd.DataFrame, pd.Series]:
        groups = frame.groupby(by, sort=True, dropna=False)
        # min_count=1: a sum over nulls only is null, as in Spark.
        return groups[columns].sum(min_count=1).reset_index(), groups.size().to_numpy()

    hosts, n_docs = summed(pages, [*key, "domain_key", "host_key"], sums)
    hosts["n_docs"] = n_docs
    judged = hosts["scored"] >= max(min_site_docs, 1)
    hosts["n_sites"] = judged.astype("int64")
    hosts["llm_sites"] = (judged & (hosts["flagged"] >= site_cutoff * hosts["scored"])).astype("int64")
    domains, _ = summed(hosts, [*key, "domain_key"], ["n_docs", *sums, "n_sites", "llm_sites"])
    domains["scored_domain"] = (domains["scored"] > 0).astype("int64")
    totals, n_domains = summed(domains, key, ["n_docs", *sums, "n_sites", "llm_sites", "scored_domain"])
    scored = totals["scored"].where(totals["scored"] > 0)
    return totals.assign(
        n_domains=n_domains, n_scored_domains=totals["scored_domain"], n_scored=totals["scored"],
        n_flagged=totals["flagged"], mean_p_llm=totals["p_llm"] / scored, raw_share=totals["flagged"] / scored,
    )


def local_cells(pages: pd.DataFrame) -> pd.DataFrame:
    """row_cells of page rows held in pandas. Each cell's word scores are summed in the order of their
    values, not of the rows Spark handed over (which can change between runs, and with it the last bit
    of a sum)."""
    scored = pages[pages["scored"] == 1].astype({"cell": "int64"})
    by = [*STATS_KEY, "bucket", "cell"]
    scored = scored.sort_values([*by, "word_score"], kind="stable")
    groups = scored.groupby(by, sort=True, dropna=False)
    cells = groups["word_score"].sum(min_count=1).rename("s").reset_index()
    cells.insert(len(cells.columns) - 1, "n", groups.size().to_numpy())
    return cells


def _pmw(hits: str, words: str = "n_words"):
    return F.when(F.col(words) > 0, F.col(hits) * 1e6 / F.col(words))


@dataclasses.dataclass(frozen=True)
class Provenance:
    """What every row says about how it was estimated."""

    threshold: float
    llm_component: str
    binning: str
    word_model: str | None
    replicates: int
    default: str
    model_id: str
    run_id: str


def finish_rows(totals: pd.DataFrame, rows: pd.DataFrame, crawls: pd.DataFrame,
                provenance: Provenance) -> pd.DataFrame:
    """Totals joined to their estimates, with rates, the pre-ChatGPT marker baseline and provenance: the
    columns of schemas.STATS, in its order, for spark.createDataFrame(..., STATS). A row without scored
    pages gets the rule's reason. On the driver in both paths: there is a row per stats row, not per page
    (the CSV and JSON copies hold them all too)."""
    key = list(STATS_KEY)
    rows = totals.merge(rows, on=key, how="left").merge(crawls, on="crawl")
    pre = rows[(rows["time_slice"] == "crawl") & rows["pre_chatgpt"]]
    sums = {"n_words": "base_words", **{m: f"base_{m}" for m in EXCESS_MARKERS}}
    slices = ["view", "dimension", "value"]
    baseline = pre.groupby(slices, sort=False, dropna=False)[list(sums)].sum(min_count=1).rename(columns=sums)
    rows = rows.merge(baseline.reset_index(), on=slices, how="left")

    def ratio(top: str, bottom: str) -> pd.Series:  # Spark's when(bottom > 0, top / bottom): else null
        return (rows[top] / rows[bottom]).where(rows[bottom] > 0)

    def pmw(hits: str, words: str = "n_words") -> pd.Series:
        return (rows[hits] * 1e6 / rows[words]).where(rows[words] > 0)

    estimated = rows["measurable"].notna()
    extra = {
        "coverage": ratio("n_scored", "n_docs"), "llm_site_share": ratio("llm_sites", "n_sites"),
        "near_dup_share": ratio("near_dup", "n_docs"),
        **{f"{m}_pmw": pmw(m) for m in LEXICON_NAMES},
        **{f"{m}_excess_pmw": pmw(m) - pmw(f"base_{m}", "base_words") for m in EXCESS_MARKERS},
        "measurable": rows["measurable"].where(estimated, False).astype(bool),
        "not_measurable": rows["not_measurable"].where(estimated, rows["n_scored"].astype("int64").astype(str)
                                                       + " scored pages"),
        "estimator": provenance.default, "threshold": provenance.threshold,
        "llm_component": provenance.llm_component, "estimators": versions(), "binning": provenance.binning,
        "word_model": provenance.word_model, "replicates": provenance.replicates, "model_id": provenance.model_id,
        "code_version": code_version(), "run_id": provenance.run_id,
    }
    return pd.DataFrame({f.name: extra[f.name] if f.name in extra else rows[f.name] for f in STATS.fields},
                        index=rows.index)


def top_domains(docs: DataFrame, n: int) -> list[str]:
    """The `n` registered domains with the most documents over the series (ties by name); `docs` has a
    row per valid document (the joined inputs)."""
    if n <= 0:
        return []
    counts = docs.where(F.col("registered_domain").isNotNull()).groupBy("registered_domain").count()
    return [r[0] for r in counts.orderBy(F.desc("count"), "registered_domain").limit(n).collect()]


def scores_model(config: Config, model_id: str) -> tuple[str, float]:
    """(model file, threshold): the model the scores came from (it scores the labelled texts too)."""
    model, threshold = model_threshold(config)
    if file_model_id(model) != model_id:
        raise StatsError(f"the scores come from model {model_id} but {model} is {file_model_id(model)}: the LLM "
                         "component must be scored by the same model; pass that model's file with --model")
    return model, threshold


def labelled_folder(options) -> Path | None:
    """--stats-labeled, else ../shared/data/labeled when it is there."""
    if options.labeled:
        folder = Path(options.labeled)
        if not folder.is_dir() or not any(folder.glob("*.jsonl")):
            raise StatsError(f"--stats-labeled {folder}: not a folder of labelled *.jsonl")
        return folder
    return DEFAULT_DATA if DEFAULT_DATA.is_dir() else None


def llm_texts(options, labeled: Path | None, model: str) -> list[LabelledText]:
    """The LLM component's texts: --llm-texts, else the default set for `model`; StatsError when there are none."""
    texts = read_llm_texts(options.llm_texts) if options.llm_texts else default_llm_texts(labeled, model)
    if not texts:
        raise StatsError("no labelled LLM text for the LLM component: pass --llm-texts FILE (JSONL with text, "
                         "generator, group) or --stats-labeled DIR")
    return texts


def _rate(scored: ScoredTexts, llm: bool, threshold: float) -> float | None:
    part = scored.frame[scored.frame.scored & (scored.frame.llm == llm)]
    return float((part.p_llm >= threshold).mean()) if len(part) else None


def run_stats(spark: SparkSession, config: Config) -> StatsResult:
    """Compute the stats table over every crawl of the warehouse; write parquet, CSV and JSON."""
    options, warehouse = config.stats, config.warehouse
    if options.replicates < 1 or not 0 < options.level < 1:
        raise StatsError(f"--replicates must be >= 1 and --level in (0, 1); got {options.replicates}, "
                         f"{options.level}")
    default = estimator(options.estimator)
    _say("checking that every crawl is deduplicated and classified")
    # Read once: every later pass over the documents (word model, word scores) starts from this plan.
    documents = read_documents(spark, warehouse)
    inputs, per_crawl = join_inputs(spark, warehouse, documents)
    try:  # what is refused is refused here, before any other work
        model_id = check_inputs(warehouse, per_crawl)
        model, threshold = scores_model(config, model_id)
        labeled = labelled_folder(options)
        texts = llm_texts(options, labeled, model)
    except StatsError:
        inputs.unpersist()
        raise
    binning = Binning(threshold)
    pre = tuple(r["crawl"] for r in per_crawl if is_pre_chatgpt(r["crawl"]))
    llm_scored = score_texts(texts, model)
    _say(f"LLM component: {llm_scored.describe(True)}")
    domains = top_domains(inputs, options.top_domains)
    word_model = fit_word_model(documents, inputs, llm_scored, pre) if options.word_frequency else None
    joined = with_word_scores(documents, inputs, word_model)
    settings = Settings(replicates=options.replicates, level=options.level)
    groups, _ = llm_scored.grouped(binning, True)
    llm = llm_component(groups, settings.replicates, np.random.default_rng(row_seed(options.bootstrap_seed, ("llm",))),
                        settings.generator_draw, llm_scored.group_words(True, word_model) if word_model else None)
    context = SliceContext(binning, settings, default.name, options.bootstrap_seed, llm, pre)
    tpr, fpr = _rate(llm_scored, True, threshold), None
    if not pre:
        context, fpr = _labelled_fallback(context, labeled, model, threshold)
    record_schema_version(spark, warehouse, "stats")
    _say(f"{len(per_crawl)} crawls ({len(pre)} pre-ChatGPT), {sum(r['n_docs'] for r in per_crawl)} documents; "
         f"{len(domains)} registered domains get their own rows")

    pages = page_rows(joined, domains, binning).persist()
    local = driver_pages(pages, options.max_driver_pages, sum(r["n_docs"] for r in per_crawl))
    raw_cells = row_cells(pages).persist() if local is None else local_cells(local)
    if pre:
        # The views' `all` slices of the pre-ChatGPT crawls: the human component of thin slices, and the FPR.
        columns = ["view", "crawl", "bucket", "cell", "n", "s"]
        if local is None:
            fallback = raw_cells.where((F.col("time_slice") == "crawl") & (F.col("dimension") == "all")
                                       & F.col("crawl").isin(list(pre))).select(*columns).toPandas()
        else:
            fallback = raw_cells.loc[(raw_cells["time_slice"] == "crawl") & (raw_cells["dimension"] == "all")
                                     & raw_cells["crawl"].isin(pre), columns]
        # In one order whatever the partitioning: the component's sums (and so its draws) are the same.
        fallback = fallback.sort_values(columns[:4], kind="stable").reset_index(drop=True)
        context = dataclasses.replace(context, fallback=fallback)
        base = fallback[fallback["view"] == "captures"]
        fpr = float(base["n"][base["cell"] % binning.bins >= binning.below].sum() / max(base["n"].sum(), 1))
    site_cutoff = (fpr or 0.0) + SITE_LLM_SHARE * ((tpr or 1.0) - (fpr or 0.0))
    out = table_path(warehouse, "stats")
    _say(f"estimating every row with {', '.join(ESTIMATORS)} ({options.replicates} replicates)"
         + ("" if local is None else f"; {len(local)} page rows, on the driver"))
    provenance = Provenance(threshold, llm_scored.describe(True), binning.fingerprint,
                            word_model.fingerprint if word_model else None, options.replicates, default.name,
                            model_id, config.run_id)
    if local is None:
        totals = row_totals(pages, options.min_site_docs, site_cutoff).persist()
        cells = raw_cells.join(totals.select(*STATS_KEY, F.col("n_scored_domains").alias("n_domains")),
                               list(STATS_KEY))
        rows = estimates(cells, context)
        with stage_progress(spark, "stats", unit="tasks"):
            estimated = rows.toPandas()
        summed = totals.toPandas()
        totals.unpersist()
    else:
        # The same steps in pandas.
        summed = local_totals(local, options.min_site_docs, site_cutoff)
        cells = raw_cells.merge(summed[[*STATS_KEY, "n_scored_domains"]].rename(
            columns={"n_scored_domains": "n_domains"}), on=list(STATS_KEY))
        estimated = estimate_slices(cells, context, ESTIMATE_ROWS.fieldNames())
    n_rows = len(estimated)
    table = spark.createDataFrame(finish_rows(summed, estimated, crawl_table(per_crawl), provenance), STATS)
    # Persisted as it is written: the CSV and JSON copies are made from these rows, not a read back.
    table = table.coalesce(1).sortWithinPartitions(*STATS_KEY).persist()
    table.write.mode("overwrite").parquet(out)
    _say(f"wrote {n_rows} estimated rows to {out}")
    frame, csv_path, json_path = _write_copies(spark, out, table)
    for frame_ in (table, raw_cells, pages, inputs):
        if isinstance(frame_, DataFrame):
            frame_.unpersist()

    headline = frame[(frame.time_slice == "crawl") & (frame.view == "captures") & (frame.dimension == "all")]
    control = negative_control(headline, default.column)
    _warn(control)
    human = headline["human_baseline"].dropna()
    return StatsResult(
        negative_control=control, stats=out, csv=csv_path, json=json_path, rows=len(frame), model_id=model_id,
        components=Components(default.name, threshold, provenance.llm_component,
                              str(human.iloc[-1]) if len(human) else "none", tpr, fpr),
        crawls={r["crawl"]: crawl_estimate(r) for r in headline.to_dict("records")},
    )


def _labelled_fallback(context: SliceContext, labeled: Path | None, model: str,
                       threshold: float) -> tuple[SliceContext, float | None]:
    """Without a pre-ChatGPT crawl: labelled human text (held-out groups) as every row's human component."""
    texts = heldout_texts(labeled, llm=False)
    if not texts:
        _say("no pre-ChatGPT crawl in the warehouse and no labelled human text: no row can be estimated; add a "
             "crawl up to CC-MAIN-2022-40 or pass --stats-labeled DIR")
        return context, None
    scored = score_texts(texts, model, seed="human-fallback")
    groups, _ = scored.grouped(context.binning, False)
    label = (f"labelled human text, not this web (the warehouse has no pre-ChatGPT crawl): "
             f"{scored.describe(False)}")
    _say(f"human component: {label}")
    return dataclasses.replace(context, labelled_human=groups, labelled_label=label), _rate(scored, False, threshold)


def crawl_estimate(row: dict) -> CrawlEstimate:
    """A crawl's headline row as the stats stage returns it."""
    return CrawlEstimate(
        **{k: _plain(row[k]) for k in ("n_docs", "n_scored", "raw_share", "prevalence", "ci_low", "ci_high",
                                       "pre_chatgpt", "measurable", "not_measurable")},
        estimators={c: tuple(_plain(row[f"{c}{p}"]) for p in ("", "_low", "_high")) for c in ESTIMATOR_COLUMNS},
    )


def negative_control(headline: pd.DataFrame, column: str) -> dict[str, NegativeControl]:
    """Per pre-ChatGPT crawl: the default estimator's share (its `column`) against the other pre-ChatGPT
    crawls, measurable or not, and whether it is near zero (leakwatch.estimators.rules.near_zero)."""
    checks = {}
    for r in headline[headline.pre_chatgpt].to_dict("records"):
        share, low, high = (_plain(r[f"{column}{part}"]) for part in ("", "_low", "_high"))
        checks[r["crawl"]] = NegativeControl(share, low, high, near_zero(share, low), r["human_baseline"],
                                             bool(r["measurable"]))
    return checks


def _write_copies(spark: SparkSession, out: str, table: DataFrame) -> tuple[pd.DataFrame, str, str]:
    """The stats table (`table`, as written to `out`) as pandas, and the paths of its CSV and JSON copies,
    written beside it."""
    # The stats table is small (rows, not pages): the CSV and JSON copies are made on the driver.
    frame = table.toPandas().sort_values(list(STATS_KEY), kind="stable").reset_index(drop=True)
    csv_path, json_path = f"{out}.csv", f"{out}.json"
    write_text(spark, csv_path, frame.to_csv(index=False))
    # json.dumps writes floats at full precision (pandas' to_json stops at 15 digits).
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    write_text(spark, json_path, json.dumps(records, indent=1, default=_plain))
    _say(f"wrote {len(frame)} rows: {out}, {csv_path}, {json_path}")
    return frame, csv_path, json_path


def _warn(control: dict[str, NegativeControl]) -> None:
    for crawl, check in control.items():
        if check.near_zero:
            continue
        read = ("no estimate" if check.share is None
                else f"{check.share:.1%} (CI {check.ci_low:.1%}-{check.ci_high:.1%})")
        if check.failed:
            _say(f"WARNING negative control: pre-ChatGPT crawl {crawl} reads {read} against {check.baseline}: "
                 "its human pages are not like the baseline's, so every estimate of this warehouse may be biased; "
                 "the report says so")
        else:
            _say(f"WARNING negative control: pre-ChatGPT crawl {crawl} is not measurable ({read}) against "
                 f"{check.baseline}: nothing shows how far from zero this warehouse's estimates read; the report "
                 "says so")


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
