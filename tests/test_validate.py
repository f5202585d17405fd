"""`leakwatch validate`: the held-out split, the calibration counts, the crawl plan, the exit rule,
and the whole injection test end to end on a small labelled set made here."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from leakwatch.cli import main
from leakwatch.config import Config
from leakwatch.errors import ConfigError
from leakwatch.jobs.validate import validate
from leakwatch.schemas.values import VIEWS
from leakwatch.training.corpus import read_corpus
from leakwatch.udfs.classifier import default_model_path, score_frame
from leakwatch.udfs.ingest import FileIngest, IngestOptions
from leakwatch.validation.inject import (
    CALIBRATION,
    INJECTION,
    MARKER,
    ValidateOptions,
    check_options,
    halves,
    plan_crawls,
    prepare_out,
    templated_copy,
)
from leakwatch.validation.measure import CALIBRATION_FILE, calibrate, compare, passed
from leakwatch.validation.pages import Page, human_paragraphs, page_html, write_shard

# The shipped model flags this chatbot register at its operating threshold far more often than
# CPython's documentation (measured while writing the test: all 40 of 40 vs 9 of 40).
TOPICS = ("home gardening", "remote work", "budget travel", "electric cars", "sourdough baking", "saving money")
SENTENCES = (
    "In today's fast-paced world, {t} has become an essential part of many people's lives.",
    "It's important to note that every situation is unique, so it is crucial to consider your own needs.",
    "Whether you are a beginner or an experienced enthusiast, understanding {t} helps you make informed decisions.",
    "Firstly, it is essential to set clear goals and establish a realistic plan.",
    "Secondly, consistency is key: small, incremental steps can lead to significant results over time.",
    "Additionally, leveraging the right tools and resources can enhance your overall experience.",
    "Moreover, {t} offers numerous benefits, including greater flexibility and a sense of accomplishment.",
    "However, it is also important to be aware of potential challenges and to approach them with patience.",
)
N_PAIRS = 150
THRESHOLD = 0.9995


def chatbot_text(i: int, rng: random.Random) -> str:
    """A chatbot-style answer about a topic, its opening unique to i."""
    t = TOPICS[i % len(TOPICS)]
    body = [s.format(t=t) for s in SENTENCES]
    rng.shuffle(body)
    return "\n".join([f"Certainly! Here is guide number {i} to {t}.", *body,
                      f"In conclusion, with these tips you can navigate {t} with confidence."])


@pytest.fixture(scope="module")
def labeled(tmp_path_factory) -> Path:
    """A labelled folder: human/LLM pairs that read_corpus groups as siblings (adjacent_pair rule)."""
    folder = tmp_path_factory.mktemp("labeled")
    rng = random.Random(5)
    paragraphs = human_paragraphs()
    lines = []
    for i in range(N_PAIRS):
        human = "\n".join(paragraphs[2 * i: 2 * i + 2])
        for label, text in (("human", human), ("llm", chatbot_text(i, rng))):
            lines.append({"text": text, "label": label, "generator": "" if label == "human" else "testbot",
                          "domain": "docs", "source": "fast-detect-gpt", "lang": "en"})
    (folder / "fast-detect-gpt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return folder


def test_split_keeps_each_group_on_one_side_and_uses_held_out_groups_only(labeled):
    examples = read_corpus(labeled)
    # Every human text and the LLM text after it are one sibling group (shared openings may join more).
    assert min(Counter(e.group for e in examples).values()) >= 2
    for seed in (0, 1):
        half = halves(examples, seed)
        sides = {side: {e.group for e in half[side]} for side in (CALIBRATION, INJECTION)}
        assert sides[CALIBRATION] and sides[INJECTION]
        assert not sides[CALIBRATION] & sides[INJECTION]
        used = half[CALIBRATION] + half[INJECTION]
        assert all(e.heldout for e in used)
        assert len(used) == sum(e.heldout for e in examples) < len(examples)
        # A group's members are all on its side, never split by label.
        for side, groups in sides.items():
            assert {id(e) for e in examples if e.group in groups} == {id(e) for e in half[side]}
    assert halves(examples, 0) != halves(examples, 1)


def test_calibration_counts_equal_a_count_through_the_extract_path(labeled, tmp_path):
    examples = halves(read_corpus(labeled), seed=3)[CALIBRATION]
    counts = calibrate(examples, str(default_model_path()), THRESHOLD, seed=3)["extracted"]
    # Independently: the same pages written to a WARC, read back by extract's per-file code, scored.
    shard = tmp_path / "CC-MAIN-2024-33-calibration.warc.gz"
    pages = [Page(url=f"https://cal.example.org/{i}",
                  body=page_html(e.text, random.Random(f"3:calibration:{i}")).encode("utf-8"),
                  fetch_time=dt.datetime(2024, 8, 1, tzinfo=dt.UTC))
             for i, e in enumerate(examples)]
    with open(shard, "wb") as fh:
        write_shard(fh, "CC-MAIN-2024-33", pages)
    docs = {d["url"]: d for d in FileIngest(str(shard), None, "t", IngestOptions()).documents()}
    assert len(docs) == len(examples)
    ordered = [docs[p.url] for p in pages]
    frame = score_frame([d["text"] for d in ordered], [d["language"] for d in ordered],
                        [d["n_words"] for d in ordered], str(default_model_path()))
    expected = Counter()
    for e, p, scored in zip(examples, frame["p_llm"], frame["scored"], strict=True):
        if scored:
            expected["n_pos" if e.llm else "n_neg"] += 1
            expected[("tp" if e.llm else "fp")] += int(p >= THRESHOLD)
    assert {k: counts[k] for k in ("tp", "n_pos", "fp", "n_neg")} == {k: expected[k] for k in
                                                                       ("tp", "n_pos", "fp", "n_neg")}
    assert counts["n_pos"] and counts["n_neg"] and counts["threshold"] == THRESHOLD


def test_plan_has_the_shares_recrawls_and_near_copies_asked_for():
    crawls = [("CC-MAIN-2021-04", 0.0), ("CC-MAIN-2024-33", 0.25), ("CC-MAIN-2025-30", 0.4)]
    plan = plan_crawls(40, 30, crawls, 80, seed=1, recrawl_share=0.2, near_dup_share=0.1)
    assert plan == plan_crawls(40, 30, crawls, 80, seed=1, recrawl_share=0.2, near_dup_share=0.1)
    assert plan != plan_crawls(40, 30, crawls, 80, seed=2, recrawl_share=0.2, near_dup_share=0.1)
    by_crawl = {c: [p for p in plan if p.crawl == c] for c, _ in crawls}
    earlier_new: dict[str, tuple] = {}
    for crawl, share in crawls:
        pages = by_crawl[crawl]
        assert len(pages) == 80 and len({p.url for p in pages}) == 80
        assert sum(p.llm for p in pages) == round(share * 80)
        new = [p for p in pages if p.kind == "new"]
        for p in pages:
            if p.kind == "recrawl":  # an earlier crawl's human page: same URL, same text
                assert not p.llm and earlier_new[p.url] == (p.text_id, p.llm, p.variant)
            elif p.kind == "near_dup":  # a copy of one of this crawl's new pages, on another site
                assert p.variant > 0
                assert any(q.text_id == p.text_id and q.llm == p.llm and q.url.split("/")[2] != p.url.split("/")[2]
                           for q in new)
        recrawls = round(0.2 * (80 - round(share * 80))) if earlier_new else 0
        assert sum(p.kind == "recrawl" for p in pages) == recrawls
        earlier_new.update({p.url: (p.text_id, p.llm, p.variant) for p in new if not p.llm})
    # Texts are used in rounds, so no text is used twice more often than another.
    for llm, pool in ((False, 40), (True, 30)):
        uses = Counter(p.text_id for p in plan if p.kind == "new" and p.llm == llm)
        assert set(uses) == set(range(pool)) and max(uses.values()) - min(uses.values()) <= 1


def test_templated_copy_changes_a_few_words():
    text = " ".join(f"word{i}" for i in range(300))
    copy = templated_copy(text, 7)
    changed = sum(a != b for a, b in zip(text.split(), copy.split(), strict=True))
    assert 1 <= changed <= 3 and copy == templated_copy(text, 7) != templated_copy(text, 8)


def _truth(crawl: str, view: str, n_llm_scored: int, n_scored: int) -> dict:
    return {"crawl": crawl, "view": view, "pre_chatgpt": crawl < "CC-MAIN-2022-40", "injected_share": 0.0,
            "n_docs": n_scored + 5, "n_llm": n_llm_scored, "n_scored": n_scored, "n_llm_scored": n_llm_scored}


def test_compare_and_the_exit_rule():
    truth = [_truth("CC-MAIN-2024-33", v, 30, 100) for v in VIEWS] + [_truth("CC-MAIN-2021-04", "captures", 0, 100)]
    estimates = {("CC-MAIN-2024-33", "captures"): {"prevalence": 0.31, "ci_low": 0.25, "ci_high": 0.35,
                                                   "raw_share": 0.15},
                 ("CC-MAIN-2024-33", "unique"): {"prevalence": 0.40, "ci_low": 0.33, "ci_high": 0.45},
                 ("CC-MAIN-2024-33", "first_seen"): {"prevalence": 0.30, "ci_low": 0.2, "ci_high": 0.4},
                 ("CC-MAIN-2021-04", "captures"): {"prevalence": 0.015, "ci_low": 0.0, "ci_high": 0.05}}
    rows = compare(truth, estimates, tolerance=0.02)
    by_key = {(r["crawl"], r["view"]): r for r in rows}
    captures = by_key[("CC-MAIN-2024-33", "captures")]
    assert captures["bias"] == pytest.approx(0.31 - 0.3) and captures["covered"] and captures["within_tolerance"]
    assert captures["truth_all"] == pytest.approx(30 / 105)
    assert not by_key[("CC-MAIN-2024-33", "unique")]["covered"]
    assert not by_key[("CC-MAIN-2024-33", "unique")]["within_tolerance"]
    # Only the captures view decides: a miss in the unique view alone passes.
    assert passed(rows)
    assert not passed(compare(truth, {**estimates, ("CC-MAIN-2021-04", "captures"): {"prevalence": 0.03}}, 0.02))
    missing = compare(truth, {k: v for k, v in estimates.items() if k[1] != "captures" or k[0] != "CC-MAIN-2021-04"},
                      0.02)
    assert not passed(missing)


def test_flags_are_checked_before_any_work(tmp_path):
    ok = ValidateOptions(validation_dir="v", crawls=("CC-MAIN-2025-30", "CC-MAIN-2021-04"), shares=(0.3, 0.0))
    assert check_options(ok) == [("CC-MAIN-2021-04", 0.0), ("CC-MAIN-2025-30", 0.3)]
    bad = [
        (ValidateOptions(crawls=("CC-MAIN-2021-04",), shares=(0.1,)), "needs an output folder: pass --validation-dir"),
        (ValidateOptions(validation_dir="v", crawls=("CC-MAIN-2021-04",), shares=(0.1,)), "pre-ChatGPT"),
        (ValidateOptions(validation_dir="v", crawls=("CC-MAIN-2021-04",), shares=(0.0, 0.1)), "one share per crawl"),
        (ValidateOptions(validation_dir="v", crawls=("CC-MAIN-1999-01",), shares=(0.0,)), "not a known crawl"),
        (ValidateOptions(validation_dir="v", crawls=("CC-MAIN-2025-30",), shares=(1.5,)), "between 0 and 1"),
    ]
    for options, message in bad:
        with pytest.raises(ConfigError, match=message):
            check_options(options)
    assert main(["validate", "--validation-dir", str(tmp_path / "v"), "--labeled", str(tmp_path / "absent")]) == 2
    assert not (tmp_path / "v").exists()


def test_out_folder_is_only_cleared_when_validate_wrote_it(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not written by"):
        prepare_out(foreign)
    assert (foreign / "keep.txt").exists()
    ours = tmp_path / "ours"
    prepare_out(ours)
    (ours / "shards").mkdir()
    (ours / "shards" / "old.warc.gz").write_bytes(b"x")
    (ours / "validation.json").write_text("{}")
    prepare_out(ours)
    assert (ours / MARKER).exists() and not (ours / "shards").exists() and (ours / "validation.json").exists()


@pytest.mark.spark
def test_validate_end_to_end(spark, labeled, tmp_path):
    pytest.importorskip("leakwatch.jobs.stats", reason="the stats job is not in this tree yet")
    pytest.importorskip("leakwatch.jobs.report", reason="the report job is not in this tree yet")
    config = Config().replace({
        "train.labeled": str(labeled), "validate.validation_dir": str(tmp_path / "out"),
        "validate.crawls": ("CC-MAIN-2021-04", "CC-MAIN-2024-33"), "validate.shares": (0.0, 0.3),
        "validate.docs_per_crawl": 30, "validate.injection_seed": 0, "validate.pages_per_shard": 20,
        "stats.replicates": 50,
    })
    result = validate(spark, config, say=lambda _: None)
    out = tmp_path / "out"
    rows = result["rows"]
    assert sorted((r["crawl"], r["view"]) for r in rows) == sorted(
        (c, v) for c in config.validate.crawls for v in VIEWS)
    with (out / "validation.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)
    assert json.loads((out / "validation.json").read_text())["rows"] == rows
    calibration = json.loads((out / CALIBRATION_FILE).read_text())
    assert set(calibration) == {"source", "threshold", "tp", "n_pos", "fp", "n_neg"}
    assert calibration["tp"] == result["calibration"]["extracted"]["tp"]
    # Truth in the captures view: every page written was extracted, with its planned label.
    with (out / "pages.csv").open() as fh:
        planned = list(csv.DictReader(fh))
    for crawl in config.validate.crawls:
        mine = [p for p in planned if p["crawl"] == crawl]
        row = next(r for r in rows if r["crawl"] == crawl and r["view"] == "captures")
        assert row["n_docs"] == len(mine) == 30
        assert row["truth_all"] == pytest.approx(np.mean([int(p["llm"]) for p in mine]))
        assert row["estimate"] is not None and row["ci_low"] <= row["estimate"] <= row["ci_high"]
    pre = next(r for r in rows if r["crawl"] == "CC-MAIN-2021-04" and r["view"] == "captures")
    assert pre["truth_all"] == 0.0 and pre["pre_chatgpt"]
    assert result["passed"] == all(abs(r["bias"]) <= 0.02 for r in rows if r["view"] == "captures")
    assert (out / "warehouse" / "report" / "index.html").exists()
