"""`leakwatch extract`: input WARC/WET/ARC files, or a derived corpus's parquet/JSONL files ->
`documents` + `ingest_log`, one file per task."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
from pyspark.accumulators import AccumulatorParam
from pyspark.sql.pandas.types import to_arrow_schema

from leakwatch.config import Config
from leakwatch.crawls import load_crawls
from leakwatch.inputs import InputFile, resolve_inputs
from leakwatch.jobs.progress import stage_progress
from leakwatch.jobs.results import ExtractResult
from leakwatch.jobs.spark import get_spark, sql_conf
from leakwatch.jobs.warehouse import check_schema_versions, latest_ingest_log, path_exists, table_path
from leakwatch.schemas.tables import DOCUMENTS, INGEST_LOG
from leakwatch.udfs.corpora import CORPUS_FORMATS, CorpusOptions, CrawlCalendar, corpus_format_of
from leakwatch.udfs.corpus_ingest import CorpusIngest
from leakwatch.udfs.ingest import FileIngest, IngestOptions

# Above 0, a task keeps parquet writers open per crawl instead of sorting its rows by crawl first:
# that sort held every row of a file in memory (spilling for big files) and wrote nothing until the
# whole file was read. An archive belongs to one crawl, so one writer per task is all it needs; a
# corpus file whose rows span crawls falls back to Spark's sort for the rows past the first crawl's.
CONCURRENT_WRITERS = ("spark.sql.maxConcurrentOutputFileWriters", "1")


class _RowList(AccumulatorParam):
    """Collects ingest_log rows from tasks; Spark applies a successful task's update once."""

    def zero(self, value):
        return []

    def addInPlace(self, a, b):
        a.extend(b)
        return a


@dataclass(frozen=True)
class _Readers:
    """What a task needs to pick and set up the reader of each of its files."""

    run_id: str
    options: IngestOptions
    corpus: CorpusOptions
    file_format: str  # inputs.format: parquet or jsonl name every file's format; else by suffix
    forced_crawl: str | None  # --crawl given with the inputs: every corpus row's crawl
    calendar: CrawlCalendar  # the driver's crawl list, so tasks date rows alike

    def reader(self, item: InputFile) -> FileIngest | CorpusIngest:
        """The archive or corpus reader of one input file."""
        fmt = self.file_format if self.file_format in CORPUS_FORMATS else corpus_format_of(item.uri)
        if fmt is None:
            return FileIngest(item.uri, item.crawl, self.run_id, self.options)
        return CorpusIngest(item.uri, self.forced_crawl, self.run_id, self.options, self.corpus.mapping(),
                            self.corpus.origin(fmt), fmt, self.calendar)


def _ingest_partition(files, readers: _Readers, log_rows):
    names = DOCUMENTS.fieldNames()
    run_id = readers.run_id
    for item in files:
        ingest = readers.reader(item)
        for doc in ingest.documents():
            yield tuple(doc[name] for name in names)
        row = ingest.report.as_row(run_id)
        log_rows.add([tuple(row[name] for name in INGEST_LOG.fieldNames())])


def _crawl_files(spark, table: str, crawls: Iterable[str]) -> set[str]:
    """The parquet files of a table's partitions for these crawls (those that exist), as Spark lists them."""
    dirs = [f"{table}/crawl={crawl}" for crawl in sorted(set(crawls))]
    dirs = [d for d in dirs if path_exists(spark, d)]
    if not dirs:
        return set()
    # A given schema: listing only, no footer is read. Names come back in one py4j call, not one per file.
    jdf = spark.read.schema(DOCUMENTS).option("basePath", table).parquet(*dirs)._jdf
    names = spark.sparkContext._jvm.org.apache.hadoop.util.StringUtils.join("\n", jdf.inputFiles())
    return set(names.split("\n")) if names else set()


def rows_of_run(spark, files: Iterable[str], run_id: str) -> int:
    """Rows stored in these parquet files whose run_id column holds only `run_id`, from the files' footers."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    # Looked up once: py4j resolves a dotted class name with one round trip per segment.
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    input_file = jvm.org.apache.parquet.hadoop.util.HadoopInputFile
    file_reader = jvm.org.apache.parquet.hadoop.ParquetFileReader
    rows = 0
    for name in files:
        reader = file_reader.open(input_file.fromPath(hadoop_path(name), conf))
        try:
            footer = reader.getFooter()
            # documents has flat columns only, so a column's field index is its column-chunk index.
            column = footer.getFileMetaData().getSchema().getFieldIndex("run_id")
            for block in footer.getBlocks():
                stats = block.getColumns().get(column).getStatistics()
                # min == max == run_id: every row of the row group is this run's. A row group of another
                # run (a concurrent writer's file) or without statistics is not counted.
                if stats.hasNonNullValue() and (
                    stats.genericGetMin().toStringUsingUTF8() == run_id == stats.genericGetMax().toStringUsingUTF8()
                ):
                    rows += block.getRowCount()
        finally:
            reader.close()
    return rows


def _write_ingest_log(spark, warehouse: str, rows: list[dict]) -> None:
    """Append the run's ingest_log rows, one file per crawl."""
    # From an Arrow table: the JVM takes columns, not pickled rows to convert one by one (~0.08 s less).
    table = pa.Table.from_pylist(rows, schema=to_arrow_schema(INGEST_LOG, timezone="UTC"))
    spark.createDataFrame(table, INGEST_LOG).coalesce(1).write.mode("append").partitionBy("crawl").parquet(
        table_path(warehouse, "ingest_log")
    )


def summarize(rows: list[dict]) -> dict:
    """Totals over ingest_log rows: files by status, records, kept, skipped by reason."""
    status: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for row in rows:
        status[row["status"]] = status.get(row["status"], 0) + 1
        for reason, n in row["skipped"].items():
            skipped[reason] = skipped.get(reason, 0) + n
    return {
        "files": len(rows),
        "status": status,
        "records": sum(r["records"] for r in rows),
        "kept": sum(r["kept"] for r in rows),
        "skipped": dict(sorted(skipped.items(), key=lambda kv: -kv[1])),
        "bytes_read": sum(r["bytes_read"] for r in rows),
    }


def _resumable(spark, config: Config, files: list[InputFile]) -> tuple[list[InputFile], int]:
    """The files still to read, and how many --resume skips (its latest ingest_log row is ok)."""
    latest = latest_ingest_log(spark, config.warehouse) if config.inputs.resume else None
    if latest is None:
        return files, 0
    done = {r.path for r in latest.where("status = 'ok'").select("path").collect()}
    return [f for f in files if f.uri not in done], sum(f.uri in done for f in files)


def _ingest(spark, config: Config, files: list[InputFile], docs_path: str) -> list[dict]:
    """Read the files into documents (one file per task, appended); their ingest_log rows."""
    sc = spark.sparkContext
    log_rows = sc.accumulator([], _RowList())
    explicit = config.inputs.paths or config.inputs.manifest
    readers = _Readers(config.run_id, config.ingest, config.corpus, config.inputs.format,
                       config.inputs.crawl[0] if explicit and config.inputs.crawl else None,
                       CrawlCalendar(load_crawls()))
    rdd = sc.parallelize(files, len(files)).mapPartitions(lambda part: _ingest_partition(part, readers, log_rows))
    # Rows are tuples in DOCUMENTS' own field order (_ingest_partition): a per-row type check buys nothing.
    docs = spark.createDataFrame(rdd, DOCUMENTS, verifySchema=False)
    with stage_progress(spark, "extract"), sql_conf(spark, *CONCURRENT_WRITERS):
        docs.write.mode("append").partitionBy("crawl").parquet(docs_path)
    # A task re-run after a lost executor reports again: keep one row per input file.
    by_path = {row[0]: row for row in log_rows.value}
    missing = {f.uri for f in files} - set(by_path)
    if missing:
        raise RuntimeError(f"extract: no ingest_log row for {len(missing)} files, e.g. {sorted(missing)[:3]}")
    return [dict(zip(INGEST_LOG.fieldNames(), row, strict=True)) for row in by_path.values()]


def _problems(rows: list[dict], status: str) -> tuple:
    return tuple(sorted((r["path"], r["error_class"], r["error_message"]) for r in rows if r["status"] == status))


def run_extract(config: Config, spark=None) -> ExtractResult:
    """Run the extract stage; returns what it read and wrote. Raises on bad inputs."""
    files = resolve_inputs(config)
    spark = spark or get_spark(config.spark, "leakwatch-extract")
    warehouse = config.warehouse
    files, skipped_done = _resumable(spark, config, files)
    print(
        f"extract: run {config.run_id}: {len(files)} input files"
        + (f" ({skipped_done} already done, skipped by --resume)" if skipped_done else ""),
        file=sys.stderr,
    )
    if not files:
        return ExtractResult(run_id=config.run_id, resumed_skip=skipped_done)
    check_schema_versions(spark, warehouse, ["documents", "ingest_log"])
    docs_path = table_path(warehouse, "documents")
    # The files already there, so the reconciliation reads the footers of this run's files only.
    before = _crawl_files(spark, docs_path, (f.crawl for f in files if f.crawl))
    rows = _ingest(spark, config, files, docs_path)
    # The ingest_log write (a Spark job) and the reconciliation (footers read on the driver) need
    # nothing of each other, so they run at once.
    with ThreadPoolExecutor(max_workers=1) as pool:
        logged = pool.submit(_write_ingest_log, spark, warehouse, rows)
        # What the committed files hold, not what the tasks yielded. A crawl this run wrote but did not
        # expect (told by a warcinfo record, or a corpus row's dump or date) has all its files read;
        # rows_of_run counts only this run's.
        written = _crawl_files(spark, docs_path, (c for r in rows for c in r["kept_by_crawl"])) - before
        rows_written = rows_of_run(spark, written, config.run_id)
        logged.result()
    return ExtractResult(run_id=config.run_id, resumed_skip=skipped_done, **summarize(rows),
                         rows_written=rows_written, failed_files=_problems(rows, "failed"),
                         partial_files=_problems(rows, "partial"))


def run(config: Config) -> int:
    """CLI entry of `leakwatch extract`."""
    result = run_extract(config)
    result.print()
    return result.exit_status(config.inputs.max_failed_share)
