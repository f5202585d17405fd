"""The one config object of a leakwatch run: built from defaults, an optional TOML file, then flags.

Each stage owns a section (a dataclass); `Config` holds them all and is passed down unchanged.
A flag `--max-payload-bytes` of the `ingest` section is stored by argparse as `ingest__max_payload_bytes`
and in TOML as `max_payload_bytes` under `[ingest]`; top-level keys sit outside any section.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import tomllib
import uuid
from dataclasses import dataclass, field
from typing import Any

from leakwatch.errors import ConfigError
from leakwatch.estimators.options import StatsOptions
from leakwatch.inputs import InputOptions
from leakwatch.udfs.classifier import ClassifyOptions
from leakwatch.udfs.ingest import IngestOptions
from leakwatch.udfs.minhash import DedupOptions
from leakwatch.validation.inject import ValidateOptions


@dataclass
class SparkOptions:
    """How the SparkSession is made in local mode (ignored under spark-submit, which decides)."""

    master: str = "local[*]"
    driver_memory: str = "4g"
    shuffle_partitions: int | None = None
    log_level: str = "WARN"


@dataclass
class Config:
    """Everything a leakwatch command needs; one instance per run."""

    warehouse: str = "warehouse"
    run_id: str = ""
    inputs: InputOptions = field(default_factory=InputOptions)
    ingest: IngestOptions = field(default_factory=IngestOptions)
    spark: SparkOptions = field(default_factory=SparkOptions)
    dedup: DedupOptions = field(default_factory=DedupOptions)
    classify: ClassifyOptions = field(default_factory=ClassifyOptions)
    stats: StatsOptions = field(default_factory=StatsOptions)
    validate: ValidateOptions = field(default_factory=ValidateOptions)

    def __post_init__(self) -> None:
        if not self.run_id:
            self.run_id = new_run_id()


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{uuid.uuid4().hex[:8]}"


def _resolve(f: dataclasses.Field) -> Any:
    factory = f.default_factory
    return factory() if factory is not dataclasses.MISSING else None


def _apply(target: Any, values: dict[str, Any], origin: str) -> None:
    known = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{origin}: unknown setting {key!r}; known: {', '.join(sorted(known))}")
        setattr(target, key, value)


def load_toml(path: str) -> dict[str, Any]:
    """Read a TOML config file, with an error that names the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def build_config(args: argparse.Namespace) -> Config:
    """Defaults, then `--config FILE` (TOML), then the flags that were given on the command line."""
    config = Config()
    section_names = {f.name for f in dataclasses.fields(Config) if dataclasses.is_dataclass(_resolve(f))}
    config_file = getattr(args, "config", None)
    file_values = load_toml(config_file) if config_file else {}
    top_level: dict[str, Any] = {}
    for key, value in file_values.items():
        if key in section_names:
            if not isinstance(value, dict):
                raise ConfigError(f"{config_file}: [{key}] must be a table")
            _apply(getattr(config, key), value, f"{config_file} [{key}]")
        else:
            top_level[key] = value
    _apply(config, top_level, str(config_file))

    for dest, value in vars(args).items():
        if value is None or dest in ("config", "func", "command"):
            continue
        section, sep, name = dest.partition("__")
        if sep and section in section_names:
            _apply(getattr(config, section), {name: value}, f"--{name.replace('_', '-')}")
        elif hasattr(config, dest):
            setattr(config, dest, value)
    if os.environ.get("LEAKWATCH_RUN_ID") and not getattr(args, "run_id", None):
        config.run_id = os.environ["LEAKWATCH_RUN_ID"]
    return config
