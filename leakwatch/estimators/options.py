"""Settings of the stats stage: which estimator, its calibration, the bootstrap and the table's dimensions."""

from __future__ import annotations

from dataclasses import dataclass

from leakwatch.estimators.base import ESTIMATORS
from leakwatch.settings import at_least, between, setting, strictly_between


@dataclass(frozen=True)
class StatsOptions:
    """The estimate, its calibration and its interval, and the dimensions of the stats table."""

    estimator: str = setting("adjusted_cc_v1", "prevalence estimator (a registered name)", choices=tuple(ESTIMATORS))
    replicates: int = setting(1000, "bootstrap replicates per stats row", metavar="B", check=at_least(1))
    bootstrap_seed: int = setting(0, "seed of the bootstrap; each row's draws come from it and the row's key",
                                  metavar="S")
    level: float = setting(0.95, "confidence level of the percentile interval", metavar="L",
                           check=strictly_between(0, 1))
    flag_threshold: float | None = setting(None, "p_llm at or above which a page is flagged (one of the model card's "
                                           "calibration thresholds)", metavar="T",
                                           default_help="the model card's operating threshold", check=between(0, 1))
    # A slice of the card's calibration table (overall, source:..., generator:..., domain:...) or a
    # JSON file {"source", "threshold", "tp", "n_pos", "fp", "n_neg"} (written by `leakwatch validate`).
    calibration: str = setting("overall", "TPR/FPR source: a slice of the model card's calibration table, or a JSON "
                               "file with source, threshold, tp, n_pos, fp, n_neg", metavar="SLICE|FILE")
    # The default is the card's real pre-ChatGPT web pages: the research corpora's human texts are not web pages.
    fpr_slice: str = setting("source:web-cc2019", "card slice FPR comes from ('same': the --calibration slice); "
                             "ignored with a calibration FILE", metavar="SLICE")
    card: str | None = setting(None, "model card JSON", metavar="PATH",
                               default_help="the *.card.json beside the model whose id the scores carry")
    top_domains: int = setting(50, "registered domains with the most documents over the series that get their own "
                               "rows", metavar="N", check=at_least(0))
    min_site_docs: int = setting(10, "scored pages a host needs to count in the site share", metavar="N",
                                 check=at_least(0))
