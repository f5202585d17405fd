"""The components a crawl is compared with, made from labelled text put through the pipeline.

The LLM component is labelled LLM text (the research corpora's held-out groups, which the model never
trained on, and the project's LLM web pages' calibration split), each text rendered as a page, its
main text extracted, its language identified and scored as `classify` would: the scores the
estimators compare with are the scores such text gets in a crawl. The labelled human fallback (used
only when a warehouse has no pre-ChatGPT crawl) is made the same way from labelled human text.
Scored texts are cached per model and text set (LEAKWATCH_CACHE, default ~/.cache/leakwatch).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from leakwatch import code_version
from leakwatch.errors import ConfigError
from leakwatch.estimators.base import Binning, Grouped
from leakwatch.estimators.wordfreq import WordModel, fold
from leakwatch.training.corpus import jsonl_objects, read_corpus
from leakwatch.udfs.classifier import canonical_generator, model_id, score_frame
from leakwatch.udfs.scoring import read_card
from leakwatch.validation.measure import extracted_text, scorable_inputs

# The project's LLM web pages (udfs/data) whose rows say split "calibration": never trained on, never
# in a demo shard.
LLM_PAGES_FILES = ("llm_pages_web.jsonl",)
CALIBRATION_SPLIT = "calibration"
CACHE_VERSION = "components-v1"


@dataclass(frozen=True)
class LabelledText:
    """A labelled text and what the bootstrap groups it by."""

    text: str
    llm: bool
    generator: str  # "" for human text
    group: str  # sibling group: texts made from one another are one unit of the bootstrap
    source: str


def shipped_llm_pages(split: str = CALIBRATION_SPLIT) -> list[LabelledText]:
    """The project's LLM web pages of one split (udfs/data), grouped by their `group` (an edit and its
    original are one group)."""
    out = []
    for name in LLM_PAGES_FILES:
        path = resources.files("leakwatch.udfs").joinpath(f"data/{name}")
        if not path.is_file():
            continue
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("split") == split:
                    out.append(LabelledText(row["text"], True, canonical_generator(row.get("generator", "llm")),
                                            f"{name}:{row.get('group') or row['id']}", name))
    return out


def heldout_texts(folder: Path | None, llm: bool) -> list[LabelledText]:
    """The held-out groups (never trained on) of a labelled folder, of one label; none without a folder.
    Cached by the folder's files and the code version (read_corpus identifies languages: ~10 s)."""
    if folder is None or not folder.is_dir():
        return []
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob("*.jsonl"))
    key = hashlib.sha256(json.dumps([CACHE_VERSION, code_version(), str(folder.resolve()), files]).encode())
    path = cache_dir() / f"heldout-{key.hexdigest()[:20]}.parquet"
    if path.is_file():
        frame = pd.read_parquet(path)
    else:
        frame = pd.DataFrame([(e.text, e.llm, e.generator, e.group, e.source) for e in read_corpus(folder)
                              if e.heldout], columns=["text", "llm", "generator", "group", "source"])
        _write(frame, path)
    return [LabelledText(*row) for row in frame[frame.llm == llm].itertuples(index=False)]


@dataclass(frozen=True)
class ScoredTexts:
    """Labelled texts as the pipeline scores them (one row per text)."""

    frame: pd.DataFrame  # llm, generator, group, source, scored, p_llm, n_words, text (extracted)

    def _groups(self, llm: bool) -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
        part = self.frame[self.frame.scored & (self.frame.llm == llm)]
        keys = dict.fromkeys(zip(part.generator, part.group, strict=True))
        return part, {k: i for i, k in enumerate(keys)}

    def grouped(self, binning: Binning, llm: bool) -> tuple[Grouped, list[str]]:
        """Histograms per (generator, sibling group) of the scored texts of one label, each group tied to
        its generator; and the generators' names in index order."""
        part, index = self._groups(llm)
        generators = sorted(part.generator.unique())
        rows = np.array([index[k] for k in zip(part.generator, part.group, strict=True)], dtype=np.int64)
        counts = np.zeros((len(index), binning.cells))
        np.add.at(counts, (rows, binning.cell(part.p_llm.to_numpy(), part.n_words.to_numpy())), 1.0)
        parent = np.array([generators.index(g) for g, _ in index], dtype=np.int64)
        return Grouped(counts, parent), generators

    def group_words(self, llm: bool, model: WordModel) -> np.ndarray:
        """(scored texts, sum of word scores) per group, row for row with `grouped`; zeros for groups of
        fold 0, which fitted the model's weights."""
        part, index = self._groups(llm)
        sums = np.zeros((len(index), 2))
        for generator, group, text in zip(part.generator, part.group, part.text, strict=True):
            if fold(group) == 1:
                sums[index[(generator, group)]] += (1.0, model.score(text))
        return sums

    def fold_texts(self, llm: bool, which: int) -> dict[str, list[str]]:
        """The scored texts of one label and one fold (by sibling group), by generator."""
        part = self.frame[self.frame.scored & (self.frame.llm == llm)]
        out: dict[str, list[str]] = {}
        for generator, group, text in zip(part.generator, part.group, part.text, strict=True):
            if fold(group) == which:
                out.setdefault(generator, []).append(text)
        return out

    def describe(self, llm: bool) -> str:
        """Texts, groups and generators of one label, for the provenance of the rows."""
        part = self.frame[self.frame.scored & (self.frame.llm == llm)]
        by = part.groupby("generator").size().sort_index()
        sources = ",".join(sorted(part.source.unique()))
        return (f"{len(part)} scored texts in {part.group.nunique()} groups of {len(by)} generators "
                f"({', '.join(f'{g} {n}' for g, n in by.items())}) from {sources}")


def cache_dir() -> Path:
    """Where scored texts are kept between runs."""
    return Path(os.environ.get("LEAKWATCH_CACHE") or Path.home() / ".cache" / "leakwatch")


def score_texts(texts: Sequence[LabelledText], model: str, seed: str = "components") -> ScoredTexts:
    """Each text rendered, extracted and scored by `model` as the pipeline would; cached by content."""
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, model_id(model), seed,
                                        [(t.text, t.llm, t.generator, t.group, t.source) for t in texts]])
                            .encode("utf-8", "surrogatepass")).hexdigest()[:20]
    path = cache_dir() / f"scored-{digest}.parquet"
    if path.is_file():
        return ScoredTexts(pd.read_parquet(path))
    pages = [extracted_text(t.text, f"{seed}:{i}") for i, t in enumerate(texts)]
    languages, n_words = scorable_inputs(pages)
    scores = score_frame(pages, languages, n_words, model)
    frame = pd.DataFrame({
        "llm": [t.llm for t in texts], "generator": [t.generator for t in texts], "group": [t.group for t in texts],
        "source": [t.source for t in texts], "scored": scores["scored"].to_numpy(bool),
        "p_llm": scores["p_llm"].to_numpy(float), "n_words": np.asarray(n_words, dtype=np.int64), "text": pages,
    })
    _write(frame, path)
    return ScoredTexts(frame)


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp)
    os.replace(tmp, path)


def untrained_generators(model: str | Path) -> frozenset[str]:
    """The generators that the model's card says it excluded from training (v2: base-model continuations,
    which it scores as human text); none for a model without a card or without that list."""
    return frozenset(((read_card(model) or {}).get("data") or {}).get("excluded_generators") or ())


def of_trained_generators(texts: Iterable[LabelledText], model: str | Path) -> list[LabelledText]:
    """The texts without those of the model's untrained generators: in an LLM component those pull every
    estimate of the text the model does know up (see the README)."""
    excluded = untrained_generators(model)
    return [t for t in texts if t.generator not in excluded]


def default_llm_texts(labeled: Path | None, model: str | Path) -> list[LabelledText]:
    """The LLM component's texts: the held-out LLM groups of the research corpora (when the folder is
    there) and the calibration split of the project's LLM web pages, of the generators `model` trained on."""
    return of_trained_generators(heldout_texts(labeled, llm=True) + shipped_llm_pages(), model)


def read_llm_texts(paths: Sequence[str]) -> list[LabelledText]:
    """LLM texts from JSONL files: `text` required; `generator` (default: the file's name) and `group`
    (default: the line) say what the bootstrap resamples."""
    out = []
    for path in paths:
        name = Path(path).name
        try:
            rows = list(jsonl_objects(Path(path)))
        except ConfigError as exc:
            raise ConfigError(f"--llm-texts: {exc}; pass JSONL files of LLM-written texts (text, generator, "
                              "group)") from exc
        for i, row in rows:
            if not isinstance(row.get("text"), str):
                raise ConfigError(f"--llm-texts {path}:{i}: needs a string \"text\"")
            out.append(LabelledText(row["text"], True, canonical_generator(str(row.get("generator") or name)),
                                    f"{name}:{row.get('group') or i}", name))
    if not out:
        raise ConfigError(f"--llm-texts {', '.join(paths)}: no texts")
    return out


def write_llm_texts(path: Path, texts: Iterable[LabelledText]) -> Path:
    """LLM texts as the JSONL that --llm-texts reads (validate and the demo write theirs)."""
    with path.open("w", encoding="utf-8") as fh:
        for t in texts:
            row = {"text": t.text, "generator": t.generator, "group": t.group}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
