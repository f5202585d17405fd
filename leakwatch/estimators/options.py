"""Settings of the stats stage: the default estimator, the components, the bootstrap and the table's dimensions."""

from __future__ import annotations

from dataclasses import dataclass

from leakwatch.estimators.base import ESTIMATORS
from leakwatch.settings import at_least, between, setting, strictly_between

# Chosen on benchmarks/estimator_unseen.py (README, Stats): on 400 crawls of generators held out of the model
# and the LLM component, hdyb_v1's interval covered the truth in 0.878 of them, hdy_v1's in 0.670, at the same
# share and ~5 pp more width; hdy_v1 itself was chosen over mle_v1 on benchmarks/estimator_coverage.py.
DEFAULT_ESTIMATOR = "hdyb_v1"


@dataclass(frozen=True)
class StatsOptions:
    """The estimators, their components and intervals, and the dimensions of the stats table."""

    estimator: str = setting(DEFAULT_ESTIMATOR, "the estimator whose share is `prevalence` (every registered one is "
                             "computed; a lower bound cannot be the default)",
                             choices=tuple(n for n, e in ESTIMATORS.items() if e.kind == "estimate"))
    replicates: int = setting(1000, "bootstrap replicates per stats row", metavar="B", check=at_least(1))
    bootstrap_seed: int = setting(0, "seed of the bootstrap; each row's draws come from it and the row's key",
                                  metavar="S")
    level: float = setting(0.95, "confidence level of the percentile interval", metavar="L",
                           check=strictly_between(0, 1))
    flag_threshold: float | None = setting(None, "p_llm at or above which a page is flagged (raw share, ACC, the "
                                           "site share)", metavar="T",
                                           default_help="the model card's operating threshold", check=between(0, 1))
    llm_texts: tuple[str, ...] = setting((), "JSONL files of LLM-written texts (text, generator, group) that make the "
                                         "LLM component instead of the default", metavar="FILE", nargs="+",
                                         default_help="the held-out LLM groups of --stats-labeled and the "
                                         "calibration split of udfs/data/llm_pages_web.jsonl")
    labeled: str | None = setting(None, "labelled folder (*.jsonl) whose held-out groups join the LLM component "
                                  "and, for a warehouse without pre-ChatGPT crawls, make the human one",
                                  flags=("--stats-labeled",), metavar="DIR",
                                  default_help="../shared/data/labeled beside the repository, when present")
    word_frequency: bool = setting(True, "compute the word-frequency estimator (two passes over the page text)")
    top_domains: int = setting(50, "registered domains with the most documents over the series that get their own "
                               "rows", metavar="N", check=at_least(0))
    min_site_docs: int = setting(10, "scored pages a host needs to count in the site share", metavar="N",
                                 check=at_least(0))
    max_driver_pages: int = setting(200_000, "stats whose page rows (a page once per view and slice that counts it) "
                                    "number at most this are summed and estimated on the driver in pandas, after one "
                                    "read; more are summed and estimated in Spark", flags=("--stats-max-driver-pages",),
                                    metavar="N", check=at_least(0))
