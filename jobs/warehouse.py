"""Paths and reads of the warehouse tables, shared by every job.

A `documents` row is valid when its (warc_path, run_id) is the latest ingest_log entry for that
input file: ingest_log is written only after the documents of a run are committed, so rows of a
crashed run, or of an earlier partial read of a file that was read again, are never counted.
"""

from __future__ import annotations

import json

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from leakwatch.errors import TableMissing
from leakwatch.schemas.tables import SCHEMA_VERSIONS


def table_path(warehouse: str, table: str) -> str:
    """Where a table lives under the warehouse root."""
    return f"{warehouse.rstrip('/')}/{table}"


def _hadoop_fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def path_exists(spark: SparkSession, path: str) -> bool:
    """True if a file or directory exists at a Hadoop-readable path or URI."""
    fs, hpath = _hadoop_fs(spark, path)
    return bool(fs.exists(hpath))


def delete_path(spark: SparkSession, path: str) -> bool:
    """Delete a file or directory tree at a Hadoop-writable path or URI; False if there was none."""
    fs, hpath = _hadoop_fs(spark, path)
    return bool(fs.exists(hpath) and fs.delete(hpath, True))


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small text file (a marker or JSON manifest) through Hadoop's FileSystem."""
    write_bytes(spark, path, text.encode("utf-8"))


def write_bytes(spark: SparkSession, path: str, data: bytes) -> None:
    """Write a small file (a chart, a report page), replacing any, through Hadoop's FileSystem."""
    fs, hpath = _hadoop_fs(spark, path)
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(data))
    finally:
        out.close()


def read_text(spark: SparkSession, path: str) -> str | None:
    """Read a small text file through Hadoop's FileSystem, or None if it does not exist."""
    fs, hpath = _hadoop_fs(spark, path)
    if not fs.exists(hpath):
        return None
    jvm = spark.sparkContext._jvm
    stream = fs.open(hpath)
    try:
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


class SchemaMismatch(RuntimeError):
    """The warehouse holds a table of another schema version than this code writes."""


def check_schema_versions(spark: SparkSession, warehouse: str, tables: list[str]) -> None:
    """Refuse to append to tables written with another schema version; record ours otherwise."""
    marker = table_path(warehouse, "_schema_versions.json")
    recorded = json.loads(read_text(spark, marker) or "{}")
    for table in tables:
        if table in recorded and recorded[table] != SCHEMA_VERSIONS[table]:
            raise SchemaMismatch(
                f"{warehouse}/{table} was written with schema v{recorded[table]}, this leakwatch "
                f"writes v{SCHEMA_VERSIONS[table]}: use a new warehouse or migrate the table"
            )
        recorded[table] = SCHEMA_VERSIONS[table]
    write_text(spark, marker, json.dumps(recorded, indent=1, sort_keys=True))


def record_schema_version(spark: SparkSession, warehouse: str, table: str) -> None:
    """Record this code's schema version of a table that a job rewrites whole (nothing to refuse)."""
    marker = table_path(warehouse, "_schema_versions.json")
    recorded = json.loads(read_text(spark, marker) or "{}")
    recorded[table] = SCHEMA_VERSIONS[table]
    write_text(spark, marker, json.dumps(recorded, indent=1, sort_keys=True))


def overwrite_crawls(frame: DataFrame, path: str) -> None:
    """Write a table partitioned by crawl, replacing only the crawls the frame holds: re-running a crawl
    replaces its rows and keeps the others'. Dynamic partition overwrite is set on this write, whatever
    the session's own mode (static by default, where an overwrite would drop every other crawl)."""
    frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy("crawl").parquet(path)


def read_ingest_log(spark: SparkSession, warehouse: str) -> DataFrame | None:
    """The ingest_log table, or None if nothing was extracted yet."""
    path = table_path(warehouse, "ingest_log")
    if not path_exists(spark, path):
        return None
    return spark.read.parquet(path)


def latest_ingest_log(spark: SparkSession, warehouse: str) -> DataFrame | None:
    """One ingest_log row per input file: the one of its latest run."""
    log = read_ingest_log(spark, warehouse)
    if log is None:
        return None
    newest_first = Window.partitionBy("path").orderBy(F.col("finished_at").desc(), F.col("run_id").desc())
    return log.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


def file_crawls(log: DataFrame) -> Column:
    """The crawls an ingest_log row's file wrote rows to (a corpus file may span several), and its `crawl`."""
    if "kept_by_crawl" not in log.columns:  # a warehouse of schema v1: every file is one crawl
        return F.array("crawl")
    return F.array_union(F.coalesce(F.map_keys("kept_by_crawl"), F.array().cast("array<string>")), F.array("crawl"))


def read_documents(spark: SparkSession, warehouse: str, crawls: list[str] | None = None) -> DataFrame:
    """Valid documents (see module doc), optionally of some crawls only."""
    docs_path = table_path(warehouse, "documents")
    latest = latest_ingest_log(spark, warehouse)
    if latest is None or not path_exists(spark, docs_path):
        raise TableMissing(f"no documents in {warehouse}: run `leakwatch extract` first")
    docs = spark.read.parquet(docs_path)
    if crawls:
        docs = docs.where(F.col("crawl").isin(crawls))
        latest = latest.where(F.arrays_overlap(file_crawls(latest), F.array(*map(F.lit, crawls))))
    current = latest.select(F.col("path").alias("warc_path"), "run_id")
    return docs.join(F.broadcast(current), ["warc_path", "run_id"], "left_semi")
