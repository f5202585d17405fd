"""The one place a SparkSession is made: local mode with sane settings, or whatever spark-submit gave."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from leakwatch.errors import JavaMissingError
from leakwatch.settings import setting

# Rows per Arrow batch into a pandas UDF: classify and dedup set it for their own UDF (sql_conf).
MAX_RECORDS_PER_BATCH = "spark.sql.execution.arrow.maxRecordsPerBatch"
JAVA_HELP = (
    "Install Java 17 or newer, e.g. 'sudo apt-get install openjdk-17-jre-headless' on Debian/Ubuntu "
    "or 'brew install openjdk@17' on macOS, then put it on PATH or set JAVA_HOME."
)


@dataclass(frozen=True)
class SparkOptions:
    """How the SparkSession is made in local mode; under spark-submit, spark-submit decides master and memory."""

    master: str = setting("local[*]", "Spark master", metavar="MASTER")
    driver_memory: str = setting("4g", "memory of the driver JVM", metavar="MEM")
    shuffle_partitions: int | None = setting(None, "spark.sql.shuffle.partitions", metavar="N",
                                             default_help="Spark's own, 200")
    log_level: str = setting("WARN", "Spark log level", metavar="LEVEL")


def java_major_version() -> int:
    """The major version of the `java` Spark will use (JAVA_HOME first, then PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={java_home} has no bin/java" if java_home else "no java was found on PATH"
        raise JavaMissingError(f"Spark needs Java 17+, and {where}. {JAVA_HELP}")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise JavaMissingError(f"could not read the version of {java}: {out.strip()!r}. {JAVA_HELP}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def check_java() -> None:
    """Fail with an actionable message unless Java 17+ is available."""
    major = java_major_version()
    if major < 17:
        raise JavaMissingError(f"Spark needs Java 17+, found Java {major}. {JAVA_HELP}")


def under_spark_submit() -> bool:
    """True when spark-submit started this process (it then owns master and resources)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(options: SparkOptions | None = None, app_name: str = "leakwatch"):
    """Return the active SparkSession, or build a local one configured for leakwatch."""
    from pyspark.sql import SparkSession

    options = options or SparkOptions()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    if not under_spark_submit():
        check_java()
        # Workers must run this interpreter, or they import another environment's packages.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        # Local mode talks to itself only: bind to loopback, whatever the hostname resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.master(options.master)
            .config("spark.driver.memory", options.driver_memory)
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.python.worker.reuse", "true")
        )
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    if options.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(options.shuffle_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(options.log_level)
    if options.log_level.upper() == "WARN":
        # Dedup's plans (iterated joins over checkpoints) make Spark warn "Broadcasting large task
        # binary" dozens of times a crawl: expected here, and it buries the job's own output.
        jvm = spark.sparkContext._jvm
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
            "org.apache.spark.scheduler.DAGScheduler", jvm.org.apache.logging.log4j.Level.ERROR
        )
    return spark


@contextmanager
def sql_conf(spark, key: str, value: str) -> Iterator[None]:
    """Set a SQL setting of the (possibly shared) session for the block, then restore it (unset if it was)."""
    previous = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, previous)
