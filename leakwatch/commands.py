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
RESUME = "rerun it to go on; with --resume, the files of a finished extract are not read again"


@dataclass(frozen=True)
class Command:
    """One `leakwatch` subcommand."""

    name: str
    help: str
    entry: str  # "module:function"
    settings: tuple[str, ...]  # sections and single settings ("stats.replicates") it takes as flags
    defaults: tuple[tuple[str, Any], ...] = ()  # its own defaults, by setting key
    # The warehouse tables it goes on from (checked before Spark starts, for a local warehouse); a command
    # that takes the warehouse and needs none of them creates it.
    needs: tuple[str, ...] = ()
    interrupted: str = ""  # what to say of work already done when Ctrl-C stops it

    def takes(self, name: str) -> bool:
        """True if the command takes the setting or section `name` (or the section of setting `name`)."""
        return name in self.settings or name.partition(".")[0] in self.settings

    def load(self) -> Callable[[Config], int]:
        """The function that runs the command."""
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function)


COMMANDS = {command.name: command for command in (
    Command("extract", "WARC/WET/ARC files or corpus parquet/JSONL -> documents + ingest_log tables",
            "leakwatch.jobs.extract:run", (*WAREHOUSE, "inputs", "ingest", "corpus"), interrupted=RESUME),
    Command("run", "the whole pipeline: extract, dedup, classify, stats, report", "leakwatch.jobs.run:run",
            (*WAREHOUSE, "inputs", "ingest", "corpus", *PIPELINE), interrupted=RESUME),
    Command("crawls", "list Common Crawl crawls (id, dates, era)", "leakwatch.crawls:run", ("crawls",)),
    # Spark's 200 shuffle partitions cost more than they bring on ~1,000 pages (dedup runs ~10 jobs a crawl).
    Command("demo", "run the whole pipeline on the bundled sample shards", "leakwatch.jobs.demo:run",
            (*WAREHOUSE, "demo", "stats.replicates"), defaults=(("spark.shuffle_partitions", 4),)),
    Command("dedup", "exact + near-duplicate clusters and first-seen crawl of every document",
            "leakwatch.jobs.dedup:run", (*WAREHOUSE, "only_crawl", "rebuild", "dedup"), needs=("documents",)),
    Command("train", "labelled JSONL (+ a warehouse's pre-ChatGPT pages) -> fasttext model + model card",
            "leakwatch.training.train:run", ("train", "inputs.crawl")),
    Command("classify", "documents -> scores (P(llm), marker counts)", "leakwatch.jobs.classify:run",
            (*WAREHOUSE, "only_crawl", "classify"), needs=("documents",)),
    Command("score", "JSONL texts (stdin or FILE) -> JSONL with p_llm", "leakwatch.score:run",
            ("classify.model", "score")),
    Command("monthly", "process the crawls the warehouse lacks, oldest first, then stats and report",
            "leakwatch.jobs.monthly:run",
            (*WAREHOUSE, "monthly", "inputs.source", "inputs.base_url", "inputs.sample_files", "inputs.seed",
             "inputs.max_failed_share", "ingest", *PIPELINE),
            interrupted="rerun it to go on: the crawls and files already done are skipped"),
    Command("report", "stats + ingest_log -> static HTML report with charts", "leakwatch.jobs.report:run", WAREHOUSE,
            needs=("stats",)),
    Command("stats", "documents + clusters + scores -> stats table (+ CSV, JSON)", "leakwatch.jobs.stats:run",
            (*WAREHOUSE, "stats"), needs=("documents", "clusters", "scores")),
    # A validation run is small: Spark's default 200 shuffle partitions would be mostly empty tasks.
    Command("validate", "injection test: known LLM shares through the whole pipeline", "leakwatch.jobs.validate:run",
            ("run_id", "spark", "validate", "train.labeled", "classify.model", "stats.replicates",
             "stats.flag_threshold"),
            defaults=(("spark.shuffle_partitions", 8),)),
)}
