"""The one settings table of leakwatch and the config a command runs with.

`Config` holds every setting: a few at the top level, the rest in sections, each declared beside the
stage it configures (leakwatch.settings says how). A command's config is built from the declared
defaults, then the command's own defaults (leakwatch.commands), then an optional TOML file, then the
flags given, and is frozen: code that needs other values derives a copy with `Config.replace`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakwatch.crawls import CrawlsOptions, MonthlyOptions
from leakwatch.errors import ConfigError
from leakwatch.estimators.options import StatsOptions
from leakwatch.inputs import InputOptions
from leakwatch.jobs.spark import SparkOptions
from leakwatch.score import ScoreOptions
from leakwatch.settings import Setting, declared, load_toml, setting
from leakwatch.training.train import TrainOptions
from leakwatch.udfs.classifier import ClassifyOptions
from leakwatch.udfs.corpora import CorpusOptions
from leakwatch.udfs.ingest import IngestOptions
from leakwatch.udfs.minhash import DedupOptions
from leakwatch.validation.inject import ValidateOptions
from leakwatch.validation.samples import DemoOptions


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Config:
    """Everything a leakwatch command needs; one instance per run, never changed once built."""

    warehouse: str = setting("warehouse", "warehouse root: a path or URI (s3a://...)", flags=("--out", "--warehouse"),
                             metavar="WAREHOUSE", default_help="./warehouse, under the current directory")
    run_id: str = setting("", "id of this run, on every row it writes", metavar="ID",
                          default_help="UTC time and a random suffix, or $LEAKWATCH_RUN_ID")
    only_crawl: tuple[str, ...] = setting((), "work on this crawl of the warehouse only (repeatable)", metavar="ID",
                                          default_help="every crawl in the warehouse")
    rebuild: bool = setting(False, "delete lsh_index, clusters and url_history and deduplicate every crawl again "
                                   "(after a change of dedup settings)")
    spark: SparkOptions = field(default_factory=SparkOptions)
    inputs: InputOptions = field(default_factory=InputOptions)
    ingest: IngestOptions = field(default_factory=IngestOptions)
    corpus: CorpusOptions = field(default_factory=CorpusOptions)
    dedup: DedupOptions = field(default_factory=DedupOptions)
    classify: ClassifyOptions = field(default_factory=ClassifyOptions)
    stats: StatsOptions = field(default_factory=StatsOptions)
    monthly: MonthlyOptions = field(default_factory=MonthlyOptions)
    demo: DemoOptions = field(default_factory=DemoOptions)
    validate: ValidateOptions = field(default_factory=ValidateOptions)
    train: TrainOptions = field(default_factory=TrainOptions)
    score: ScoreOptions = field(default_factory=ScoreOptions)
    crawls: CrawlsOptions = field(default_factory=CrawlsOptions)

    def __post_init__(self) -> None:
        if not self.run_id:
            object.__setattr__(self, "run_id", new_run_id())

    def replace(self, changes: Mapping[str, Any]) -> Config:
        """A copy with settings changed, by key (`warehouse`, `inputs.paths`, ...)."""
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            section, _, name = key.rpartition(".")
            if section:
                sections.setdefault(section, {})[name] = value
            else:
                top[key] = value
        for section, values in sections.items():
            top[section] = dataclasses.replace(getattr(self, section), **values)
        return dataclasses.replace(self, **top)


def sections() -> dict[str, type]:
    """The sections of Config by name, in declaration order."""
    fields = dataclasses.fields(Config)
    return {f.name: f.default_factory for f in fields if f.default_factory is not dataclasses.MISSING}


@functools.cache
def table() -> dict[str, Setting]:
    """Every setting by key; no two share a flag, so any command can take any of them."""
    settings = declared(Config, "") + [s for name, cls in sections().items() for s in declared(cls, name)]
    owners: dict[str, str] = {}
    for s in settings:
        for flag in s.flags if not s.spec.positional else ():
            if flag in owners:
                raise RuntimeError(f"the flag {flag} is declared by both {owners[flag]} and {s.key}")
            owners[flag] = s.key
    return {s.key: s for s in settings}


def select(names: Iterable[str]) -> list[Setting]:
    """The settings named: a section name stands for all of its settings."""
    known = table()
    out: list[Setting] = []
    for name in names:
        chosen = [s for s in known.values() if s.section == name] if name in sections() else [known[name]]
        out += [s for s in chosen if s not in out]
    return out


def _file_values(path: str) -> dict[str, Any]:
    """Every setting a TOML file gives, by key, checked against the table."""
    known = table()
    values: dict[str, Any] = {}
    for key, value in load_toml(path).items():
        if key in sections():
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table of settings, not {value!r}")
            for name, item in value.items():
                if f"{key}.{name}" not in known:
                    names = ", ".join(s.name for s in known.values() if s.section == key)
                    raise ConfigError(f"{path}: unknown setting {name!r} in [{key}]; [{key}] takes {names}")
                values[f"{key}.{name}"] = known[f"{key}.{name}"].read(item, path)
        elif key in known:
            values[key] = known[key].read(value, path)
        else:
            top = ", ".join(k for k in known if "." not in k)
            raise ConfigError(f"{path}: unknown setting {key!r}; top-level settings are {top}, and the tables "
                              f"[{'], ['.join(sections())}]")
    return values


def build_config(flags: Mapping[str, Any] | None = None, config_file: str | None = None,
                 defaults: Mapping[str, Any] | None = None) -> Config:
    """The declared defaults, then `defaults` (a command's own), then the TOML file, then `flags`, by key."""
    values = dict(defaults or {})
    if config_file:
        values.update(_file_values(config_file))
    if os.environ.get("LEAKWATCH_RUN_ID"):
        values["run_id"] = os.environ["LEAKWATCH_RUN_ID"]
    values.update(flags or {})
    unknown = sorted(set(values) - set(table()))
    if unknown:
        raise ConfigError(f"unknown settings {', '.join(unknown)}")
    return Config().replace(values)
