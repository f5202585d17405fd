"""The run manifest, `WAREHOUSE/runs/<run_id>.json`, one per run of `run`, `demo`, `validate` and
`monthly`, in one format: the command, the config, the fingerprints of the settings that shape the
rows (MinHash settings, model id), the versions of the code, what each stage did and how long it
took, the failed files and the status. It is written when the run starts (`running`: a killed run
leaves it so) and again as the run goes on, and ends `ok`, `failed` or `error`.

What a stage did goes into a record (`record_stage`): the manifest itself for a single pass, and one
record per crawl under `crawls` for monthly, with the stats and report of the series at the top.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import sys
from typing import Any

from pyspark.sql import SparkSession

from leakwatch import __version__, code_version
from leakwatch.config import Config
from leakwatch.jobs.warehouse import table_path, write_text
from leakwatch.udfs.classifier import resolve_model
from leakwatch.udfs.ingest import EXTRACTOR_VERSION
from leakwatch.udfs.minhash import fingerprint


def now() -> str:
    """UTC now, to the second, as the manifest writes times."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions(spark: SparkSession) -> dict[str, str]:
    """Versions of the code that wrote the run."""
    import pyspark

    return {
        "leakwatch": __version__,
        "code": code_version(),
        "extractor": EXTRACTOR_VERSION,
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
        "spark": spark.version,
    }


def record_stage(record: dict[str, Any], stage: str, result: Any, seconds: float) -> None:
    """Put what a stage did and its seconds into a record of the manifest."""
    record.setdefault("seconds", {})[stage] = seconds
    if stage == "extract":
        record["reconciliation"] = result.reconciliation()
        record["failed_files"] = [list(f) for f in result.failed_files]
        record["partial_files"] = [list(f) for f in result.partial_files]
    elif stage == "dedup":
        record["dedup"] = [dataclasses.asdict(s) for s in result]
    else:
        record[stage] = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


class RunManifest:
    """`WAREHOUSE/runs/<run_id>.json` of one run (see the module doc)."""

    def __init__(self, spark: SparkSession, config: Config, command: str, **extra: Any) -> None:
        self.spark = spark
        self.path = f"{table_path(config.warehouse, 'runs')}/{config.run_id}.json"
        self.data: dict[str, Any] = {
            "run_id": config.run_id,
            "command": command,
            "started_at": now(),
            "status": "running",
            **extra,
            "config": dataclasses.asdict(config),
            "fingerprints": {"dedup": fingerprint(config.dedup), "model_id": resolve_model(config.classify.model)[1]},
            "versions": versions(spark),
        }

    def save(self) -> None:
        """Write the manifest as it stands."""
        write_text(self.spark, self.path, json.dumps(self.data, indent=1, sort_keys=True, default=str))

    def record_error(self, error: BaseException) -> None:
        """Record a run that `error` ended, as far as possible: Ctrl-C reaches the JVM too, which may be gone
        before the manifest is written, and then the run's own error is what the user must see."""
        try:
            self.finish("error", error)
        except Exception as exc:
            if not isinstance(error, KeyboardInterrupt):
                print(f"manifest: {self.path} could not record the error ({type(exc).__name__})", file=sys.stderr)

    def finish(self, status: str, error: BaseException | None = None) -> None:
        """Record how the run ended, and write the manifest."""
        self.data["status"] = status
        if error is not None:
            self.data["error"] = f"{type(error).__name__}: {error}"
        self.data["finished_at"] = now()
        self.save()
