"""The commands of `leakwatch`: each one's name, help, the function that runs it, the settings it
takes as flags, and its own defaults where they differ from the declared ones.

A command's function is named "module:function" and imported only when the command runs: the
command line imports no job module, and no job module imports the command line. A function takes
the frozen Config and returns the exit status. A config file may set any setting (one file can
serve every command); a command's flags are the settings it names here, a section's name standing
for all of its settings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leakwatch.config import Config

WAREHOUSE = ("warehouse", "run_id", "spark")  # the settings of every command that writes a warehouse
PIPELINE = ("dedup", "classify", "stats")  # the settings of the stages after extract


@dataclass(frozen=True)
class Command:
    """One `leakwatch` subcommand."""

    name: str
    help: str
    entry: str  # "module:function"
    settings: tuple[str, ...]  # sections and single settings ("stats.replicates") it takes as flags
    defaults: tuple[tuple[str, Any], ...] = ()  # its own defaults, by setting key

    def load(self) -> Callable[[Config], int]:
        """The function that runs the command."""
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)


COMMANDS = {command.name: command for command in (
    Command("extract", "WARC/WET/ARC files -> documents + ingest_log tables", "leakwatch.jobs.extract:run",
            (*WAREHOUSE, "inputs", "ingest")),
    Command("run", "the whole pipeline: extract, dedup, classify, stats, report", "leakwatch.jobs.run:run",
            (*WAREHOUSE, "inputs", "ingest", *PIPELINE)),
    Command("crawls", "list Common Crawl crawls (id, dates, era)", "leakwatch.crawls:run", ("crawls",)),
    # Spark's 200 shuffle partitions cost more than they bring on ~1,000 pages (dedup runs ~10 jobs a crawl).
    Command("demo", "run the whole pipeline on the bundled sample shards", "leakwatch.jobs.demo:run",
            (*WAREHOUSE, "demo", "stats.replicates"), defaults=(("spark.shuffle_partitions", 4),)),
    Command("dedup", "exact + near-duplicate clusters and first-seen crawl of every document",
            "leakwatch.jobs.dedup:run", (*WAREHOUSE, "only_crawl", "dedup")),
    Command("train", "labelled JSONL -> fasttext model + model card", "leakwatch.training.train:run", ("train",)),
    Command("classify", "documents -> scores (P(llm), marker counts)", "leakwatch.jobs.classify:run",
            (*WAREHOUSE, "only_crawl", "classify")),
    Command("score", "JSONL texts (stdin or FILE) -> JSONL with p_llm", "leakwatch.score:run",
            ("classify.model", "score")),
    Command("monthly", "process the crawls the warehouse lacks, oldest first, then stats and report",
            "leakwatch.jobs.monthly:run",
            (*WAREHOUSE, "monthly", "inputs.source", "inputs.base_url", "inputs.sample_files", "inputs.seed",
             "inputs.max_failed_share", "ingest", *PIPELINE)),
    Command("report", "stats + ingest_log -> static HTML report with charts", "leakwatch.jobs.report:run", WAREHOUSE),
    Command("stats", "documents + clusters + scores -> stats table (+ CSV, JSON)", "leakwatch.jobs.stats:run",
            (*WAREHOUSE, "stats")),
    # A validation run is small: Spark's default 200 shuffle partitions would be mostly empty tasks.
    Command("validate", "injection test: known LLM shares through the whole pipeline", "leakwatch.jobs.validate:run",
            ("run_id", "spark", "validate", "train.labeled", "classify.model", "stats.replicates",
             "stats.flag_threshold"),
            defaults=(("spark.shuffle_partitions", 8),)),
)}
