"""What each stage returns: typed results that the commands print and the run manifest records
(`dataclasses.asdict` of a result is the JSON a command prints and the manifest holds)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

# (path, error class, error message) of a file that failed or was read only up to damage.
FileProblem = tuple[str, str | None, str | None]


@dataclass(frozen=True)
class ExtractResult:
    """What an extract read and wrote: files by status, records kept and skipped, rows written."""

    run_id: str
    files: int = 0
    resumed_skip: int = 0  # files skipped by --resume, already ok
    status: dict[str, int] = field(default_factory=dict)
    records: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # by reason, most first
    bytes_read: int = 0
    rows_written: int = 0  # document rows the run's committed files hold
    failed_files: tuple[FileProblem, ...] = ()
    partial_files: tuple[FileProblem, ...] = ()

    def reconciliation(self) -> dict:
        """Records read = kept + skipped, and kept = rows written."""
        if not self.files:
            return {"files": 0, "resumed_skip": self.resumed_skip, "holds": True}
        skipped = sum(self.skipped.values())
        return {
            "files": self.files, "resumed_skip": self.resumed_skip, "records": self.records, "kept": self.kept,
            "skipped": skipped, "rows_written": self.rows_written,
            "holds": self.records == self.kept + skipped and self.kept == self.rows_written,
        }

    def exit_status(self, max_failed_share: float) -> int:
        """0, or 1 when failed files exceed the allowed share, or 3 when the reconciliation fails."""
        if not self.files:
            return 0
        if self.kept != self.rows_written:
            return 3
        return 1 if self.status.get("failed", 0) > max_failed_share * self.files else 0

    def print(self, out: TextIO | None = None) -> None:
        """The one-line reconciliation plus skip reasons and damaged files."""
        out = out or sys.stdout
        if not self.files:
            print("extract: nothing to do", file=out)
            return
        status = ", ".join(f"{n} {s}" for s, n in sorted(self.status.items()))
        check = "ok" if self.kept == self.rows_written else "MISMATCH"
        print(f"extract: {self.files} files ({status}); {self.records} records = {self.kept} kept + "
              f"{sum(self.skipped.values())} skipped; {self.rows_written} document rows written: reconciliation "
              f"{check}", file=out)
        if self.skipped:
            reasons = ", ".join(f"{reason} {n}" for reason, n in self.skipped.items())
            print(f"extract: skipped by reason: {reasons}", file=out)
        for label, entries in (("failed", self.failed_files), ("partial", self.partial_files)):
            for path, error_class, message in entries[:10]:
                print(f"extract: {label}: {path}: {error_class}: {message}", file=out)
            if len(entries) > 10:
                print(f"extract: ... and {len(entries) - 10} more {label} files (see ingest_log)", file=out)


@dataclass(frozen=True)
class DedupSummary:
    """What dedup found in one crawl."""

    crawl: str
    documents: int
    clusters: int
    exact_duplicates: int
    in_multi_doc_clusters: int
    content_seen_before: int
    url_seen_before: int


@dataclass(frozen=True)
class CrawlScores:
    """Documents of one crawl that classify wrote rows for, and how many of them it scored."""

    documents: int
    scored: int


@dataclass(frozen=True)
class ClassifyResult:
    """Where the scores went, the model that made them, and the rows per crawl."""

    scores: str
    model: str
    model_id: str
    crawls: dict[str, CrawlScores]


@dataclass(frozen=True)
class CrawlEstimate:
    """The headline row of one crawl: every capture, all pages; every estimator's share and interval."""

    n_docs: int
    n_scored: int
    raw_share: float | None
    prevalence: float | None  # the default estimator's share; None when not measurable
    ci_low: float | None
    ci_high: float | None
    pre_chatgpt: bool
    measurable: bool
    not_measurable: str | None
    estimators: dict[str, tuple[float | None, float | None, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class NegativeControl:
    """A pre-ChatGPT crawl's default estimate (against the other pre-ChatGPT crawls) and whether it is
    near zero, as the negative control requires."""

    share: float | None
    ci_low: float | None
    ci_high: float | None
    near_zero: bool
    baseline: str | None  # what it was compared with
    measurable: bool

    @property
    def failed(self) -> bool:
        """Not near zero, and either measurable or with an interval that excludes 0 (however wide)."""
        return not self.near_zero and self.share is not None and (
            self.measurable or (self.ci_low is not None and self.ci_low > 0))


@dataclass(frozen=True)
class Components:
    """What the estimates compared the crawls with."""

    estimator: str  # the default
    threshold: float
    llm: str  # the LLM component: texts, groups, generators, sources
    human: str  # the human baseline of the captures/all slice
    tpr: float | None  # the LLM component's share at or above the threshold
    fpr: float | None  # the warehouse baseline's


@dataclass(frozen=True)
class StatsResult:
    """Where the stats table went, its size, the model and components, and each crawl's headline."""

    negative_control: dict[str, NegativeControl]
    stats: str
    csv: str
    json: str
    rows: int
    model_id: str
    components: Components
    crawls: dict[str, CrawlEstimate]


@dataclass(frozen=True)
class PipelineResult:
    """What a pass of the pipeline did, stage by stage, and the seconds each stage took."""

    run_id: str
    seconds: dict[str, float] = field(default_factory=dict)
    crawls_extracted: tuple[str, ...] = ()  # the crawls of the input files this run read
    extract: ExtractResult | None = None
    dedup: tuple[DedupSummary, ...] = ()
    classify: ClassifyResult | None = None  # None when every crawl was already scored
    stats: StatsResult | None = None
    report: str | None = None  # the path of index.html
