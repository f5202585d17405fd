"""fasttext training: the settings tried, and one training run (retried when fasttext diverges)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from leakwatch.training.corpus import Example
from leakwatch.udfs.classifier import HUMAN_LABEL, LABEL_PREFIX, LLM_LABEL, classifier_text

NAN_RETRIES = 5
THREADS = 2
# Quantization: keep the most frequent words/n-grams and product-quantize their vectors.
QUANTIZE_CUTOFF = 100_000


@dataclass(frozen=True)
class FasttextSettings:
    """fasttext supervised settings (names as fasttext spells them)."""

    wordNgrams: int = 2  # noqa: N815 - fasttext's own argument names
    dim: int = 32
    epoch: int = 15
    lr: float = 0.5
    minCount: int = 2  # noqa: N815
    minn: int = 0
    maxn: int = 0
    loss: str = "softmax"
    bucket: int = 2_000_000

    def fingerprint(self) -> str:
        """Short string naming every setting, e.g. 'wng2_dim32_ep15_lr0.5_mc2_ch0-0_softmax'."""
        return (
            f"wng{self.wordNgrams}_dim{self.dim}_ep{self.epoch}_lr{self.lr}_mc{self.minCount}"
            f"_ch{self.minn}-{self.maxn}_{self.loss}"
        )


DEFAULT_SETTINGS = FasttextSettings()
SWEEP = (
    FasttextSettings(wordNgrams=1),
    DEFAULT_SETTINGS,
    FasttextSettings(wordNgrams=3),
    FasttextSettings(epoch=30),
    FasttextSettings(dim=100),
    FasttextSettings(minCount=5),
    FasttextSettings(loss="ova"),
    FasttextSettings(minn=3, maxn=5, epoch=10),
    # Softer models: fasttext floors probabilities at 1e-5, so an over-confident model ties many
    # texts at p=1 and cannot be read at 1% FPR.
    FasttextSettings(lr=0.1, epoch=5),
    FasttextSettings(lr=0.1, epoch=15),
    FasttextSettings(dim=16, lr=0.05, epoch=10),
)


def train_fasttext(examples: Iterable[Example], settings: FasttextSettings, workdir: Path):
    """Train a fasttext model on examples (written to a temporary file in workdir)."""
    import fasttext

    path = workdir / "train.txt"
    with path.open("w", encoding="utf-8") as fh:
        for e in examples:
            label = LLM_LABEL if e.llm else HUMAN_LABEL
            fh.write(f"{LABEL_PREFIX}{label} {classifier_text(e.text)}\n")
    # fasttext-numpy2 0.10.4 now and then stops with "Encountered NaN" on small corpora, not
    # reproducibly (the same call with the same seed then succeeds), so a failed run is retried.
    for seed in range(NAN_RETRIES):
        try:
            model = fasttext.train_supervised(
                input=str(path), thread=THREADS, seed=seed, verbose=0, **dataclasses.asdict(settings)
            )
            return model, path
        except RuntimeError as exc:
            if "NaN" not in str(exc):
                raise
    raise RuntimeError(f"fasttext diverged {NAN_RETRIES} times with {settings.fingerprint()}: lower lr")
