"""The estimators' bake-off on validate's own pipeline output: every scored page of the injected crawls,
with its label, regrouped into new crawls (no further Spark run).

- Leave one generator out: the LLM component loses generator G, and the crawls' LLM pages are G's
  pages; every generator in turn, at several shares. Tests what the interval claims: that it holds
  for a generator the component does not hold.
- Drift: the crawls' human pages come from the labelled sources in proportions drawn anew for each crawl
  (Dirichlet around the pre-ChatGPT crawls' mix), the LLM pages from every generator.
The human component is always the injected pre-ChatGPT crawls' pages (as in real use), the pages are
the pipeline's own (rendered, extracted, scored), and crawls are drawn by whole registered domain.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leakwatch.estimators.base import ESTIMATORS, Binning, Component, Evidence, Grouped
from leakwatch.estimators.bootstrap import Settings, estimate_row, human_component, llm_component
from leakwatch.estimators.components import ScoredTexts
from leakwatch.estimators.wordfreq import WordModel, candidates, distinct_words, llm_rates

LOGO_SHARES = (0.0, 0.05, 0.15, 0.25, 0.35)
DRIFT_CONCENTRATION = 5.0  # Dirichlet concentration of a drifting crawl's human mix around the baseline's
MIN_GENERATOR_PAGES = 20  # a generator with fewer scored injected pages is not left out on its own


@dataclass(frozen=True)
class BakeoffPages:
    """Every scored page of the injected crawls (captures): crawl, bucket, p_llm, n_words, llm, generator,
    source, text; and which crawls are pre-ChatGPT."""

    frame: pd.DataFrame
    pre_crawls: tuple[str, ...]


class _Words:
    """Document frequencies of the pages and a word model per LLM component (cross-fitted as in stats)."""

    def __init__(self, pages: pd.DataFrame, component: ScoredTexts, pre: pd.Series) -> None:
        self.sets = [distinct_words(t) for t in pages["text"]]
        fold0 = pre & (pages["bucket"] % 2 == 0)
        self.human = Counter(w for s, f in zip(self.sets, fold0, strict=True) if f for w in s)
        self.n_human = int(fold0.sum())
        self.component = component

    def model(self, generators: set[str]) -> WordModel | None:
        texts = {g: t for g, t in self.component.fold_texts(True, 0).items() if g in generators}
        rates = llm_rates(texts)
        wanted = set(candidates(rates))
        model = WordModel.fit({w: q for w, q in rates.items() if w in wanted}, self.human, self.n_human)
        return model if model.weights else None

    def scores(self, model: WordModel) -> np.ndarray:
        return np.array([sum(model.weights.get(w, 0.0) for w in s) for s in self.sets])


def _by_bucket(part: pd.DataFrame, cells: np.ndarray, binning: Binning, words: np.ndarray | None):
    """(histograms per domain bucket, (pages, word-score sum) per bucket or None)."""
    buckets, rows = np.unique(part["bucket"].to_numpy(), return_inverse=True)
    counts = np.zeros((len(buckets), binning.cells))
    np.add.at(counts, (rows, cells), 1.0)
    sums = None
    if words is not None:
        sums = np.zeros((len(buckets), 2))
        np.add.at(sums, rows, np.column_stack([np.ones(len(part)), words]))
    return Grouped(counts), sums


def _draw_crawl(rng: np.random.Generator, human: pd.DataFrame, llm: pd.DataFrame, n: int, share: float,
                mix: dict[str, float] | None) -> tuple[pd.DataFrame, float]:
    """A crawl of n pages: LLM pages (resampled) and human pages drawn by whole domain bucket, the human
    ones from the sources in proportions `mix` when given."""
    n_llm = int(round(share * n)) if len(llm) else 0
    parts = [llm.iloc[rng.integers(0, len(llm), n_llm)]] if n_llm else []
    quotas = {None: n - n_llm} if mix is None else {s: int(round(w * (n - n_llm))) for s, w in mix.items()}
    for source, quota in quotas.items():
        pool = human if source is None else human[human["source"] == source]
        buckets = pool["bucket"].unique()
        taken, got = [], 0
        while got < quota and len(buckets):
            chosen = pool[pool["bucket"] == buckets[rng.integers(len(buckets))]]
            taken.append(chosen)
            got += len(chosen)
        parts += taken
    crawl = pd.concat(parts) if parts else human.iloc[:0]
    return crawl, float(crawl["llm"].mean()) if len(crawl) else 0.0


def run_bakeoff(pages: BakeoffPages, component: ScoredTexts, binning: Binning, settings: Settings, seed: int,
                reps: int = 4) -> pd.DataFrame:
    """One row per simulated crawl and estimator: run, generator left out, share, truth, share and interval."""
    frame = pages.frame.reset_index(drop=True)
    pre = frame["crawl"].isin(pages.pre_crawls)
    cells = binning.cell(frame["p_llm"].to_numpy(), frame["n_words"].to_numpy())
    words = _Words(frame, component, pre)
    post = frame[~pre]
    human_pages, llm_pages = post[~post["llm"]], post[post["llm"]]
    n = int(post.groupby("crawl").size().median())
    generators = [g for g, k in llm_pages["generator"].value_counts().items() if k >= MIN_GENERATOR_PAGES]
    comp_gens = set(component.frame.loc[component.frame.llm, "generator"])
    base_mix = frame[pre]["source"].value_counts(normalize=True).to_dict()
    rng = np.random.default_rng(seed)
    plans = [("logo", g, s, None) for g in sorted(generators) for s in LOGO_SHARES for _ in range(reps)]
    concentration = DRIFT_CONCENTRATION * np.array(list(base_mix.values()))
    plans += [("drift", "", s, dict(zip(base_mix, rng.dirichlet(concentration), strict=True)))
              for s in LOGO_SHARES for _ in range(2 * reps)]
    rows, cache = [], {}
    for i, (run, left_out, share, mix) in enumerate(plans):
        keep = comp_gens - {left_out}
        if left_out not in cache:
            cache[left_out] = _components(frame, pre, cells, words, component, keep, binning, settings, seed)
        human, llm, scores = cache[left_out]
        llm_pool = llm_pages[llm_pages["generator"] == left_out] if left_out else llm_pages
        crawl, truth = _draw_crawl(rng, human_pages, llm_pool, n, share, mix)
        index = crawl.index.to_numpy()
        grouped, sums = _by_bucket(crawl, cells[index], binning, None if scores is None else scores[index])
        result = estimate_row(Evidence(grouped, human, llm, binning, sums), seed=seed + i, settings=settings)
        for name, r in result.items():
            rows.append({"run": run, "left_out": left_out, "share": share, "truth": truth, "pages": len(crawl),
                         "estimator": name, "estimate": r.share, "low": r.low, "high": r.high})
    return pd.DataFrame(rows)


def _components(frame: pd.DataFrame, pre: pd.Series, cells: np.ndarray, words: _Words, component: ScoredTexts,
                generators: set[str], binning: Binning, settings: Settings,
                seed: int) -> tuple[Component, Component, np.ndarray | None]:
    """The human component (the pre-ChatGPT pages), the LLM component of `generators`, and the pages' word
    scores under the word model of that component."""
    model = words.model(generators)
    scores = words.scores(model) if model else None
    base = frame[pre]
    grouped, sums = _by_bucket(base, cells[base.index.to_numpy()], binning,
                               None if scores is None else scores[base.index.to_numpy()])
    if sums is not None:  # means from fold 1 of the buckets only (fold 0 fitted the weights)
        sums = np.where((np.unique(base["bucket"]) % 2 == 1)[:, None], sums, 0.0)
    rng = np.random.default_rng(seed)
    human = human_component(grouped, settings.replicates, rng, sums)
    kept = ScoredTexts(component.frame[~component.frame.llm | component.frame.generator.isin(generators)])
    groups, _ = kept.grouped(binning, True)
    llm = llm_component(groups, settings.replicates, rng, settings.generator_draw,
                        kept.group_words(True, model) if model else None)
    return human, llm, scores


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per run and estimator: max |error|, mean |error|, bias at 0%, coverage (a bound: lower limit valid)
    and mean width, in percentage points."""
    t = table.assign(error=table.estimate - table.truth, width=table.high - table.low)
    bound = t["estimator"].map(lambda n: ESTIMATORS[n].kind == "lower_bound")
    t["covered"] = np.where(bound, t.low <= t.truth + 1e-12, (t.low <= t.truth) & (t.truth <= t.high))
    out = t.groupby(["run", "estimator"]).agg(
        max_abs_error_pp=("error", lambda e: 100 * e.abs().max()),
        mean_abs_error_pp=("error", lambda e: 100 * e.abs().mean()),
        coverage=("covered", "mean"),
        mean_width_pp=("width", lambda w: 100 * w.mean()),
        crawls=("error", "size"),
    )
    zero = t[t.share == 0].groupby(["run", "estimator"])["error"].mean() * 100
    return out.join(zero.rename("bias_at_0_pp")).round(3).reset_index()
