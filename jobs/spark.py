"""The one place a SparkSession is made: local mode with sane settings, or whatever spark-submit gave."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from leakwatch.errors import JavaMissingError, SparkStartError, WarehouseError
from leakwatch.settings import at_least, matching, setting

# Rows per Arrow batch into a pandas UDF: classify and dedup set it for their own UDF (sql_conf).
MAX_RECORDS_PER_BATCH = "spark.sql.execution.arrow.maxRecordsPerBatch"
LOG_LEVELS = ("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")  # log4j's, as setLogLevel takes
# Hadoop file systems that live in a jar of their own: scheme -> (artifact, the coordinates to add).
CONNECTORS = {
    "s3a": ("hadoop-aws", "org.apache.hadoop:hadoop-aws:{hadoop}"),
    "gs": ("gcs-connector", "com.google.cloud.bigdataoss:gcs-connector:hadoop3-<version>"),
    **{scheme: ("hadoop-azure", "org.apache.hadoop:hadoop-azure:{hadoop}") for scheme in ("abfs", "abfss", "wasb",
                                                                                          "wasbs")},
}
BUILT_IN_FILESYSTEMS = ("", "file", "hdfs", "viewfs", "har")  # in pyspark's Hadoop client jars
LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
JAVA_HELP = (
    "Install Java 17 or newer, e.g. 'sudo apt-get install openjdk-17-jre-headless' on Debian/Ubuntu "
    "or 'brew install openjdk@17' on macOS, then put it on PATH or set JAVA_HOME."
)


@dataclass(frozen=True)
class SparkOptions:
    """How the SparkSession is made in local mode; under spark-submit, spark-submit decides master and memory."""

    master: str = setting("local[*]", "Spark master", metavar="MASTER", check=matching(
        r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|local-cluster\[[1-9]\d*,[1-9]\d*,[1-9]\d*\]|(spark|k8s|mesos)://.+|yarn",
        "local, local[N] or local[N,RETRIES] with N >= 1, local[*], spark://HOST:PORT, yarn or k8s://URL"))
    driver_memory: str = setting("4g", "memory of the driver JVM", metavar="MEM",
                                 check=matching(r"[1-9]\d*[kmgt]?", "a JVM memory size such as 4g or 512m"))
    shuffle_partitions: int | None = setting(None, "spark.sql.shuffle.partitions", metavar="N",
                                             default_help="Spark's own, 200", check=at_least(1))
    log_level: str = setting("WARN", "Spark log level", metavar="LEVEL",
                             check=matching("|".join(LOG_LEVELS), "one of " + ", ".join(LOG_LEVELS)))


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
    from pyspark.errors import PySparkRuntimeError
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
            # Spark's default log4j profile announces itself in 3 lines, and Hadoop's loader in one more.
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}")
        )
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    # Caching a frame names it by its plan; past 25 columns Spark truncates that name with a WARN. A SQL
    # setting, so it holds under spark-submit too (where the settings above are spark-submit's to make).
    builder = builder.config("spark.sql.debug.maxToStringFields", "200")
    if options.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(options.shuffle_partitions))
    _interrupt_quietly(None)  # a Ctrl-C while the JVM starts is as quiet as one later
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:
        if exc.getCondition() != "JAVA_GATEWAY_EXITED":
            raise
        raise SparkStartError("Spark's JVM exited as it started (the lines above are its own); check "
                              "PYSPARK_SUBMIT_ARGS and spark-defaults.conf (a --packages cannot be fetched offline), "
                              "--driver-memory and JAVA_HOME") from None
    _interrupt_quietly(spark)
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


class _Py4jNoiseAfterInterrupt(logging.Filter):
    """Drops py4j's log records once Ctrl-C was pressed: it logs the interrupted call with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_INTERRUPTED.is_set() and f"{os.sep}py4j{os.sep}" in record.pathname)


_INTERRUPTED = threading.Event()
_QUIET = logging.StreamHandler()
_QUIET.addFilter(_Py4jNoiseAfterInterrupt())


def _cancel_jobs(spark) -> None:
    # The driver may be exiting already, and the JVM with it: then there is nothing left to stop.
    with contextlib.suppress(Exception):
        spark.sparkContext.cancelAllJobs()


def _interrupt_quietly(spark) -> None:
    """Replace pyspark's Ctrl-C handler: it cancels the jobs through the py4j connection the main thread is
    blocked on (re-entrant: py4j then logs tracebacks). Ours cancels them (once there is a session) from a
    thread of its own and raises KeyboardInterrupt in the main thread; a second Ctrl-C ends the process."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread

    def handler(signum, frame):
        if _INTERRUPTED.is_set():
            os._exit(130)
        _INTERRUPTED.set()
        if spark is not None:
            threading.Thread(target=_cancel_jobs, args=(spark,), daemon=True).start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    # py4j logs through the root logger: without a handler there, logging would add a stderr one at
    # the first record (basicConfig). This one prints what that would, minus py4j's noise after Ctrl-C.
    if _QUIET not in logging.getLogger().handlers:
        logging.getLogger().addHandler(_QUIET)


def _pyspark_home() -> Path | None:
    spec = importlib.util.find_spec("pyspark")  # found without importing pyspark (a second of imports)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def hadoop_version() -> str | None:
    """The Hadoop version of pyspark's client jars (hadoop-client-api-X.jar), if it can be told."""
    home = _pyspark_home()
    for jar in sorted((home / "jars").glob("hadoop-client-api-*.jar")) if home else []:
        return jar.name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    return None


def _classpath_mentions(artifact: str) -> bool:
    """True if a jar or package named `artifact` is on the local driver's path: in pyspark's or SPARK_HOME's
    jars, or in spark.jars / spark.jars.packages / extraClassPath of spark-defaults.conf or PYSPARK_SUBMIT_ARGS."""
    homes = [h for h in (_pyspark_home(), Path(os.environ["SPARK_HOME"]) if "SPARK_HOME" in os.environ else None)
             if h]
    if any(list((h / "jars").glob(f"{artifact}-*.jar")) for h in homes):
        return True
    texts = [os.environ.get("PYSPARK_SUBMIT_ARGS", "")]
    conf_dirs = [Path(os.environ["SPARK_CONF_DIR"])] if "SPARK_CONF_DIR" in os.environ else []
    for conf in [*conf_dirs, *(h / "conf" for h in homes)]:
        defaults = conf / "spark-defaults.conf"
        if defaults.is_file():
            texts.append(defaults.read_text("utf-8", errors="replace"))
    return any(artifact in word for text in texts for word in shlex.split(text, comments=True))


def check_filesystem(uri: str, spark=None) -> None:
    """WarehouseError unless Spark can open `uri`'s file system. With a session (spark-submit's), Hadoop is
    asked; without one, the connector's jar is looked for, so a missing one is said before any JVM starts."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in BUILT_IN_FILESYSTEMS:
        return
    hadoop = hadoop_version() or "<the Hadoop version of your Spark>"
    artifact, coordinates = CONNECTORS.get(scheme, (None, None))
    if spark is not None:
        filesystems = spark.sparkContext._jvm.org.apache.hadoop.fs.FileSystem
        try:
            filesystems.getFileSystemClass(scheme, spark.sparkContext._jsc.hadoopConfiguration())
            return
        except Exception as exc:  # noqa: BLE001 - py4j wraps Hadoop's UnsupportedFileSystemException
            found = f"Spark has no file system for {scheme}:// ({str(exc).splitlines()[0][:160]})"
    elif scheme == "s3":
        found = "s3:// is EMR's own file system (EMRFS), which Spark has only on EMR"
    elif artifact is None or _classpath_mentions(artifact):
        return  # a scheme leakwatch knows nothing of, or a connector on the path: Spark will tell
    else:
        found = f"its connector ({artifact}) is not on Spark's classpath"
    if scheme in ("s3", "s3a"):
        package = CONNECTORS["s3a"][1].format(hadoop=hadoop)
        todo = (f"write to s3a:// with Hadoop's S3A connector: under spark-submit, --conf spark.jars.packages={package}"
                f"; in local mode, PYSPARK_SUBMIT_ARGS='--packages {package} pyspark-shell'; or give a local --out")
    elif coordinates:
        todo = f"add it, e.g. --conf spark.jars.packages={coordinates.format(hadoop=hadoop)} under spark-submit"
    else:
        todo = "put its connector on Spark's classpath, or give a local --out"
    raise WarehouseError(f"the warehouse {uri} cannot be written: {found}; {todo}")
