"""`leakwatch classify`: valid documents -> `scores` (P(llm), marker counts, model id), per crawl.

The model file travels to executors with SparkContext.addFile, so the same code runs in local
mode, from an installed wheel and under spark-submit (where the package may be a zip and the
shipped model is not a file an executor can open). Each executor Python process loads it once.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from leakwatch.config import Config
from leakwatch.jobs.results import ClassifyResult, CrawlScores
from leakwatch.jobs.spark import MAX_RECORDS_PER_BATCH, get_spark, sql_conf
from leakwatch.jobs.udf import scores_udf
from leakwatch.jobs.warehouse import check_schema_versions, overwrite_crawls, read_documents, table_path
from leakwatch.schemas.tables import SCORES, SCORES_UDF_COLUMNS
from leakwatch.udfs.classifier import resolve_model
from leakwatch.udfs.markers import lexicons
from leakwatch.udfs.scoring import card_path


def ship_model(spark: SparkSession, model: Path, mid: str) -> str:
    """Add the model and its card (a v2 model's calibration) to the job's files under names unique to their
    content; return the model's name (the card lands beside it on every executor)."""
    # Spark refuses one file name from two paths, so the copy's path depends only on the content.
    name = f"leakwatch-model-{mid.split(':')[-1]}.ftz"
    staged = Path(tempfile.gettempdir()) / "leakwatch-models" / name
    pairs = [(model, staged)]
    if card_path(model).is_file():
        pairs.append((card_path(model), card_path(staged)))
    for source, target in pairs:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        spark.sparkContext.addFile(str(target))
    return name


def score_documents(docs: DataFrame, model_file: str, mid: str, run_id: str) -> DataFrame:
    """Rows of the scores table for a documents DataFrame (doc_id, crawl, language, n_words, text)."""
    s = scores_udf(model_file)("text", "language", "n_words").alias("s")
    extra = {
        "model_id": F.lit(mid),
        "lexicon_version": F.lit(lexicons().version),
        "run_id": F.lit(run_id),
    }
    frame = docs.select("doc_id", "crawl", "n_words", s)
    columns = []
    for f in SCORES.fields:
        col = extra.get(f.name, F.col(f"s.{f.name}") if f.name in SCORES_UDF_COLUMNS else F.col(f.name))
        columns.append(col.cast(f.dataType).alias(f.name))
    return frame.select(columns)


def classify(spark: SparkSession, config: Config, crawls: Sequence[str] = ()) -> ClassifyResult:
    """Score the valid documents of the warehouse (of `crawls` only, if given) and (over)write their crawls'
    scores partitions."""
    options = config.classify
    model, mid = resolve_model(options.model)
    lexicons()  # a broken lexicon file fails here, before any task is shipped
    docs = read_documents(spark, config.warehouse, list(crawls) or None)
    check_schema_versions(spark, config.warehouse, ["scores"])
    out = table_path(config.warehouse, "scores")
    rows = score_documents(docs, ship_model(spark, model, mid), mid, config.run_id)
    # Rows per Arrow batch into the UDF, for this write alone; then only these crawls' partitions are replaced.
    with sql_conf(spark, MAX_RECORDS_PER_BATCH, str(options.batch_rows)):
        overwrite_crawls(rows, out)
    written = spark.read.parquet(out).where(F.col("run_id") == config.run_id)
    summary = written.groupBy("crawl").agg(
        F.count("*").alias("documents"), F.sum(F.col("scored").cast("long")).alias("scored")
    )
    crawls_done = {r["crawl"]: CrawlScores(r["documents"], r["scored"]) for r in summary.collect()}
    return ClassifyResult(scores=out, model=str(model), model_id=mid, crawls=crawls_done)


def run(config: Config) -> int:
    """Run the classify job and print its summary as JSON."""
    summary = classify(get_spark(config.spark), config, config.only_crawl)
    print(json.dumps(dataclasses.asdict(summary), indent=1, sort_keys=True))
    return 0
