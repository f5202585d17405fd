"""Checks a command's config on the driver before the SparkSession starts, so a mistake costs a second
and one line, not a JVM start and a trace. Each check raises the UserError a user can act on.

The flags and TOML values were checked when the config was built (leakwatch.settings); here come the
things around them, cheapest first: Java, the warehouse (not `/`, not a file, writable; its file
system's connector for s3a:// and the like; the tables a command goes on from; a held lock), the
inputs (paths, globs, URI schemes, crawl ids against the crawl list, manifests), the model and the
LLM component's texts. Under spark-submit the JVM exists already, and Hadoop itself is asked about the warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from leakwatch.errors import ConfigError, TableMissing, WarehouseError

if TYPE_CHECKING:
    from leakwatch.commands import Command
    from leakwatch.config import Config

# Folders commands write besides the warehouse, by setting: checked as the warehouse is, minus the probe.
FOLDERS = ("demo.samples", "validate.validation_dir", "train.model_dir")


def check(command: Command, config: Config) -> None:
    """Every check that applies to `command` (by the settings it takes), in order of cost."""
    from leakwatch.jobs.spark import check_java, under_spark_submit

    if command.takes("dedup"):
        from leakwatch.udfs.minhash import validate_options

        validate_options(config.dedup)
    if command.takes("spark") and not under_spark_submit():
        check_java()
    if command.takes("warehouse"):
        check_warehouse(config.warehouse, command)
    check_folders(command, config)
    if command.name == "monthly":
        check_monthly(config)
    if command.takes("inputs") and command.name != "monthly":
        from leakwatch.inputs import resolve_inputs

        # Also reads remote manifests, which extract reads again: a second of network for a clear error first.
        resolve_inputs(config)
    if command.takes("classify") or command.takes("classify.model"):
        from leakwatch.udfs.classifier import resolve_model

        resolve_model(config.classify.model)
    if command.takes("stats.llm_texts"):
        check_components(config)


def local_path(uri: str) -> Path | None:
    """The local path of a warehouse URI (a plain path or file://), or None for any other scheme."""
    if uri.startswith("file://"):
        return Path(uri[len("file://"):])
    return None if "://" in uri else Path(uri)


def check_warehouse(uri: str, command: Command) -> None:
    """A warehouse the command can write: see the module doc."""
    from leakwatch.jobs.spark import check_filesystem, get_spark, under_spark_submit

    if not uri.strip():
        raise WarehouseError("--out is empty: give the warehouse, a directory or a URI such as s3a://bucket/path")
    path = local_path(uri)
    if path is None:
        check_filesystem(uri, get_spark() if under_spark_submit() else None)
        return
    if path.resolve() == Path(path.resolve().anchor):
        raise WarehouseError(f"--out {uri}: the root directory cannot be a warehouse; give a directory of its own")
    if (problem := _not_a_folder(path)) is not None:
        raise WarehouseError(f"--out {uri}: {problem}")
    if command.needs:
        _check_tables(uri, path, command)
    _check_writable(uri, path)


def _not_a_folder(path: Path) -> str | None:
    """Why `path` cannot be (or become) a folder: it is a file, or lies under one; None if it can."""
    if path.exists() and not path.is_dir():
        return "is a file; give a directory"
    ancestor = path.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    return None if ancestor.is_dir() else f"{ancestor} is a file, so no directory can be made under it"


def check_folders(command: Command, config: Config) -> None:
    """The folders a command writes besides the warehouse (FOLDERS) can be made: not files, not under one."""
    from leakwatch.config import table

    for key in FOLDERS:
        if command.takes(key):
            section, name = key.split(".")
            value = getattr(getattr(config, section), name)
            problem = _not_a_folder(Path(value)) if value and "://" not in value else None
            if problem is not None:
                raise ConfigError(f"{table()[key].flags[0]} {value}: {problem}")


def _check_tables(uri: str, path: Path, command: Command) -> None:
    """TableMissing (with the command that writes the table) unless the tables the command needs exist."""
    writers = {"documents": "leakwatch run INPUT ...", "clusters": "leakwatch dedup", "scores": "leakwatch classify",
               "stats": "leakwatch stats"}
    if not path.is_dir():
        raise TableMissing(f"no warehouse at {uri}: run `leakwatch run INPUT ... --out {uri}` first (or check --out)")
    for table in command.needs:
        if not (path / table).is_dir():
            raise TableMissing(f"{uri} has no {table} table: run `{writers.get(table, 'leakwatch run')} --out {uri}` "
                               "first (or check --out)")


def _check_writable(uri: str, path: Path) -> None:
    """Create the warehouse directory if need be and write a file in it, as Spark will."""
    probe = path / f".leakwatch-write-check-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(probe) else ""
        raise WarehouseError(f"cannot write the warehouse {uri}: {exc.strerror}{where}; pass --out a directory "
                             "you can write") from exc


def check_monthly(config: Config) -> None:
    """--since in the crawl list, and no live run holding a local warehouse's lock."""
    from leakwatch.crawls import check_crawl, load_crawls, pending_crawls

    if config.monthly.since is not None:
        check_crawl(config.monthly.since, "--since")
        pending_crawls(load_crawls(), {}, config.monthly.since)  # an early crawl without weekly manifests
    path = local_path(config.warehouse)
    if path is not None:
        from leakwatch.jobs.lock import check_local_lock

        check_local_lock(str(path), config.monthly.lock_stale_hours)


def check_components(config: Config) -> None:
    """The LLM component's --llm-texts files must read as JSONL texts, and --stats-labeled must be a folder
    of labelled *.jsonl (the model scores them after Spark starts)."""
    options = config.stats
    if options.llm_texts:
        from leakwatch.estimators.components import read_llm_texts

        read_llm_texts(options.llm_texts)
    folder = local_path(options.labeled) if options.labeled else None
    if folder is not None and (not folder.is_dir() or not any(folder.glob("*.jsonl"))):
        from leakwatch.errors import StatsError

        raise StatsError(f"--stats-labeled {options.labeled}: not a folder of labelled *.jsonl")
