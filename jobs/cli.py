"""`leakwatch` command line: one subcommand per job module, each registering its own flags."""

from __future__ import annotations

import argparse
import importlib
import sys

from leakwatch import __version__
from leakwatch.errors import ConfigError, JavaMissingError
from leakwatch.jobs.config import build_config

# Each module has `register(subparsers)`, which adds its subcommand with `func=run(config, args)`.
COMMAND_MODULES = (
    "leakwatch.jobs.extract",
    "leakwatch.jobs.run",
    "leakwatch.crawls",
    "leakwatch.jobs.demo",
    "leakwatch.jobs.dedup",
    "leakwatch.training.train",
    "leakwatch.jobs.classify",
    "leakwatch.score",
    "leakwatch.jobs.monthly",
    "leakwatch.jobs.report",
    "leakwatch.jobs.stats",
    "leakwatch.jobs.validate",
)


def add_common_options(parser: argparse.ArgumentParser, warehouse: bool = True) -> None:
    """Flags every Spark command shares: config file, warehouse, and local Spark settings."""
    parser.add_argument("--config", metavar="FILE", help="TOML file with settings; flags given here override it")
    if warehouse:
        parser.add_argument("--out", "--warehouse", dest="warehouse", help="warehouse root: a path or URI (s3a://...)")
    parser.add_argument("--run-id", dest="run_id", metavar="ID", help="id for this run (default: time + random)")
    spark = parser.add_argument_group("spark (local mode; ignored under spark-submit)")
    spark.add_argument("--master", dest="spark__master", metavar="MASTER", help="Spark master (default local[*])")
    spark.add_argument("--driver-memory", dest="spark__driver_memory", metavar="MEM", help="default 4g")
    spark.add_argument(
        "--shuffle-partitions",
        dest="spark__shuffle_partitions",
        type=int,
        metavar="N",
        help="spark.sql.shuffle.partitions",
    )
    spark.add_argument("--log-level", dest="spark__log_level", metavar="LEVEL", help="Spark log level (default WARN)")


def build_parser() -> argparse.ArgumentParser:
    """The full `leakwatch` argument parser."""
    parser = argparse.ArgumentParser(
        prog="leakwatch",
        description="Measure how much LLM-generated text is in Common Crawl, crawl by crawl.",
    )
    parser.add_argument("--version", action="version", version=f"leakwatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `leakwatch` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = build_config(args)
        return int(args.func(config, args) or 0)
    except (ConfigError, JavaMissingError) as exc:
        print(f"leakwatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("leakwatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
