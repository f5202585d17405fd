"""fasttext training: the settings, weighted training runs (weights as repeated lines), quantization
that keeps the logit exact, and the logits of a trained model."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakwatch.udfs.classifier import HUMAN_LABEL, LABEL_PREFIX, LLM_LABEL
from leakwatch.udfs.scoring import output_direction

NAN_RETRIES = 5
THREADS = 1
# Quantization: keep the 100,000 most important words/n-grams and product-quantize the input vectors;
# the output matrix stays as trained (qout=False, no retraining), so the logit direction is exact.
QUANTIZE_CUTOFF = 100_000


@dataclass(frozen=True)
class FasttextSettings:
    """fasttext supervised settings (names as fasttext spells them)."""

    wordNgrams: int = 2  # noqa: N815 - fasttext's own argument names
    dim: int = 32
    epoch: int = 10
    lr: float = 0.2
    minCount: int = 2  # noqa: N815
    minn: int = 0
    maxn: int = 0
    loss: str = "softmax"
    bucket: int = 2_000_000

    def fingerprint(self) -> str:
        """Short string naming every setting, e.g. 'wng2_dim32_ep10_lr0.2_mc2_ch0-0_softmax'."""
        return (
            f"wng{self.wordNgrams}_dim{self.dim}_ep{self.epoch}_lr{self.lr}_mc{self.minCount}"
            f"_ch{self.minn}-{self.maxn}_{self.loss}"
        )


DEFAULT_SETTINGS = FasttextSettings()
# `leakwatch train --sweep`: the fasttext settings of the bake-off (BAKEOFF.md has the rest of it).
SWEEP = (
    DEFAULT_SETTINGS,
    FasttextSettings(wordNgrams=3),
    FasttextSettings(dim=16, epoch=5, lr=0.1),
    FasttextSettings(epoch=20),
    FasttextSettings(minn=3, maxn=5, bucket=1_000_000),
)


def repeats(weights: np.ndarray, seed: int) -> np.ndarray:
    """Row indices, each repeated floor(w) times and once more with probability frac(w), shuffled:
    fasttext has no sample weights, so a weight is a number of copies in expectation."""
    rng = np.random.default_rng(seed)
    w = np.asarray(weights, dtype=np.float64)
    whole = np.floor(w)
    counts = whole.astype(int) + (rng.random(len(w)) < (w - whole))
    rows = np.repeat(np.arange(len(w)), counts)
    rng.shuffle(rows)
    return rows


# Trains in a fresh interpreter and saves the model: fasttext-numpy2 0.10.4 stops with "Encountered NaN" in a
# process whose heap holds freed numpy buffers (about every other run after a few NaN-filled arrays; never in a
# fresh process, measured 24 of 24), so a training never shares the caller's heap.
_TRAIN = """
import json, sys
import fasttext
args = json.loads(sys.argv[1])
for attempt in range(args["retries"]):
    try:
        model = fasttext.train_supervised(input=args["input"], seed=args["seed"] + attempt, **args["params"])
        break
    except RuntimeError as exc:
        if "NaN" not in str(exc) or attempt == args["retries"] - 1:
            raise SystemExit(f"fasttext: {exc}")
model.save_model(args["output"])
"""


def train_fasttext(lines: Sequence[str], llm: Sequence[bool], weights: np.ndarray, settings: FasttextSettings,
                   workdir: Path, seed: int = 0):
    """A fasttext model trained on classifier_text lines, each repeated by its weight."""
    import fasttext

    path, output = workdir / "train.txt", workdir / "model.bin"
    labels = [f"{LABEL_PREFIX}{LLM_LABEL if y else HUMAN_LABEL}" for y in llm]
    with path.open("w", encoding="utf-8") as fh:
        for i in repeats(weights, seed):
            fh.write(f"{labels[i]} {lines[i]}\n")
    params = {**dataclasses.asdict(settings), "thread": THREADS, "verbose": 0}
    args = {"input": str(path), "output": str(output), "seed": seed, "retries": NAN_RETRIES, "params": params}
    done = subprocess.run([sys.executable, "-c", _TRAIN, json.dumps(args)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"fasttext training with {settings.fingerprint()} failed: {done.stderr.strip()[-500:]}")
    fasttext.FastText.eprint = lambda *a, **k: None  # silences a harmless load warning
    model = fasttext.load_model(str(output))
    output.unlink()
    return model


def logits(model, lines: Sequence[str]) -> np.ndarray:
    """fasttext logit (llm vs human) of each line: sentence vector . output direction."""
    if not len(lines):
        return np.zeros(0)
    direction = output_direction(model)
    return np.array([model.get_sentence_vector(line) for line in lines], dtype=np.float64) @ direction


def quantize(model, path: Path) -> None:
    """Quantize in place (input matrix only, no retraining) and save to `path`."""
    model.quantize(input=None, qout=False, cutoff=QUANTIZE_CUTOFF, retrain=False, qnorm=False, thread=THREADS)
    model.save_model(str(path))
