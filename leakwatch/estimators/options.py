"""Settings of the stats stage: which estimator, its calibration, the bootstrap and the table's dimensions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StatsOptions:
    """Settings of `leakwatch stats`: the estimator, its calibration and the table's dimensions."""

    estimator: str = "adjusted_cc_v1"  # a registered name (leakwatch.estimators)
    replicates: int = 1000  # bootstrap replicates per row
    seed: int = 0  # each row's generator is seeded from this and the row's key
    level: float = 0.95  # confidence level of the percentile interval
    threshold: float | None = None  # default: the model card's operating threshold
    # A slice of the card's calibration table (overall, source:..., generator:..., domain:...) or a
    # JSON file {"source", "threshold", "tp", "n_pos", "fp", "n_neg"} (written by `leakwatch validate`).
    calibration: str = "overall"
    # Where FPR comes from when `calibration` is a card slice: another slice, or "same". The default is
    # the card's real pre-ChatGPT web pages: the research corpora's human texts are not web pages.
    fpr_slice: str = "source:web-cc2019"
    card: str | None = None  # model card JSON; default: the card beside the model whose id the scores carry
    top_domains: int = 50  # registered domains with the most documents over the series get their own rows
    min_site_docs: int = 10  # scored pages a host needs to be judged in the site share
