"""`leakwatch validate`: the injection test. Known LLM shares in, the whole pipeline, estimates out.

Only texts the shipped model never trained on are used: the held-out sibling groups of
leakwatch.training.corpus.read_corpus (the same rule training used). Those groups are split by a hash
of their id (leakwatch.validation.inject.split_half) into a calibration half, whose LLM texts (with the
project's LLM web pages' calibration split) are the LLM component (`stats.llm_texts` =
OUT/llm_component.jsonl), and an injection half, whose texts become the pages of Common-Crawl-like
shards at known LLM shares. The pipeline runs; each crawl's estimates are compared with the true
share among the pages it scored; then the scored pages are regrouped into leave-one-generator-out
and drifting crawls for the estimators' bake-off (leakwatch.validation.bakeoff).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch.config import Config
from leakwatch.estimators.base import ESTIMATORS, Binning
from leakwatch.estimators.bootstrap import Settings
from leakwatch.estimators.components import score_texts, untrained_generators
from leakwatch.jobs.pipeline import run_pipeline
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.stats import with_domains
from leakwatch.jobs.warehouse import read_documents, table_path
from leakwatch.schemas.values import ESTIMATOR_COLUMNS, VIEWS, is_pre_chatgpt
from leakwatch.training.corpus import Example, labeled_dir
from leakwatch.validation.bakeoff import BakeoffPages, run_bakeoff, summarise
from leakwatch.validation.inject import Injection, PlannedPage, check_options, prepare_injection, prepare_out
from leakwatch.validation.measure import compare, format_bakeoff, format_table, model_threshold, passed, write_result


def _say(message: str) -> None:
    print(f"validate: {message}", file=sys.stderr, flush=True)


def truth_counts(spark: SparkSession, warehouse: str, plan: Sequence[PlannedPage],
                 known: Sequence[bool] | None = None) -> list[dict]:
    """Per crawl and view, documents and scored documents with how many are LLM pages (and, by `known`, one
    flag per planned page, how many are LLM pages of a generator the model trained on), from the pipeline's
    own tables (documents, clusters, scores) joined to the planned labels by URL."""
    known = known if known is not None else [p.llm for p in plan]
    labels = spark.createDataFrame([(p.crawl, p.url, p.llm, k) for p, k in zip(plan, known, strict=True)],
                                   "crawl string, url string, llm boolean, known boolean")
    docs = read_documents(spark, warehouse).select("doc_id", "crawl", "url")
    clusters = spark.read.parquet(table_path(warehouse, "clusters")).select(
        "doc_id", "crawl", "is_representative", "first_seen_crawl_content")
    scores = spark.read.parquet(table_path(warehouse, "scores")).select("doc_id", "crawl", "scored")
    joined = (docs.join(clusters, ["doc_id", "crawl"]).join(scores, ["doc_id", "crawl"])
              .join(F.broadcast(labels), ["crawl", "url"], "left"))
    unlabeled = joined.where(F.col("llm").isNull()).count()
    if unlabeled:
        raise RuntimeError(f"{unlabeled} documents of {warehouse} match no planned page: the warehouse holds "
                           "pages validate did not write")
    representative = F.col("is_representative")
    views = {
        "captures": F.lit(True),
        "unique": representative,
        "first_seen": representative & (F.col("first_seen_crawl_content") == F.col("crawl")),
    }
    parts: list[DataFrame] = [joined.where(cond).withColumn("view", F.lit(view)) for view, cond in views.items()]
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    llm, scored = F.col("llm").cast("long"), F.col("scored").cast("long")
    rows = union.groupBy("crawl", "view").agg(
        F.count("*").alias("n_docs"), F.sum(llm).alias("n_llm"),
        F.sum(scored).alias("n_scored"), F.sum(llm * scored).alias("n_llm_scored"),
        F.sum(F.col("known").cast("long") * scored).alias("n_known_scored"),
    ).collect()
    return [r.asDict() for r in rows]


def stats_estimates(spark: SparkSession, warehouse: str) -> dict[tuple[str, str], dict]:
    """(crawl, view) -> the estimates of the stats table's crawl/all rows: the default and every estimator's."""
    columns = ["raw_share", "prevalence", "ci_low", "ci_high", "not_measurable",
               *(f"{c}{part}" for c in ESTIMATOR_COLUMNS for part in ("", "_low", "_high"))]
    rows = (spark.read.parquet(table_path(warehouse, "stats"))
            .where("time_slice = 'crawl' AND dimension = 'all'").select("crawl", "view", *columns).collect())
    return {(r["crawl"], r["view"]): r.asDict() for r in rows}


def bakeoff_pages(spark: SparkSession, warehouse: str, plan: Sequence[PlannedPage],
                  pools: dict[bool, list[Example]]) -> BakeoffPages:
    """Every scored page of the injected crawls (captures) with its label, source and generator, its text,
    and its domain bucket as stats made it."""
    labels = spark.createDataFrame(
        [(p.crawl, p.url, p.llm, pools[p.llm][p.text_id].generator, pools[p.llm][p.text_id].source) for p in plan],
        "crawl string, url string, llm boolean, generator string, source string").dropDuplicates(["crawl", "url"])
    docs = read_documents(spark, warehouse).select("doc_id", "crawl", "url", "text", "registered_domain", "host")
    scores = spark.read.parquet(table_path(warehouse, "scores")).where("scored").select(
        "doc_id", "crawl", "p_llm", "n_words")
    joined = with_domains(docs.join(scores, ["doc_id", "crawl"]).join(F.broadcast(labels), ["crawl", "url"]))
    frame = joined.select("crawl", "bucket", "p_llm", "n_words", "llm", "generator", "source", "text").toPandas()
    return BakeoffPages(frame, tuple(sorted(c for c in frame["crawl"].unique() if is_pre_chatgpt(c))))


def _truth(spark: SparkSession, warehouse: str, injection: Injection, crawls: list[tuple[str, float]], model: str):
    """The truth rows of every crawl and view, with the injected share and era, in crawl and view order."""
    untrained = untrained_generators(model)
    known = [p.llm and injection.pools[True][p.text_id].generator not in untrained for p in injection.plan]
    truth = truth_counts(spark, warehouse, injection.plan, known)
    share_of = dict(crawls)
    for t in truth:
        t["injected_share"] = share_of[t["crawl"]]
        t["pre_chatgpt"] = is_pre_chatgpt(t["crawl"])
    order = {view: i for i, view in enumerate(VIEWS)}
    return sorted(truth, key=lambda t: (t["crawl"], order[t["view"]]))


def validate(spark: SparkSession, config: Config, say=_say) -> dict:
    """Run the injection test and the bake-off (see the module doc); returns the result also written to
    OUT/validation.json."""
    options = config.validate
    started = time.monotonic()
    crawls = check_options(options)
    folder = labeled_dir(config.train.labeled)
    model, threshold = model_threshold(config)
    out = Path(options.validation_dir).resolve()
    prepare_out(out)
    injection = prepare_injection(options, crawls, folder, out, model, say)
    config = config.replace({"warehouse": str(out / "warehouse"),
                             "inputs.paths": tuple(str(p) for p in injection.shards),
                             "stats.llm_texts": (str(injection.component_file),)})
    pipeline = run_pipeline(spark, config, command="validate", say=say)
    rows = compare(_truth(spark, config.warehouse, injection, crawls, model), stats_estimates(spark, config.warehouse),
                   options.tolerance)
    say("bake-off: regrouping the scored pages into leave-one-generator-out and drifting crawls")
    settings = Settings(replicates=config.stats.replicates, level=config.stats.level)
    bakeoff = run_bakeoff(bakeoff_pages(spark, config.warehouse, injection.plan, injection.pools),
                          score_texts(injection.component, model), Binning(threshold), settings,
                          options.injection_seed)
    result = {
        "labeled": str(folder),
        "model": model,
        "seed": options.injection_seed,
        "docs_per_crawl": options.docs_per_crawl,
        "human_drift": options.human_drift,
        "tolerance": options.tolerance,
        "rule": "every crawl of the captures view has |estimate - truth_scored| <= tolerance",
        "passed": passed(rows),
        "estimator": config.stats.estimator,
        "llm_component": pipeline.stats.components.llm if pipeline.stats else "",
        "llm_component_file": str(injection.component_file),
        "injection_pool": {"human": len(injection.pools[False]), "llm": len(injection.pools[True])},
        "pages": len(injection.plan),
        "pipeline_seconds": pipeline.seconds,
        "seconds": round(time.monotonic() - started, 1),
        "rows": rows,
        "bakeoff": summarise(bakeoff).to_dict("records"),
        "estimators": sorted(ESTIMATORS),
    }
    bakeoff.to_csv(out / "bakeoff.csv", index=False)
    write_result(out, result)
    return result


def run(config: Config) -> int:
    """CLI entry: 0 when the tolerance rule holds, 1 when it does not."""
    # Bad flags or a missing data folder fail before a JVM starts.
    check_options(config.validate)
    labeled_dir(config.train.labeled)
    result = validate(get_spark(config.spark, "leakwatch-validate"), config)
    print(format_table(result))
    print(format_bakeoff(result))
    out = Path(config.validate.validation_dir)
    print(f"validate: {out / 'validation.json'}, report under {out.resolve() / 'warehouse'}/report")
    return 0 if result["passed"] else 1
