"""The corrected estimator and its cluster-bootstrap CI on simulated crawls with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leakwatch.estimators.adjusted_cc import MAX_BLOCK_CELLS, adjusted_prevalence, estimate_prevalence
from leakwatch.schemas.calibration import Calibration


def simulate(rng, prevalence, tpr, fpr, domains=300, calibration_size=2000):
    """A crawl of `domains` sites whose LLM share varies by site, flagged by an imperfect classifier."""
    pages = rng.integers(1, 40, domains)
    # Sites differ: each has its own LLM share around the crawl's (beta, mean = prevalence).
    concentration = 4.0
    site_share = rng.beta(prevalence * concentration + 1e-3, (1 - prevalence) * concentration + 1e-3, domains)
    llm = rng.binomial(pages, site_share)
    flagged = rng.binomial(llm, tpr) + rng.binomial(pages - llm, fpr)
    truth = llm.sum() / pages.sum()
    calibration = Calibration(
        true_positives=int(rng.binomial(calibration_size, tpr)),
        positives=calibration_size,
        false_positives=int(rng.binomial(calibration_size, fpr)),
        negatives=calibration_size,
    )
    return pages, flagged, truth, calibration


def test_adjusted_prevalence_inverts_the_mixture_and_clips():
    assert adjusted_prevalence(0.2 * 0.9 + 0.8 * 0.05, 0.9, 0.05) == pytest.approx(0.2)
    assert adjusted_prevalence(0.01, 0.9, 0.05) == 0.0
    assert adjusted_prevalence(0.99, 0.9, 0.05) == 1.0
    assert np.allclose(adjusted_prevalence(np.array([0.05, 0.9]), 0.9, 0.05), [0.0, 1.0])


def test_ci_covers_the_truth_in_at_least_90_percent_of_200_simulations():
    rng = np.random.default_rng(2024)
    covered = 0
    errors = []
    runs = 200
    for i in range(runs):
        prevalence = [0.02, 0.1, 0.25, 0.4][i % 4]
        tpr, fpr = rng.uniform(0.6, 0.95), rng.uniform(0.005, 0.05)
        pages, flagged, truth, calibration = simulate(rng, prevalence, tpr, fpr)
        est = estimate_prevalence(pages, flagged, calibration, replicates=400, seed=i)
        covered += est.ci_low <= truth <= est.ci_high
        errors.append(est.prevalence - truth)
    assert covered / runs >= 0.90
    assert abs(np.mean(errors)) < 0.01  # no systematic bias


def test_edges_zero_documents_zero_flags_and_useless_classifier():
    calibration = Calibration(900, 1000, 20, 1000)
    empty = estimate_prevalence(np.array([0, 0]), np.array([0, 0]), calibration)
    assert empty.n_docs == 0 and math.isnan(empty.prevalence)
    none_flagged = estimate_prevalence(np.array([10, 20, 5]), np.array([0, 0, 0]), calibration, replicates=200)
    assert none_flagged.prevalence == 0.0 and none_flagged.ci_low == 0.0 and none_flagged.ci_high >= 0.0
    with pytest.raises(ValueError, match="cannot correct"):
        estimate_prevalence(np.array([10]), np.array([5]), Calibration(10, 100, 20, 100))


def test_same_seed_same_interval():
    rng = np.random.default_rng(1)
    pages, flagged, _, calibration = simulate(rng, 0.2, 0.8, 0.02)
    a = estimate_prevalence(pages, flagged, calibration, replicates=300, seed=5)
    b = estimate_prevalence(pages, flagged, calibration, replicates=300, seed=5)
    assert a == b


def test_all_flagged_clips_to_one_and_the_interval_stays_in_0_1():
    calibration = Calibration(80, 100, 5, 100)  # TPR 0.8 < 1: a share flagged above TPR means "all LLM"
    est = estimate_prevalence(np.array([10, 20, 5]), np.array([10, 20, 5]), calibration, replicates=300)
    assert est.raw_share == 1.0 and est.prevalence == 1.0 and est.ci_high == 1.0
    assert 0.0 <= est.ci_low <= 1.0


def test_zero_false_positives_and_perfect_recall_in_the_calibration():
    # fp = 0 and tp = n_pos: every redraw gives FPR 0 and TPR 1, so only the sites vary.
    calibration = Calibration(50, 50, 0, 50)
    est = estimate_prevalence(np.array([10, 10, 10, 10]), np.array([0, 5, 10, 5]), calibration, replicates=300)
    assert est.prevalence == pytest.approx(0.5) and est.ci_low < 0.5 < est.ci_high


def test_small_calibration_counts_give_wide_but_finite_intervals():
    # With 10 texts per class some redraws have TPR <= FPR; those replicates clip instead of failing.
    small = estimate_prevalence(np.full(50, 20), np.full(50, 6), Calibration(6, 10, 1, 10), replicates=400, seed=3)
    large = estimate_prevalence(np.full(50, 20), np.full(50, 6), Calibration(600, 1000, 100, 1000), replicates=400,
                                seed=3)
    assert small.prevalence == pytest.approx(large.prevalence)
    assert 0.0 <= small.ci_low <= small.prevalence <= small.ci_high <= 1.0
    assert small.ci_high - small.ci_low > 2 * (large.ci_high - large.ci_low)


def test_sites_without_documents_change_nothing():
    calibration = Calibration(800, 1000, 30, 1000)
    base = estimate_prevalence(np.array([5, 8, 3]), np.array([2, 1, 0]), calibration, replicates=100, seed=1)
    padded = estimate_prevalence(np.array([5, 0, 8, 3, 0]), np.array([2, 0, 1, 0, 0]), calibration, replicates=100,
                                 seed=1)
    assert (padded.raw_share, padded.prevalence, padded.n_docs) == (base.raw_share, base.prevalence, base.n_docs)


def test_no_llm_text_gives_an_interval_starting_at_zero():
    # The negative control: with truth 0 the interval should reach down to 0 in nearly every crawl.
    rng = np.random.default_rng(11)
    runs, at_zero = 60, 0
    for i in range(runs):
        pages, flagged, truth, calibration = simulate(rng, 0.0, 0.8, 0.03)
        est = estimate_prevalence(pages, flagged, calibration, replicates=300, seed=i)
        at_zero += est.ci_low == 0.0
    assert truth < 0.01 and at_zero / runs >= 0.9


def test_many_domains_are_bootstrapped_in_blocks_that_fit_in_memory():
    rng = np.random.default_rng(5)
    domains = 3 * MAX_BLOCK_CELLS // 50 + 7  # blocks of fewer replicates than the default 50
    pages = rng.integers(1, 4, domains)
    flagged = rng.binomial(pages, 0.2)
    calibration = Calibration(800, 1000, 50, 1000)
    est = estimate_prevalence(pages, flagged, calibration, replicates=60, seed=2)
    again = estimate_prevalence(pages, flagged, calibration, replicates=60, seed=2)
    assert est == again and est.n_clusters == domains
    assert est.ci_low <= est.prevalence <= est.ci_high


def test_the_registry_names_each_estimator_once_and_refuses_unknown_names():
    from leakwatch.errors import ConfigError
    from leakwatch.estimators.base import ESTIMATORS, Estimator, estimator_class, register

    assert "adjusted_cc_v1" in ESTIMATORS
    docs, flagged, calibration = np.array([10, 20, 5]), np.array([2, 9, 1]), Calibration(40, 100, 5, 100)
    chosen = estimator_class("adjusted_cc_v1")(calibration, replicates=50, level=0.9)
    assert chosen.estimate(docs, flagged, seed=3) == estimate_prevalence(docs, flagged, calibration, 50, 3, 0.9)
    with pytest.raises(ConfigError, match="unknown estimator 'nope'; known: adjusted_cc_v1"):
        estimator_class("nope")

    class Twin(Estimator):
        name = "adjusted_cc_v1"

        def estimate(self, scored, flagged, seed):
            raise AssertionError("never called")

    with pytest.raises(ValueError, match="two estimators are named 'adjusted_cc_v1'"):
        register(Twin)
