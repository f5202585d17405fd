"""The estimators on synthetic score distributions: exact mixtures, coverage, strata, the bound, the
word-frequency estimator, the bootstrap's draws, the registry and the "not measurable" rule."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks.reference import estimate_slices_frames
from leakwatch.errors import ConfigError
from leakwatch.estimators.base import (
    ESTIMATORS,
    Binning,
    Estimator,
    Evidence,
    Grouped,
    coarsen_edges,
    estimator,
    merge_bins,
    register,
)
from leakwatch.estimators.bootstrap import (
    Settings,
    estimate_row,
    generator_weights,
    human_component,
    llm_component,
    poisson_weights,
    replicate_totals,
)
from leakwatch.estimators.rows import KEY, SliceContext, estimate_slice, estimate_slices
from leakwatch.estimators.rules import MAX_WIDTH, MIN_PAGES, near_zero, unmeasurable
from leakwatch.estimators.wordfreq import WordModel, fold
from leakwatch.schemas.values import ESTIMATOR_COLUMNS

# One stratum (every page shorter than 10**9 words), threshold 0.9.
BINNING = Binning(0.9, length_edges=(10**9,))
SHARES = (0.0, 0.05, 0.2, 0.4)


def beta_scores(rng: np.random.Generator, n: int, llm: bool) -> np.ndarray:
    """Human scores mostly low, LLM scores mostly high, overlapping (like a usable detector)."""
    return rng.beta(5, 2, n) if llm else rng.beta(2, 5, n)


def histogram(scores: np.ndarray) -> np.ndarray:
    return BINNING.histogram(scores, np.ones(len(scores)))


def grouped(rng, n_groups: int, per_group: int, llm: bool, generators: int = 0) -> Grouped:
    counts = np.stack([histogram(beta_scores(rng, per_group, llm)) for _ in range(n_groups)])
    return Grouped(counts, np.arange(n_groups) % generators if generators else None)


def evidence(crawl: Grouped, human: Grouped, llm: Grouped, replicates: int, words=None) -> Evidence:
    rng = np.random.default_rng(99)
    return Evidence(crawl, human_component(human, replicates, rng), llm_component(llm, replicates, rng), BINNING,
                    words)


def test_binning_puts_an_edge_on_the_threshold_and_strata_by_length():
    b = Binning(0.9995)
    below = np.nextafter(b.threshold, 0)
    assert b.score_bin(np.array([below, b.threshold, 0.0, 1.0])).tolist() == [b.below - 1, b.below, 0, b.bins - 1]
    assert b.stratum(np.array([50, 149, 150, 999, 1000])).tolist() == [0, 0, 1, 2, 3]
    assert b.cell(np.array([1.0]), np.array([2000]))[0] == b.cells - 1


def test_registry_names_columns_kinds_and_the_schema():
    assert sorted(e.column for e in ESTIMATORS.values()) == sorted(ESTIMATOR_COLUMNS)
    assert estimator("bound_v1").kind == "lower_bound" and estimator("wordfreq_v1").evidence == "words"
    with pytest.raises(ConfigError, match="unknown estimator 'nope'"):
        estimator("nope")
    with pytest.raises(ValueError, match="two estimators"):
        @register
        class Again(Estimator):
            name, column = "mle_v1", "again"


@pytest.mark.parametrize("share", SHARES)
@pytest.mark.parametrize("name", ["mle_v1", "hdy_v1", "acc_v1"])
def test_exact_mixture_is_recovered(name, share):
    # The crawl histogram is exactly (1 - p) h + p l of components measured on a million pages each.
    rng = np.random.default_rng(1)
    h, l_ = histogram(beta_scores(rng, 10**6, False)), histogram(beta_scores(rng, 10**6, True))
    crawl = (10**4 * ((1 - share) * h + share * l_) / 10**6)[None]
    starts = coarsen_edges(h, l_, BINNING.below, 10)
    k = int(np.searchsorted(starts, BINNING.below))
    fitted = ESTIMATORS[name].fit(*(merge_bins(x, starts) for x in (crawl, h[None], l_[None])), k)
    assert fitted[0] == pytest.approx(share, abs=1e-4)


def test_bound_is_exact_when_llm_text_never_scores_low():
    rng = np.random.default_rng(2)
    h = histogram(beta_scores(rng, 10**6, False))
    l_ = histogram(0.95 + 0.05 * rng.random(10**6))  # every LLM text above 0.95
    for share in SHARES:
        crawl = (10**5 * ((1 - share) * h + share * l_) / 10**6)[None]
        assert ESTIMATORS["bound_v1"].fit(crawl, h[None], l_[None], 0)[0] == pytest.approx(share, abs=1e-3)


def crawl_of(rng, share: float, n_domains: int = 150, per_domain: int = 4) -> tuple[Grouped, float]:
    """A crawl of whole domains: human domains and LLM domains (content farms)."""
    n_llm = int(round(share * n_domains))
    parts = [grouped(rng, n_domains - n_llm, per_domain, False)]
    if n_llm:
        parts.append(grouped(rng, n_llm, per_domain, True))
    return Grouped(np.vstack([p.counts for p in parts])), n_llm / n_domains


def test_intervals_cover_the_truth_and_reruns_are_identical():
    rng = np.random.default_rng(3)
    human, llm = grouped(rng, 1000, 4, False), grouped(rng, 600, 2, True, generators=4)
    settings = Settings(replicates=200)
    covered = dict.fromkeys(("mle_v1", "hdy_v1", "acc_v1"), 0)
    valid_bound, trials = 0, 60
    for i in range(trials):
        crawl, truth = crawl_of(rng, SHARES[i % len(SHARES)])
        result = estimate_row(evidence(crawl, human, llm, 200), seed=i, settings=settings)
        for name in covered:
            covered[name] += result[name].low <= truth <= result[name].high
        valid_bound += result["bound_v1"].low <= truth + 1e-9
        if i == 0:
            assert estimate_row(evidence(crawl, human, llm, 200), seed=0, settings=settings) == result
    for name, n in covered.items():
        assert n / trials >= 0.85, (name, n)
    assert valid_bound / trials >= 0.9


def test_hdyb_keeps_hdy_unless_the_bound_shows_it_too_low():
    hdyb = ESTIMATORS["hdyb_v1"]
    assert hdyb.evidence == "estimates" and hdyb.parts == ("hdy_v1", "bound_v1")
    assert hdyb.combine((0.20, 0.15, 0.25), (0.18, 0.10, 0.26)) == (0.20, 0.15, 0.26)
    assert hdyb.combine((0.05, 0.02, 0.08), (0.20, 0.14, 0.26)) == (0.14, 0.14, 0.26)
    assert hdyb.combine((0.05, 0.02, 0.08), (np.nan, np.nan, np.nan)) == (0.05, 0.02, 0.08)
    assert all(np.isnan(hdyb.combine((np.nan,) * 3, (0.2, 0.1, 0.3))))


def test_hdyb_covers_a_crawl_whose_llm_text_scores_lower_than_the_component():
    # The crawl's LLM text is of a generator the component does not hold and scores lower than the
    # component's (beta(5, 2) against beta(9, 2)), but still rarely in the human pages' low-score tail:
    # hdy reads low with a narrow interval; hdyb's interval reaches the truth through the bound.
    rng = np.random.default_rng(8)
    human = grouped(rng, 1000, 4, False)
    component = Grouped(np.stack([histogram(rng.beta(9, 2, 2)) for _ in range(600)]), np.arange(600) % 4)
    settings, trials = Settings(replicates=200), 40
    covered = dict.fromkeys(("hdy_v1", "hdyb_v1"), 0)
    for i in range(trials):
        n_llm = 30 + 10 * (i % 4)  # 20-40% of 150 domains
        crawl = Grouped(np.vstack([grouped(rng, 150 - n_llm, 4, False).counts,
                                   np.stack([histogram(rng.beta(5, 2, 4)) for _ in range(n_llm)])]))
        truth = n_llm / 150
        result = estimate_row(evidence(crawl, human, component, 200), seed=i, settings=settings,
                              names=["hdyb_v1", "hdy_v1"])
        assert set(result) == {"hdyb_v1", "hdy_v1"}
        assert result["hdyb_v1"].share >= result["hdy_v1"].share
        for name in covered:
            covered[name] += result[name].low <= truth <= result[name].high
    assert covered["hdy_v1"] / trials < 0.5 and covered["hdyb_v1"] / trials >= 0.85, covered


def test_holding_a_bootstrap_source_keeps_the_estimate_and_narrows_the_interval():
    # benchmarks/interval_sources.py decomposes a row's width by holding sources at their data.
    from benchmarks.interval_sources import SOURCES, varying

    rng = np.random.default_rng(5)
    human, llm = grouped(rng, 400, 4, False), grouped(rng, 300, 2, True, generators=3)
    crawl, _ = crawl_of(rng, 0.2)
    ev, settings = evidence(crawl, human, llm, 200), Settings(replicates=200)
    full = estimate_row(ev, seed=7, settings=settings)
    assert varying(set(SOURCES))(ev, 7, settings) == full
    none = varying(set())(ev, 7, settings)
    crawl_only = varying({"crawl"})(ev, 7, settings)
    for name in ("mle_v1", "hdy_v1", "acc_v1"):
        assert none[name].share == crawl_only[name].share == full[name].share
        assert none[name].low == pytest.approx(full[name].share) == none[name].high
        assert 0 < crawl_only[name].high - crawl_only[name].low < full[name].high - full[name].low + 1e-9
    assert estimate_row(ev, seed=7, settings=settings) == full  # the patch is undone


def test_strata_add_up_to_the_crawl_share():
    # Short pages score lower than long ones; each stratum has its own LLM share.
    rng = np.random.default_rng(4)
    b = Binning(0.9, length_edges=(100,))

    def pages(n_short, n_long, llm):
        counts = np.zeros((n_short + n_long, b.cells))
        for i in range(n_short + n_long):
            short = i < n_short
            scores = beta_scores(rng, 3, llm) ** (1.5 if short else 1.0)
            counts[i] = b.histogram(scores, np.full(3, 50 if short else 500))
        return counts

    human = human_component(Grouped(pages(800, 800, False)), 200, rng)
    llm = llm_component(Grouped(pages(400, 400, True), np.arange(800) % 3), 200, rng)
    crawl = Grouped(np.vstack([pages(100, 60, False), pages(10, 30, True)]))
    result = estimate_row(Evidence(crawl, human, llm, b), seed=0, settings=Settings(replicates=200))
    truth = 40 / 200
    assert result["mle_v1"].low <= truth <= result["mle_v1"].high and abs(result["mle_v1"].share - truth) < 0.06


def test_word_frequency_model_and_estimate_of_a_linear_mixture():
    model = WordModel.fit({"delve": 0.5, "the": 0.9, "rare": 0.001, "a": 1.0}, {"delve": 10, "the": 950, "a": 1000},
                          1000)
    assert set(model.weights) == {"delve", "the"} and model.weights["delve"] > 0 > model.weights["the"]
    assert model.score("We delve, delve and Delve.") == pytest.approx(model.weights["delve"])
    assert fold("example.com") == fold("example.com") in (0, 1)
    # Mean word score: human 0, LLM 2, the crawl 0.5 = 0.25 * 2.
    rng = np.random.default_rng(7)
    ones = np.ones((100, BINNING.cells))
    human = human_component(Grouped(ones[:50]), 50, rng, words=np.tile([5.0, 0.0], (50, 1)))
    llm = llm_component(Grouped(ones[:10], np.arange(10) % 2), 50, rng, words=np.tile([1.0, 2.0], (10, 1)))
    ev = Evidence(Grouped(ones), human, llm, BINNING, crawl_words=np.tile([5.0, 2.5], (100, 1)))
    assert estimate_row(ev, seed=0, settings=Settings(replicates=50), names=["wordfreq_v1"])["wordfreq_v1"].share \
        == pytest.approx(0.25)


def test_a_word_score_is_the_same_in_every_process():
    """A page's word score does not follow the process's string hashing (the order of its set of words):
    stats reruns, whose workers hash with other seeds, give the same rows to the last bit."""
    script = ("from leakwatch.estimators.wordfreq import WordModel; "
              "m = WordModel({f'w{i}': 0.1 * (i % 7) + 1e-3 * i for i in range(300)}); "
              "print(repr(m.score(' '.join(f'w{i}' for i in range(300)))))")
    scores = {subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                             capture_output=True, text=True, check=True).stdout for seed in range(4)}
    assert len(scores) == 1 and float(scores.pop()) == pytest.approx(sum(0.1 * (i % 7) + 1e-3 * i for i in range(300)))


def test_poisson_and_generator_weights():
    w = poisson_weights(np.random.default_rng(5), (400, 1000)).astype(float)
    assert w.mean() == pytest.approx(1.0, abs=0.01) and w.var() == pytest.approx(1.0, abs=0.02)
    counts = np.arange(12.0).reshape(4, 3)
    totals = replicate_totals(counts, 5, np.random.default_rng(0))
    assert totals[0].tolist() == counts.sum(axis=0).tolist() and totals.shape == (6, 3)
    for draw in ("poisson", "one", "dirichlet", "predictive"):
        g = generator_weights(np.random.default_rng(0), 100, 4, draw)
        assert g.shape == (101, 4) and (g[0] == 1).all() and np.allclose(g[1:].sum(axis=1) > 0, True)
    assert set(np.unique(generator_weights(np.random.default_rng(0), 50, 4, "one")[1:])) == {0.0, 1.0}


def test_a_slice_with_one_page_is_not_measurable():
    # One scored page at p_llm 0.99999 (the real CC-MAIN-2020-34 excerpt's case): one domain to resample,
    # an interval of no width; the rule refuses the row before any estimate is made.
    rng = np.random.default_rng(6)
    crawl = Grouped(histogram(np.array([0.99999]))[None])
    result = estimate_row(evidence(crawl, grouped(rng, 500, 4, False), grouped(rng, 300, 2, True, 3), 100), seed=0,
                          settings=Settings(replicates=100))
    assert result["mle_v1"].high - result["mle_v1"].low == 0  # what would be printed without the rule
    assert "scored pages" in unmeasurable(crawl.n_pages, crawl.n_groups)
    assert unmeasurable(MIN_PAGES, 150, 0.05, 0.15) is None
    assert "wide" in unmeasurable(600, 150, 0.05, 0.06 + MAX_WIDTH)
    assert "domains" in unmeasurable(600, 3)
    assert near_zero(0.0, 0.0) and near_zero(0.01, 0.0) and not near_zero(0.05, 0.0) and not near_zero(0.01, 0.005)


PRE = ("CC-MAIN-2021-04", "CC-MAIN-2022-33")
POST = "CC-MAIN-2024-10"


def slice_cells(rng: np.random.Generator) -> pd.DataFrame:
    """Cells of three slices as the stats job makes them (KEY, bucket, cell, n, s, n_domains): `tld=com` with
    its own pre-ChatGPT baseline, `tld=org` too thin for one (it falls back to the view's `all`), word sums
    missing in `org`; a crawl row and a month row per crawl; in shuffled order."""
    out = []
    for value, domains, llm_share in (("all", 150, 0.2), ("com", 120, 0.3), ("org", 8, 0.1)):
        dimension = "all" if value == "all" else "tld"
        for crawl in (*PRE, POST):
            share = llm_share if crawl == POST else 0.0
            for time_slice, period in (("crawl", crawl), ("month", crawl[-7:])):
                for bucket in range(domains):
                    llm = rng.random() < share
                    scores = beta_scores(rng, int(rng.integers(1, 6)), llm)
                    hist = histogram(scores)
                    for cell in np.flatnonzero(hist):
                        s = np.nan if value == "org" else float(hist[cell]) * rng.random()
                        out.append((time_slice, period, crawl, "captures", dimension, value, bucket, int(cell),
                                    int(hist[cell]), s, domains))
    frame = pd.DataFrame(out, columns=[*KEY, "bucket", "cell", "n", "s", "n_domains"])
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_the_driver_paths_slices_equal_the_per_slice_path_and_the_previous_code():
    rng = np.random.default_rng(11)
    cells = slice_cells(rng)
    llm = llm_component(grouped(rng, 40, 5, True, generators=2), 60, np.random.default_rng(5))
    fallback = cells.loc[(cells["time_slice"] == "crawl") & (cells["dimension"] == "all")
                         & cells["crawl"].isin(PRE), ["view", "crawl", "bucket", "cell", "n", "s"]]
    fallback = fallback.sort_values(["view", "crawl", "bucket", "cell"], kind="stable").reset_index(drop=True)
    ctx = SliceContext(BINNING, Settings(replicates=60), "hdy_v1", 7, llm, PRE, fallback)
    columns = [*KEY, "human_baseline", "prevalence", "ci_low", "ci_high", "measurable", "not_measurable",
               "baseline_drift", "baseline_moved", "hdy", "hdy_low"]

    driver = estimate_slices(cells, ctx, columns)
    # The Spark path: each slice's cells in whatever order its partition holds them.
    parts = [estimate_slice(part.sample(frac=1.0, random_state=1), ctx, columns)
             for _, part in cells.groupby(["view", "dimension", "value"], sort=True)]
    per_slice = pd.DataFrame([r for part in parts for r in part.itertuples(index=False, name=None)], columns=columns)
    previous = estimate_slices_frames(cells, ctx, columns)
    with pytest.raises(KeyError, match="no_such"):
        estimate_slices(cells, ctx, [*columns, "no_such"])
    pd.testing.assert_frame_equal(driver, per_slice, check_dtype=False)
    pd.testing.assert_frame_equal(driver, previous, check_exact=True)

    assert len(driver) == 3 * 3 * 2  # slices x crawls x (crawl, month)
    crawl_rows = driver[driver["time_slice"] == "crawl"].set_index(["value", "crawl"])
    assert crawl_rows.loc[("com", POST), "measurable"]
    assert "this slice" in crawl_rows.loc[("com", POST), "human_baseline"]
    assert "all pages of the view" in crawl_rows.loc[("org", POST), "human_baseline"]
    # A pre-ChatGPT crawl is read against the other one; the slice's drift is the larger of those reads.
    assert "leave-one-crawl-out" in crawl_rows.loc[("com", PRE[0]), "human_baseline"]
    control = crawl_rows.loc[[("com", c) for c in PRE], "prevalence"].dropna()
    assert crawl_rows.loc[("com", POST), "baseline_drift"] == pytest.approx(control.max())
    assert not crawl_rows.loc[("org", POST), "measurable"]  # 8 domains
