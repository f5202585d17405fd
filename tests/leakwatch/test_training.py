"""Training: a tiny model trained, calibrated and evaluated end to end, its card checked against its schema,
the held-out rules, bad labelled input named by line, and the metrics on known cases."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from leakwatch.errors import ConfigError
from leakwatch.training.card import record_throughput
from leakwatch.training.corpus import read_corpus, web_heldout
from leakwatch.training.data import llm_pages_split, read_llm_pages
from leakwatch.training.fasttext import FasttextSettings
from leakwatch.training.metrics import auroc, threshold_at_fpr
from leakwatch.training.train import TrainOptions, train
from leakwatch.udfs.classifier import MIN_WORDS, load_card_schema, model_id, schema_errors, score_frame, scorer

HUMAN_TEXT = (
    "the old house stood near the river and we walked there every morning with our dog "
    "my brother said the bread was cheap at the market so we bought two loaves and some cheese"
)


LLM_TEXT = (
    "moreover it is crucial to delve into the intricate tapestry of this comprehensive topic "
    "furthermore this pivotal insight underscores the meticulous and innovative nature of the realm"
)


BASE_TEXT = "and then the man said that the thing was there but the other one was not so he went back home again"


HUMAN_WORDS, LLM_WORDS, BASE_WORDS = HUMAN_TEXT.split(), LLM_TEXT.split(), BASE_TEXT.split()
# A small bucket table: fasttext allocates and initializes every bucket on each training.
SMALL = FasttextSettings(dim=8, epoch=10, bucket=20_000, minCount=1)


def fake_text(rng: random.Random, vocabulary: list[str], n: int = 70) -> str:
    """A text of n words drawn from a vocabulary, capitalized and ending in a full stop."""
    return " ".join(rng.choice(vocabulary) for _ in range(n)).capitalize() + "."


def write_tiny_corpus(folder: Path, positions: int = 30) -> Path:
    """An l2r-shaped file (per domain: one block per generator, then the human block; GPT-2 a base model)
    and real-web-shaped texts."""
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for domain in ("news", "reviews"):
        for label, generator in (("llm", "GPT-4o"), ("llm", "Llama-3-70B"), ("llm", "gpt2"), ("human", "")):
            words = HUMAN_WORDS if label == "human" else BASE_WORDS if generator == "gpt2" else LLM_WORDS
            rows += [{"text": fake_text(rng, words), "label": label, "generator": generator,
                      "domain": domain, "source": "l2r", "lang": "en"} for _ in range(positions)]
    (folder / "l2r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    web = [{"text": fake_text(rng, HUMAN_WORDS), "label": "human", "generator": "", "domain": "web",
            "source": "CC-MAIN-2019-30", "lang": "und"} for _ in range(40)]
    (folder / "web-cc2019.jsonl").write_text("".join(json.dumps(r) + "\n" for r in web))
    return folder


def write_llm_pages(path: Path, n: int = 60) -> Path:
    """LLM web pages in the shipped file's shape, each in the split its group hashes to."""
    rng = random.Random(9)
    rows = []
    for i in range(n):
        group = f"t-{i:03d}"
        rows.append({"id": group, "group": group, "split": llm_pages_split(group), "genre": ("faq", "shop")[i % 2],
                     "generator": "claude", "text": fake_text(rng, LLM_WORDS, 90)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, dict]:
    """A model trained, calibrated and evaluated end to end by `train` on the tiny corpus."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "no-web").mkdir()
    options = TrainOptions(labeled=str(write_tiny_corpus(root / "data")), web=str(root / "no-web"),
                           llm_pages=(str(write_llm_pages(root / "pages.jsonl")),), model_dir=str(root / "model"),
                           model_name="tiny")
    card = train(options, settings=SMALL)
    return root / "model" / card["model"]["file"], card


def test_only_english_texts_long_enough_are_scored(tiny_model):
    path, _ = tiny_model
    long_text = "word " * MIN_WORDS
    frame = score_frame([long_text, long_text, "word " * (MIN_WORDS - 1), long_text, ""],
                        ["en", "de", "en", None, "en"], [MIN_WORDS, MIN_WORDS, MIN_WORDS - 1, MIN_WORDS, 0], str(path))
    assert frame["scored"].tolist() == [True, False, False, False, False]
    assert frame["not_scored"].tolist() == [None, "not_english", "too_short", "not_english", "empty"]
    assert frame["p_llm"].notna().tolist() == [True, False, False, False, False]


def test_tiny_model_separates_with_calibrated_scores_and_its_card_validates(tiny_model):
    path, card = tiny_model
    rng = random.Random(1)
    texts = [fake_text(rng, LLM_WORDS), fake_text(rng, HUMAN_WORDS)]
    frame = score_frame(texts, ["en", "en"], [71, 71], str(path))
    assert frame["p_llm"][0] > card["operating_threshold"]["value"] > frame["p_llm"][1]
    assert frame["p_llm"].min() > 0 and frame["p_llm"].max() < 1
    assert scorer(str(path)).calibration.as_dict() == card["scoring"]["calibration"]
    assert schema_errors(card, load_card_schema()) == []
    assert card["model"]["model_id"] == model_id(str(path))
    on_disk = json.loads(path.with_name("tiny.card.json").read_text())
    assert on_disk["model"] == card["model"] and path.with_name("tiny.card.md").read_text().startswith("# leakwatch")
    logo = card["metrics"]["leave_one_generator_out"]["per_generator"]
    assert set(logo) == {"gpt-4o", "llama-3-70b", "gpt2-xl", "claude"}
    assert logo["gpt2-xl"]["trained_on"] is False and "gpt2-xl" in card["data"]["excluded_generators"]
    assert card["data"]["trained_generators"] == ["claude", "gpt-4o", "llama-3-70b"]
    web = card["metrics"]["web"]["all"]
    assert web["n_scored"] == 40 and 0 <= web["fp"] <= web["n_scored"]
    assert {"overall", "generator:gpt-4o", "domain:news", "domain:web", "source:llm-pages"} <= set(
        card["calibration"]["slices"])
    assert card["operating_threshold"]["value"] in card["calibration"]["thresholds"]
    assert set(card["targets"]) >= {"logo_mean_auroc", "web_fpr_at_threshold_max", "ece_max", "max_tie_share_max"}


def test_the_card_changes_the_model_id(tiny_model):
    """The calibration is part of what a model scores, so model_id covers the card's scoring block."""
    path, card = tiny_model
    block = json.dumps({**card["scoring"], "threshold": 0.5}, sort_keys=True)
    assert model_id(str(path), block) != model_id(str(path))


def test_schema_check_reports_what_is_wrong(tiny_model):
    _, card = tiny_model
    broken = json.loads(json.dumps(card))
    del broken["scope"]
    broken["model"]["size_bytes"] = 11_000_000
    broken["calibration"]["slices"]["overall"][0]["tp"] = "3"
    broken["scoring"]["calibration"]["slope"] = "steep"
    errors = schema_errors(broken, load_card_schema())
    assert "$: missing 'scope'" in errors
    assert any("size_bytes" in e and "maximum" in e for e in errors)
    assert any("overall[0].tp" in e and "expected integer" in e for e in errors)
    assert any("calibration.slope" in e and "expected number" in e for e in errors)


def test_the_shipped_v1_card_still_validates_against_its_own_schema():
    v1 = Path(__file__).resolve().parents[2] / "models" / "leakwatch-llm-v1.card.json"
    assert schema_errors(json.loads(v1.read_text()), load_card_schema(1)) == []


def test_metrics_on_known_cases():
    assert auroc([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert auroc([1, 0], [0.5, 0.5]) == 0.5
    humans = [i / 100 for i in range(100)]
    t = threshold_at_fpr(humans, 0.05)
    assert sum(h >= t for h in humans) == 5


def test_read_corpus_holds_out_half_the_web_by_content(tmp_path):
    examples = read_corpus(write_tiny_corpus(tmp_path / "d", positions=3))
    web = [e for e in examples if e.source == "web-cc2019"]
    assert all(e.heldout == web_heldout(e.group) for e in web)
    assert 0 < sum(e.heldout for e in web) < len(web)
    assert {e.generator for e in examples} == {"", "gpt-4o", "llama-3-70b", "gpt2-xl"}


@pytest.mark.parametrize(("content", "message"), [
    (b'{"text": "a", "label": "human"}\n[1]\n', "l2r.jsonl:2: expected a JSON object, got list"),
    (b'{"text": "caf\xe9", "label": "human"}\n', "l2r.jsonl:1: not UTF-8 text"),
    (b'{"text": "a", "label": "robot"}\n', "l2r.jsonl:1: needs a string 'text' and a 'label' of human or llm"),
    (b'{"label": "llm"}\n', "l2r.jsonl:1: needs a string 'text'"),
    (b'{"text": "a", "label": "human"\n', "l2r.jsonl:1: not JSON"),
])
def test_bad_labelled_lines_are_named(tmp_path, content, message):
    (tmp_path / "l2r.jsonl").write_bytes(content)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_corpus(tmp_path)


def test_llm_pages_keep_their_splits(tmp_path):
    path = write_llm_pages(tmp_path / "pages.jsonl", n=40)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    examples = read_llm_pages([str(path)])
    assert len(examples) == sum(r["split"] != "demo" for r in rows)
    assert sum(e.heldout for e in examples) == sum(r["split"] == "calibration" for r in rows)
    wrong = next(r for r in rows if r["split"] == "demo")
    path.write_text(json.dumps({**wrong, "split": "train"}) + "\n")
    with pytest.raises(ConfigError, match="pages.jsonl:1: split 'train' but group"):
        read_llm_pages([str(path)])


def test_shipped_llm_pages_hold_their_hash_splits():
    from leakwatch.training.data import shipped_llm_pages

    rows = [json.loads(line) for line in Path(shipped_llm_pages()).read_text(encoding="utf-8").splitlines()]
    assert all(r["split"] == llm_pages_split(r["group"]) for r in rows)
    assert np.mean([r["split"] == "demo" for r in rows]) == pytest.approx(0.25, abs=0.05)


def test_benchmark_figures_are_recorded_in_the_card(tiny_model, tmp_path):
    path, card = tiny_model
    card_file = tmp_path / "tiny.card.json"
    card_file.write_text(json.dumps(card))
    mine = {"model": path.name, "model_id": card["model"]["model_id"], "spark_local1_docs_per_s_per_core": 2100.0,
            "spark_docs_per_cpu_s": 1500.0, "plain_batched_docs_per_s": 2800.0}
    other = {**mine, "model": "old.ftz", "model_id": "sha256:0000000000000000",
             "spark_local1_docs_per_s_per_core": 1900.0}
    results = {"docs": 10, "models": [mine, other], "cpu_count": 2, "machine": {"load_avg_start": 1.0}}
    recorded = record_throughput(card_file, results, "2026-12-02T01:00:00Z")
    assert schema_errors(recorded, load_card_schema()) == []
    assert recorded["throughput"]["baseline"]["model"] == "old.ftz"
    assert recorded["targets"]["spark_docs_per_s_per_core"]["reached"] is True
    assert recorded["model"] == card["model"] and json.loads(card_file.read_text()) == recorded
    line = "2100 per core in Spark local[1] (old.ftz in the same run: 1900)"
    assert line in tmp_path.joinpath("tiny.card.md").read_text()
    with pytest.raises(ValueError, match="did not measure"):
        record_throughput(card_file, {**results, "models": [other]}, "2026-12-02T01:00:00Z")
