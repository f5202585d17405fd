"""The injection test without Spark: the held-out split, the LLM component's scores, the crawl plan and
its drift, templated copies, the comparison with the truth, the exit rule, and the output folder."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

import pytest

from leakwatch.errors import ConfigError
from leakwatch.estimators.components import LabelledText, score_texts
from leakwatch.schemas.values import VIEWS
from leakwatch.training.corpus import read_corpus
from leakwatch.udfs.classifier import default_model_path, score_frame
from leakwatch.udfs.ingest import FileIngest, IngestOptions
from leakwatch.validation.inject import (
    CALIBRATION,
    INJECTION,
    MARKER,
    halves,
    plan_crawls,
    prepare_out,
    templated_copy,
)
from leakwatch.validation.measure import compare, format_table, passed, write_result
from leakwatch.validation.pages import Page, page_html, write_shard
from tests.labeled import write_labeled


@pytest.fixture(scope="module")
def labeled(tmp_path_factory) -> Path:
    """A labelled folder of human/LLM pairs (tests/labeled.py)."""
    return write_labeled(tmp_path_factory.mktemp("labeled"))


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


def test_component_scores_equal_scores_through_the_extract_path(labeled, tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKWATCH_CACHE", str(tmp_path / "cache"))
    examples = halves(read_corpus(labeled), seed=3)[CALIBRATION]
    texts = [LabelledText(e.text, e.llm, e.generator, e.group, e.source) for e in examples]
    scored = score_texts(texts, str(default_model_path()), seed="3:calibration").frame
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
    assert scored["scored"].tolist() == frame["scored"].tolist() and scored["scored"].any()
    assert scored["n_words"].tolist() == [d["n_words"] for d in ordered]
    assert (scored["p_llm"].fillna(-1).to_numpy() == frame["p_llm"].fillna(-1).to_numpy()).all()
    # Cached: the same texts and model read back the same frame without scoring again.
    again = score_texts(texts, str(default_model_path()), seed="3:calibration").frame
    assert again.equals(scored) and len(list((tmp_path / "cache").glob("scored-*.parquet"))) == 1


def test_plan_has_the_shares_recrawls_and_near_copies_asked_for():
    crawls = [("CC-MAIN-2021-04", 0.0), ("CC-MAIN-2024-33", 0.25), ("CC-MAIN-2025-30", 0.4)]
    sources = ["news", "forum"] * 20
    plan = plan_crawls(sources, 30, crawls, 80, seed=1, recrawl_share=0.2, near_dup_share=0.1)
    assert plan == plan_crawls(sources, 30, crawls, 80, seed=1, recrawl_share=0.2, near_dup_share=0.1)
    assert plan != plan_crawls(sources, 30, crawls, 80, seed=2, recrawl_share=0.2, near_dup_share=0.1)
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


def test_a_drifting_plan_moves_the_human_mix_from_crawl_to_crawl():
    crawls = [("CC-MAIN-2021-04", 0.0), ("CC-MAIN-2022-33", 0.0), ("CC-MAIN-2024-33", 0.0), ("CC-MAIN-2025-30", 0.0)]
    sources = ["a"] * 200 + ["b"] * 200

    def share_of_b(plan, crawl):
        new = [p for p in plan if p.crawl == crawl and p.kind == "new"]
        return sum(sources[p.text_id] == "b" for p in new) / len(new)

    still = plan_crawls(sources, 10, crawls, 400, seed=0, recrawl_share=0.0, near_dup_share=0.0)
    moving = plan_crawls(sources, 10, crawls, 400, seed=0, recrawl_share=0.0, near_dup_share=0.0, human_drift=1.0)
    assert abs(share_of_b(still, crawls[0][0]) - share_of_b(still, crawls[-1][0])) < 0.05
    # exp(+-1) weights: b goes from ~27% of the human pages in the first crawl to ~73% in the last.
    assert share_of_b(moving, crawls[0][0]) < 0.35 < 0.65 < share_of_b(moving, crawls[-1][0])


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
    assert captures["mle"] is None and captures["mle_error"] is None
    with_estimators = compare(truth, {**estimates, ("CC-MAIN-2024-33", "captures"): {
        **estimates[("CC-MAIN-2024-33", "captures")], "mle": 0.28, "mle_low": 0.2, "mle_high": 0.33}}, 0.02)
    mle = next(r for r in with_estimators if (r["crawl"], r["view"]) == ("CC-MAIN-2024-33", "captures"))
    assert mle["mle_error"] == pytest.approx(-0.02) and mle["mle_covered"]
    assert not by_key[("CC-MAIN-2024-33", "unique")]["within_tolerance"]
    # Only the captures view decides: a miss in the unique view alone passes.
    assert passed(rows)
    assert not passed(compare(truth, {**estimates, ("CC-MAIN-2021-04", "captures"): {"prevalence": 0.03}}, 0.02))
    missing = compare(truth, {k: v for k, v in estimates.items() if k[1] != "captures" or k[0] != "CC-MAIN-2021-04"},
                      0.02)
    assert not passed(missing)


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


def test_the_truth_of_the_kind_the_model_knows_is_reported_beside_the_whole_truth(tmp_path):
    truth = [{**_truth("CC-MAIN-2024-33", "captures", 30, 100), "n_known_scored": 14}]
    row = compare(truth, {("CC-MAIN-2024-33", "captures"): {"prevalence": 0.15, "ci_low": 0.1, "ci_high": 0.2}},
                  tolerance=0.02)[0]
    assert row["truth_known"] == pytest.approx(0.14) and row["bias_known"] == pytest.approx(0.01)
    assert row["bias"] == pytest.approx(-0.15) and not row["within_tolerance"]  # the rule reads the whole truth
    table = format_table({"rows": [row], "estimator": "hdy_v1", "llm_component": "x", "passed": passed([row]),
                          "rule": "r", "tolerance": 0.02, "pages": 100, "seconds": 1.0})
    assert "known%" in table.splitlines()[0] and " 14.0 " in table.splitlines()[1] and "+1.0" in table.splitlines()[1]
    assert compare([_truth("CC-MAIN-2024-33", "captures", 3, 10)], {}, 0.02)[0]["truth_known"] is None
    write_result(tmp_path, {"rows": [row]})  # validation.csv has a column for every field of a row
    assert "truth_known" in (tmp_path / "validation.csv").read_text().splitlines()[0]
