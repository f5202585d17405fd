"""Training: a tiny model trained and evaluated end to end, its card checked against its schema,
the metrics on known cases, and the corpus reader."""

from __future__ import annotations

import json
import multiprocessing
import random
from pathlib import Path

import pytest

from leakwatch.training.corpus import read_corpus
from leakwatch.training.fasttext import FasttextSettings
from leakwatch.training.metrics import auroc, threshold_at_fpr
from leakwatch.training.train import train
from leakwatch.udfs.classifier import (
    MIN_WORDS,
    load_card_schema,
    load_model,
    model_id,
    predict_llm,
    schema_errors,
    score_frame,
)

HUMAN_TEXT = (
    "the old house stood near the river and we walked there every morning with our dog "
    "my brother said the bread was cheap at the market so we bought two loaves and some cheese"
)


LLM_TEXT = (
    "moreover it is crucial to delve into the intricate tapestry of this comprehensive topic "
    "furthermore this pivotal insight underscores the meticulous and innovative nature of the realm"
)


HUMAN_WORDS = HUMAN_TEXT.split()


LLM_WORDS = LLM_TEXT.split()


def fake_text(rng: random.Random, vocabulary: list[str], n: int = 70) -> str:
    """A text of n words drawn from a vocabulary, capitalized and ending in a full stop."""
    return " ".join(rng.choice(vocabulary) for _ in range(n)).capitalize() + "."


def write_tiny_corpus(folder: Path, positions: int = 30) -> Path:
    """An l2r-shaped file (per domain: one block per generator, then the human block) + web texts."""
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for domain in ("news", "reviews"):
        for label, generator in (("llm", "GPT-4o"), ("llm", "Llama-3-70B"), ("human", "")):
            words = LLM_WORDS if label == "llm" else HUMAN_WORDS
            rows += [{"text": fake_text(rng, words), "label": label, "generator": generator,
                      "domain": domain, "source": "l2r", "lang": "en"} for _ in range(positions)]
    (folder / "l2r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    web = [{"text": fake_text(rng, HUMAN_WORDS), "label": "human", "generator": "", "domain": "web",
            "source": "CC-MAIN-2019-30", "lang": "und"} for _ in range(10)]
    (folder / "web-cc2019.jsonl").write_text("".join(json.dumps(r) + "\n" for r in web))
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, dict]:
    """A model trained and evaluated end to end by `train` on the tiny corpus."""
    root = tmp_path_factory.mktemp("tiny")
    # A small bucket table: fasttext allocates and initializes every bucket on each training.
    small = FasttextSettings(dim=8, epoch=10, bucket=20_000, minCount=1)
    # In a fresh process: fasttext-numpy2 training diverges ("Encountered NaN", every retry) in a
    # process whose earlier tests freed large buffers (the 64 MiB gzip bomb, the fuzz run) — it
    # depends on test order, not on the corpus. `leakwatch train` always runs in its own process.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        card = pool.apply(train, (write_tiny_corpus(root / "data"), root / "model"), {"settings": small})
    return root / "model" / card["model"]["file"], card


def test_only_english_texts_long_enough_are_scored(tiny_model):
    path, _ = tiny_model
    long_text = "word " * MIN_WORDS
    frame = score_frame([long_text, long_text, "word " * (MIN_WORDS - 1), long_text], ["en", "de", "en", None],
                        [MIN_WORDS, MIN_WORDS, MIN_WORDS - 1, MIN_WORDS], str(path))
    assert frame["scored"].tolist() == [True, False, False, False]
    assert frame["p_llm"].notna().tolist() == [True, False, False, False]


def test_tiny_model_separates_and_its_card_validates(tiny_model):
    path, card = tiny_model
    rng = random.Random(1)
    p = predict_llm(load_model(str(path)), [fake_text(rng, LLM_WORDS), fake_text(rng, HUMAN_WORDS)])
    assert p[0] > 0.5 > p[1]
    assert schema_errors(card, load_card_schema()) == []
    assert card["model"]["model_id"] == model_id(str(path))
    assert set(card["metrics"]["leave_one_generator_out"]["per_generator"]) == {"gpt-4o", "llama-3-70b"}
    assert card["metrics"]["web_cc2019"]["n_scored"] == 10
    assert {"overall", "generator:gpt-4o", "domain:news", "domain:web"} <= set(card["calibration"]["slices"])
    on_disk = json.loads(path.with_name(path.name.replace(".ftz", ".card.json")).read_text())
    assert on_disk["model"] == card["model"]


def test_schema_check_reports_what_is_wrong(tiny_model):
    _, card = tiny_model
    broken = json.loads(json.dumps(card))
    del broken["scope"]
    broken["model"]["size_bytes"] = 11_000_000
    broken["calibration"]["slices"]["overall"][0]["tp"] = "3"
    errors = schema_errors(broken, load_card_schema())
    assert "$: missing 'scope'" in errors
    assert any("size_bytes" in e and "maximum" in e for e in errors)
    assert any("overall[0].tp" in e and "expected integer" in e for e in errors)


def test_metrics_on_known_cases():
    assert auroc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert auroc([1, 0], [0.5, 0.5]) == 0.5
    humans = [i / 100 for i in range(100)]
    t = threshold_at_fpr(humans, 0.05)
    assert sum(h >= t for h in humans) == 5


def test_read_corpus_marks_web_as_eval_only(tmp_path):
    examples = read_corpus(write_tiny_corpus(tmp_path / "d", positions=3))
    web = [e for e in examples if e.source == "web-cc2019"]
    assert web and all(e.heldout for e in web)
    assert {e.generator for e in examples} == {"", "gpt-4o", "llama-3-70b"}
