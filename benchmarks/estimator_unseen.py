"""The estimators on crawls of a generator that neither the model nor the LLM component has seen.

`python -m benchmarks.estimator_unseen [--work DIR] [--generators NAME ...] [--sims 100] [--drift 0 20]
    [--component-scores seen|unseen|both] [--json FILE]`

benchmarks/estimator_coverage.py holds a crawl's generator out of the LLM component only: the shipped model
trained on it. Here it is held out of both, as a generator released after the model would be: for each
generator G the model trained on (the chat models; 'claude', the project's LLM web pages, stands for a
model family whose web copy the model never read), a twin model is trained without G (`leakwatch train
--no-evaluate`, the shipped settings, G added to --exclude-generators; for 'claude' no LLM web page at all),
and estimator_coverage's simulated crawls are written by G alone, scored by the twin, with the LLM component
made of the twin's other trained generators (their held-out labelled texts and, but for G = claude, the LLM
web pages' calibration split, as stats' default component). Twins are kept in --work and reused when their
card says it was trained without the generator, with the shipped settings and held-out split. With
--component-scores unseen the component's texts are scored by their own generators' twins instead (how a
generator scores when the model never saw it), with both in both ways, as two generators each. Prints,
per generator and drift, every estimator's bias, mean and max |error|, bias at
0%, coverage and mean width; `--json` writes them. Cost: ~1.5 min to train a twin on one core, ~20 s for
100 crawls.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import estimator_coverage as coverage
from leakwatch.config import Config
from leakwatch.estimators.components import score_texts
from leakwatch.training.corpus import DEFAULT_DATA
from leakwatch.training.fasttext import DEFAULT_SETTINGS
from leakwatch.training.train import BASE_GENERATORS, TrainOptions, train
from leakwatch.udfs.classifier import default_model_path
from leakwatch.udfs.scoring import read_card
from leakwatch.validation.measure import model_threshold

CHAT_GENERATORS = ("claude", "gpt-3.5-turbo", "gpt-4o", "llama-3-70b")
LLM_PAGES_GENERATOR = "claude"


def twin(work: Path, generator: str) -> Path:
    """The model trained without `generator`: trained here unless --work holds one whose card says it was
    trained without it, with the shipped settings, on the shipped model's held-out split."""
    name = f"twin-{generator}"
    model = work / f"{name}.ftz"
    card = read_card(model) if model.is_file() else None
    shipped = read_card(default_model_path())
    if (card and card["data"]["trained_generators"] and generator not in card["data"]["trained_generators"]
            and card["settings"]["fingerprint"] == DEFAULT_SETTINGS.fingerprint()
            and card["data"]["heldout"]["fingerprint"] == shipped["data"]["heldout"]["fingerprint"]):
        return model
    options = dataclasses.replace(
        TrainOptions(), exclude_generators=(*BASE_GENERATORS, generator), evaluate=False, model_dir=str(work),
        model_name=name, **({"llm_pages": ()} if generator == LLM_PAGES_GENERATOR else {}))
    started = time.monotonic()
    train(options)
    print(f"trained {name} in {time.monotonic() - started:.0f} s", flush=True)
    return model


def with_component_scores(frames: dict[str, pd.DataFrame], generator: str, how: str) -> pd.DataFrame:
    """The pool as `generator`'s twin scores it (`frames`: the pool scored by each generator's twin), its
    component generators' texts scored `how`: "seen" (by that twin, which trained on them), "unseen" (each by
    its own twin: how a generator scores when the model never saw it), or "both" (each generator twice, as
    "H" and "H~unseen", for the bootstrap to draw between)."""
    frame = frames[generator]
    if how == "seen":
        return frame
    out, extra = frame.copy(), []
    for other, theirs_all in frames.items():
        if other == generator:
            continue
        mine = (frame.llm & (frame.generator == other)).to_numpy()
        theirs = theirs_all[mine]
        if how == "unseen":
            out.loc[np.flatnonzero(mine), ["p_llm", "scored"]] = theirs[["p_llm", "scored"]].to_numpy()
        else:
            extra.append(theirs.assign(generator=f"{other}~unseen"))
    return pd.concat([out, *extra], ignore_index=True)


def crawls(model: Path, generator: str, args: argparse.Namespace, drift: float, frames: dict[str, pd.DataFrame]
           ) -> pd.DataFrame:
    """estimator_coverage's crawls (its defaults but these flags) written by `generator`, scored by `model`, the
    component as --component-scores says."""
    run_args = coverage.parser().parse_args([
        "--model", str(model), "--sims", str(args.sims), "--pages", str(args.pages), "--replicates",
        str(args.replicates), "--drift", str(drift), "--seed", str(args.seed), "--component", "trained",
        "--crawl-generators", generator])
    _, threshold = model_threshold(Config().replace({"classify.model": str(model)}))
    return coverage.run(run_args, with_component_scores(frames, generator, args.component_scores), threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/twins"), help="where twins are kept")
    parser.add_argument("--generators", nargs="+", default=list(CHAT_GENERATORS), choices=CHAT_GENERATORS)
    parser.add_argument("--sims", type=int, default=100, help="crawls per generator and drift")
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--drift", type=float, nargs="+", default=[0.0, 20.0],
                        help="Dirichlet concentrations of the crawls' human mix; 0: none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--component-scores", choices=("seen", "unseen", "both"), default="seen",
                        help="the component's texts as the crawl's model scores them (seen), as each one's own twin "
                        "does (unseen), or both, as two generators each")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if not DEFAULT_DATA.is_dir():
        raise SystemExit(f"{DEFAULT_DATA} is absent: the pool and the twins are made of the shared labelled data")
    args.work.mkdir(parents=True, exist_ok=True)
    tables = []
    needed = CHAT_GENERATORS if args.component_scores != "seen" else args.generators
    twins = {g: twin(args.work, g) for g in needed}
    # The pool (with the LLM web pages' calibration split, as stats' default component), read once and
    # scored once by each twin.
    texts = coverage.pool_texts(llm_pages=True)
    frames = {g: score_texts(texts, str(m), seed="estimator-coverage").frame for g, m in twins.items()}
    for generator in args.generators:
        for drift in args.drift:
            started = time.monotonic()
            table = crawls(twins[generator], generator, args, drift, frames).assign(drift=drift)
            print(f"{generator}, drift {drift:g}: {args.sims} crawls in {time.monotonic() - started:.0f} s", flush=True)
            print(coverage.summary(table).to_string(), flush=True)
            tables.append(table)
    every = pd.concat(tables, ignore_index=True)
    figures = {}
    for drift, part in every.groupby("drift"):
        pooled = coverage.summary(part)
        print(f"every generator, drift {drift:g} ({part.sim.nunique() * part.generator.nunique()} crawls):")
        print(pooled.to_string())
        figures[f"drift {drift:g}"] = {
            "pooled": pooled.reset_index().to_dict("records"),
            "per_generator": {g: coverage.summary(p).reset_index().to_dict("records")
                              for g, p in part.groupby("generator")},
        }
    if args.json:
        args.json.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, **figures}, indent=1))


if __name__ == "__main__":
    main()
