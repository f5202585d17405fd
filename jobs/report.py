"""`leakwatch report`: the warehouse's `stats`, `ingest_log` and top-scored pages -> a static HTML page.

Writes `WAREHOUSE/report/`: `index.html`, PNG charts (matplotlib, no display needed), and copies of
the stats table as `stats.csv` and `stats.json`. Everything that came from a crawl (URLs, text,
domains, language and TLD values, file paths, error messages, corpus names) is HTML-escaped, and only http(s)
URLs become links: the page is safe to open whatever the crawl held. This module reads the data
(Spark) and writes the files; leakwatch.report renders them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from leakwatch.config import Config
from leakwatch.errors import ConfigError, TableMissing
from leakwatch.jobs.spark import get_spark
from leakwatch.jobs.warehouse import (
    latest_ingest_log,
    path_exists,
    read_documents,
    read_text,
    table_path,
    write_bytes,
)
from leakwatch.report.charts import crawl_order
from leakwatch.report.format import SNIPPET_CHARS
from leakwatch.report.origins import Origins
from leakwatch.report.page import Health, render
from leakwatch.schemas.tables import STATS
from leakwatch.schemas.values import FILE_STATUSES, SYNTHETIC_TRUTH

EXAMPLES = 10
PROBLEM_FILES = 50  # failed / partial files listed with their errors


class StatsMissing(TableMissing):
    """The warehouse has no `stats` table yet."""


def load_stats(spark: SparkSession, warehouse: str) -> pd.DataFrame:
    """The stats table as pandas, sorted for stable output; StatsMissing when it was never written."""
    path = table_path(warehouse, "stats")
    if not path_exists(spark, path):
        raise StatsMissing(f"no stats table at {path}: run `leakwatch stats --out {warehouse}` first")
    frame = spark.read.parquet(path).toPandas()
    missing = [name for name in STATS.fieldNames() if name not in frame.columns]
    if missing:
        raise ConfigError(f"{path} lacks the columns {', '.join(missing)}: it was written by another leakwatch "
                          f"version; run `leakwatch stats --out {warehouse}` again")
    extra = [c for c in frame.columns if c not in STATS.fieldNames()]
    order = ["time_slice", "view", "dimension", "value", "crawl", "period"]
    return frame[STATS.fieldNames() + extra].sort_values(order, kind="stable").reset_index(drop=True)


def load_health(spark: SparkSession, warehouse: str) -> Health | None:
    """Files by status, records, kept and skips per crawl, and the failed/partial files; None without a log."""
    log = latest_ingest_log(spark, warehouse)
    if log is None:
        return None
    # One row per input file (~100,000 for a whole crawl): read once and summed here. Three Spark
    # aggregations over the ranked log took 10-16 s even for one file (200 shuffle partitions each).
    columns = ["crawl", "path", "status", "error_class", "error_message", "records", "kept", "skipped"]
    files = log.select(*columns).toPandas()
    per_crawl = files.groupby("crawl", sort=True).agg(files=("path", "size"), records=("records", "sum"),
                                                       kept=("kept", "sum"))
    for status in FILE_STATUSES:
        per_crawl[status] = (files["status"] == status).groupby(files["crawl"]).sum().astype("int64")
    per_crawl = per_crawl.reset_index()[["crawl", "files", *FILE_STATUSES, "records", "kept"]]
    skips = pd.DataFrame([(crawl, reason, n) for crawl, skipped in zip(files["crawl"], files["skipped"], strict=True)
                          for reason, n in dict(skipped or {}).items()], columns=["crawl", "reason", "n"])
    if not skips.empty:
        wide = skips.pivot_table(index="crawl", columns="reason", values="n", aggfunc="sum").fillna(0).astype("int64")
        wide.columns = [f"skipped: {c}" for c in wide.columns]
        per_crawl = per_crawl.merge(wide, left_on="crawl", right_index=True, how="left")
        per_crawl[list(wide.columns)] = per_crawl[list(wide.columns)].fillna(0).astype("int64")
    problems = (files[files["status"] != "ok"].drop(columns="skipped")
                .sort_values(["status", "crawl", "path"], kind="stable").head(PROBLEM_FILES).reset_index(drop=True))
    n_problems = int(per_crawl["partial"].sum() + per_crawl["failed"].sum())
    return Health(per_crawl.sort_values("crawl").reset_index(drop=True), problems, n_problems)


def load_examples(spark: SparkSession, warehouse: str, crawl: str, n: int = EXAMPLES) -> pd.DataFrame:
    """The `n` highest-p_llm scored valid pages of a crawl (url, domain, language, p_llm, text head)."""
    scores_path = table_path(warehouse, "scores")
    if not path_exists(spark, scores_path):
        return pd.DataFrame()
    try:
        docs = read_documents(spark, warehouse, [crawl])
    except FileNotFoundError:
        return pd.DataFrame()
    scores = (spark.read.parquet(scores_path)
              .where((F.col("crawl") == crawl) & F.col("scored") & F.col("p_llm").isNotNull())
              .select("doc_id", "p_llm"))
    # The snippet needs ~300 characters; cutting in Spark keeps whole page texts off the driver.
    head = F.substring("text", 1, SNIPPET_CHARS * 2).alias("text")
    pages = docs.select("doc_id", "url", "registered_domain", "language", "n_words", head)
    return (pages.join(scores, "doc_id").orderBy(F.col("p_llm").desc(), "doc_id").limit(n).toPandas())


def load_origins(spark: SparkSession, warehouse: str) -> Origins | None:
    """Valid documents per crawl and origin (null before origin was recorded); None without documents."""
    try:
        docs = read_documents(spark, warehouse)
    except TableMissing:
        return None
    origin = F.col("origin") if "origin" in docs.columns else F.lit(None).cast("string")
    rows = docs.groupBy("crawl", origin.alias("origin")).count().collect()
    return Origins.of([(r["crawl"], r["origin"], r["count"]) for r in rows])


def _local_dir(uri: str) -> Path | None:
    """A plain filesystem path for warehouses given as one; None for URIs (s3a://, file://, hdfs://)."""
    return None if urlparse(uri).scheme else Path(uri)


def run_report(spark: SparkSession, config: Config) -> str:
    """Render the report of `config.warehouse` into its `report/` folder; returns the path of index.html."""
    warehouse = config.warehouse
    stats = load_stats(spark, warehouse)
    crawls = crawl_order(stats)
    latest = crawls["crawl"].iloc[-1] if len(crawls) else None
    examples = load_examples(spark, warehouse, latest) if latest else pd.DataFrame()
    generated_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    synthetic = read_text(spark, table_path(warehouse, SYNTHETIC_TRUTH))
    files = render(stats, load_health(spark, warehouse), examples, config, generated_at,
                   json.loads(synthetic) if synthetic else None, load_origins(spark, warehouse))
    out = table_path(warehouse, "report")
    local = _local_dir(out)
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)
        for stale in local.glob("*.png"):  # a chart with no data this time must not linger from the last run
            stale.unlink()
        for name, data in files.items():
            (local / name).write_bytes(data)
        return str(local / "index.html")
    # Every file is rendered in memory before the first is written: a chart that fails leaves the
    # folder as it was. Hadoop's FileSystem then writes to whatever the warehouse URI names.
    for name, data in files.items():
        write_bytes(spark, f"{out}/{name}", data)
    return f"{out}/index.html"


def run(config: Config) -> int:
    """Write the report and print the path of its index.html."""
    print(run_report(get_spark(config.spark), config))
    return 0
