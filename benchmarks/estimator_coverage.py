"""Every estimator on simulated crawls with a held-out generator, no Spark: bias, error, coverage, width.

`python -m benchmarks.estimator_coverage [--model PATH] [--sims 220] [--pages 600] [--drift C] [--words]
    [--component all|trained] [--llm-pages] [--crawl-generators NAME ...]`

The pool: every held-out labelled text of ../shared/data/labeled (the sibling groups the model never
trained on, and web-cc2019) and the pre-2022 readability pages of ../shared/data/web, scored as the
pipeline scores them (rendered as a page, main text extracted, language identified, scored; cached by
leakwatch.estimators.components.score_texts). A simulated crawl's human pages sit on sites (pages per
site geometric, mean 4) that draw from one stratum (a source; fast-detect-gpt by its domain; real web
pages are one stratum at 30% of the mix) and, within it, from 20 texts, so pages of a site are alike.
Half its LLM pages replace pages on human sites, half sit on content farms; they come from one
generator, which the LLM component does not hold (every generator in turn). The human baseline is
4,000 pages drawn the same way (an earlier crawl of the same web). With --drift C the crawl's human mix
over the strata is Dirichlet(C x the baseline's mix). Truth: the realised LLM share of the crawl.
--llm-pages adds the LLM web pages' calibration split (generator claude) to the pool; --crawl-generators
has only the named generators write the crawls (benchmarks/estimator_unseen.py uses both).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from leakwatch.config import Config
from leakwatch.estimators import wordfreq
from leakwatch.estimators.base import ESTIMATORS, Binning, Evidence, Grouped
from leakwatch.estimators.bootstrap import Settings, estimate_row, human_component, llm_component
from leakwatch.estimators.components import LabelledText, score_texts, shipped_llm_pages, untrained_generators
from leakwatch.training.corpus import DEFAULT_DATA, read_corpus
from leakwatch.udfs.classifier import default_model_path
from leakwatch.udfs.html import decode_html, main_text
from leakwatch.validation.measure import model_threshold

WEB = "web"
READABILITY = DEFAULT_DATA.parent / "web" / "readability"


def pool_texts(llm_pages: bool = False) -> list[LabelledText]:
    """The held-out labelled texts and the pre-2022 readability pages; `source` holds the stratum. With
    `llm_pages`, the calibration split of the project's LLM web pages too (generator 'claude')."""
    out = shipped_llm_pages() if llm_pages else []
    for e in read_corpus(DEFAULT_DATA):
        if e.heldout:
            stratum = WEB if e.source == "web-cc2019" else f"fdg:{e.domain}" if e.source == "fast-detect-gpt" \
                else e.source
            out.append(LabelledText(e.text, e.llm, e.generator if e.llm else "", e.group, stratum))
    dates = READABILITY / "added_dates.txt"
    for line in dates.read_text().splitlines() if dates.is_file() else []:
        date, name = line.split(maxsplit=1)
        page = READABILITY / "pages" / name / "source.html"
        if dt.date.fromisoformat(date) < dt.date(2022, 1, 1) and page.is_file():
            text = main_text(decode_html(page.read_bytes(), None)[0])
            out.append(LabelledText(text, False, "", f"readability:{name}", WEB))
    return out


class Pool:
    """The scored pool: human text indices by stratum, LLM text indices by generator, the baseline's mix."""

    def __init__(self, frame: pd.DataFrame, web_share: float) -> None:
        self.frame = frame[frame.scored].reset_index(drop=True)
        f = self.frame
        self.human = {k: np.flatnonzero((~f.llm & (f.source == k)).to_numpy())
                      for k in sorted(f.source[~f.llm].unique())}
        self.llm = {g: np.flatnonzero((f.llm & (f.generator == g)).to_numpy())
                    for g in sorted(f.generator[f.llm].unique())}
        others = f[~f.llm].source.value_counts().drop(WEB)
        self.mix = {WEB: web_share, **{k: (1 - web_share) * v / others.sum() for k, v in others.items()}}


def site_sizes(rng: np.random.Generator, n: int, mean: float) -> list[int]:
    """Pages per site (geometric with the given mean) until n pages."""
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.geometric(1 / mean)))
    sizes[-1] -= sum(sizes) - n
    return [s for s in sizes if s > 0]


def human_sites(rng, pool: Pool, n: int, mix: dict[str, float], site_mean: float, per_site: int = 20):
    """Sites of human pages (pool indices), n pages in all, strata drawn by `mix`."""
    strata, probs = list(mix), np.array(list(mix.values()))
    sites = []
    for size in site_sizes(rng, n, site_mean):
        texts = pool.human[strata[rng.choice(len(strata), p=probs / probs.sum())]]
        sites.append(rng.choice(rng.choice(texts, min(per_site, len(texts)), replace=False), size))
    return sites


def simulate_crawl(rng, pool: Pool, generator: str, share: float, n: int, drift: float, site_mean: float):
    """(sites as pool index arrays, truth): half the LLM pages on human sites, half on content farms."""
    n_llm, mix = int(round(share * n)), pool.mix
    if drift:
        mix = dict(zip(mix, rng.dirichlet(drift * np.array(list(mix.values()))), strict=True))
    sites = human_sites(rng, pool, n - n_llm // 2, mix, site_mean)
    flags = [np.zeros(len(s), bool) for s in sites]
    texts = pool.llm[generator]
    for _ in range(n_llm // 2):
        i = rng.integers(len(sites))
        j = rng.integers(len(sites[i]))
        if not flags[i][j]:
            sites[i][j], flags[i][j] = rng.choice(texts), True
    rest = n_llm - sum(int(f.sum()) for f in flags)
    for size in site_sizes(rng, rest, 2 * site_mean) if rest > 0 else []:
        sites.append(rng.choice(texts, size))
        flags.append(np.ones(size, bool))
    return sites, sum(int(f.sum()) for f in flags) / sum(len(s) for s in sites)


def histograms(cell: np.ndarray, width: int, sites: list[np.ndarray]) -> np.ndarray:
    return np.array([np.bincount(cell[s], minlength=width) for s in sites], dtype=float)


def llm_groups(pool: Pool, cell: np.ndarray, width: int, exclude: str,
               allowed: frozenset[str] | None = None) -> tuple[Grouped, pd.DataFrame]:
    """Histograms of the LLM texts of every generator but `exclude` (of `allowed` ones), per sibling group."""
    f = pool.frame
    chosen = f[f.llm & (f.generator != exclude) & (f.generator.isin(allowed) if allowed else True)]
    gens = sorted(chosen.generator.unique())
    parts = list(chosen.groupby(["generator", "group"]))
    counts = np.array([np.bincount(cell[p.index.to_numpy()], minlength=width) for _, p in parts], dtype=float)
    return Grouped(counts, np.array([gens.index(g) for (g, _), _ in parts])), chosen


def word_evidence(pool: Pool, sets: list[set[str]], baseline, sites, chosen: pd.DataFrame, rng):
    """(crawl, human, LLM) (pages, word-score sum) per site or group: weights fitted on fold 0 of the
    baseline's sites and of the LLM groups, sums from fold 1 (cross-fitting, as stats does)."""
    base_fold = rng.integers(0, 2, len(baseline))
    human_counts: dict[str, int] = {}
    fold0 = [r for s, k in zip(baseline, base_fold, strict=True) if k == 0 for r in s]
    for r in fold0:
        for w in sets[r]:
            human_counts[w] = human_counts.get(w, 0) + 1
    texts = {g: [pool.frame.text[i] for i in part.index if wordfreq.fold(pool.frame.group[i]) == 0]
             for g, part in chosen.groupby("generator")}
    rates = wordfreq.llm_rates({g: t for g, t in texts.items() if t})
    model = wordfreq.WordModel.fit({w: q for w, q in rates.items() if w.isalpha()}, human_counts, len(fold0))
    score = np.array([sum(model.weights.get(w, 0.0) for w in s) for s in sets])
    crawl = np.array([[len(x), score[x].sum()] for x in sites])
    human = np.array([[len(x), score[x].sum()] if k == 1 else [0.0, 0.0] for x, k in zip(baseline, base_fold,
                                                                                          strict=True)])
    llm = np.array([[len(p), score[p.index].sum()] if wordfreq.fold(g) == 1 else [0.0, 0.0]
                    for (_, g), p in chosen.groupby(["generator", "group"])])
    return crawl, human, llm


def run(args: argparse.Namespace, frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """One row per simulated crawl and estimator."""
    pool = Pool(frame, args.web_share)
    binning = Binning(threshold) if args.strata == "length" else Binning(threshold, length_edges=(10**9,))
    cell = binning.cell(pool.frame.p_llm.to_numpy(), pool.frame.n_words.to_numpy())
    sets = [wordfreq.distinct_words(t) for t in pool.frame.text] if args.words else []
    settings = Settings(replicates=args.replicates, generator_draw=args.draw)
    generators, components, rows = list(pool.llm), {}, []
    if args.crawl_generators:
        unknown = sorted(set(args.crawl_generators) - set(generators))
        if unknown:
            raise SystemExit(f"no scored LLM texts of {', '.join(unknown)} in the pool: {', '.join(generators)}")
        generators = list(args.crawl_generators)
    excluded = untrained_generators(args.model)
    # --component trained: the component leaves out the generators the model never trained on, as stats' does
    allowed = frozenset(pool.llm) - excluded if args.component == "trained" else None
    for i in range(args.sims):
        rng = np.random.default_rng([args.seed, i])  # one stream per crawl: settings compared on the same crawls
        generator = generators[i % len(generators)]
        share = 0.0 if i % 5 == 0 else float(rng.uniform(0, 0.4))
        baseline = human_sites(rng, pool, args.baseline_pages, pool.mix, args.site_mean)
        sites, truth = simulate_crawl(rng, pool, generator, share, args.pages, args.drift, args.site_mean)
        groups, chosen = components.get(generator) or llm_groups(pool, cell, binning.cells, generator, allowed)
        components[generator] = (groups, chosen)
        words = (word_evidence(pool, sets, baseline, sites, chosen, np.random.default_rng([args.seed, i, 1]))
                 if args.words else (None, None, None))
        llm = llm_component(groups, args.replicates, np.random.default_rng([args.seed, zlib.crc32(generator.encode())]),
                            args.draw, words[2])
        human = human_component(Grouped(histograms(cell, binning.cells, baseline)), args.replicates,
                                np.random.default_rng([args.seed, i, 2]), words[1])
        evidence = Evidence(Grouped(histograms(cell, binning.cells, sites)), human, llm, binning, words[0])
        for name, r in estimate_row(evidence, seed=i, settings=settings).items():
            rows.append({"sim": i, "generator": generator, "share": share, "truth": truth, "estimator": name,
                         "estimate": r.share, "low": r.low, "high": r.high})
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per estimator, in percentage points: bias, mean and max |error|, bias at 0%, coverage of the
    interval, how often its lower limit is at or below the truth (a bound's criterion), mean width."""
    t = table.assign(error=table.estimate - table.truth, width=table.high - table.low,
                     covered=(table.low <= table.truth) & (table.truth <= table.high), valid=table.low <= table.truth)
    g = t.groupby("estimator")
    return pd.DataFrame({
        "bias_pp": 100 * g.error.mean(), "mean_abs_pp": 100 * g.error.apply(lambda e: e.abs().mean()),
        "max_abs_pp": 100 * g.error.apply(lambda e: e.abs().max()),
        "bias_at_0_pp": 100 * t[t.share == 0].groupby("estimator").error.mean(),
        "coverage": g.covered.mean(), "lower_limit_valid": g.valid.mean(), "mean_width_pp": 100 * g.width.mean(),
    }).round(3)


def parser() -> argparse.ArgumentParser:
    """The benchmark's flags (benchmarks/estimator_unseen.py takes its defaults from here too)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--sims", type=int, default=220)
    parser.add_argument("--pages", type=int, default=600, help="scored pages per simulated crawl")
    parser.add_argument("--baseline-pages", type=int, default=4000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--draw", default=Settings.generator_draw,
                        choices=("poisson", "one", "dirichlet", "predictive"))
    parser.add_argument("--drift", type=float, default=0.0, help="Dirichlet concentration of a crawl's mix; 0: none")
    parser.add_argument("--site-mean", type=float, default=4.0)
    parser.add_argument("--web-share", type=float, default=0.3)
    parser.add_argument("--strata", default="length", choices=("none", "length"))
    parser.add_argument("--words", action="store_true", help="the word-frequency estimator too (slower)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--llm-pages", action="store_true",
                        help="the LLM web pages' calibration split in the pool too (crawls and component)")
    parser.add_argument("--crawl-generators", nargs="+", metavar="NAME",
                        help="the generators that write the simulated crawls (default: every one, in turn)")
    parser.add_argument("--out", type=Path, help="write the per-crawl table here (parquet)")
    parser.add_argument("--component", default="all", choices=("all", "trained"),
                        help="the LLM component's generators: every other one, or only those the model trained on")
    return parser


def main() -> None:
    args = parser().parse_args()
    if not DEFAULT_DATA.is_dir():
        raise SystemExit(f"{DEFAULT_DATA} is absent: the pool is made of the shared labelled data")
    _, threshold = model_threshold(Config().replace({"classify.model": args.model}))
    started = time.monotonic()
    frame = score_texts(pool_texts(args.llm_pages), args.model, seed="estimator-coverage").frame
    scored = time.monotonic()
    table = run(args, frame, threshold)
    print(f"{vars(args)}; pool {int(frame.scored.sum())} scored texts ({scored - started:.0f} s), "
          f"{args.sims} crawls in {time.monotonic() - scored:.0f} s; estimators {', '.join(ESTIMATORS)}")
    print(summary(table).to_string())
    excluded = untrained_generators(args.model)
    if excluded:  # the two kinds of generator apart: the model sees one kind and not the other
        for kind, part in (("trained on", table[~table.generator.isin(excluded)]),
                           ("never trained on", table[table.generator.isin(excluded)])):
            print(f"crawls written by generators the model {kind} ({part.sim.nunique()}):")
            print(summary(part).to_string())
    if args.out:
        table.to_parquet(args.out)


if __name__ == "__main__":
    main()
