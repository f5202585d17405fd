"""The classifier in plain Python: its text form, sibling groups, the held-out split, and the
shipped model against its card."""

from __future__ import annotations

import json
from pathlib import Path

from leakwatch.udfs.classifier import (
    DEFAULT_MODEL,
    assign_groups,
    classifier_text,
    heldout_mask,
    is_heldout,
    load_card_schema,
    model_id,
    schema_errors,
)


def test_text_form_splits_punctuation_lowercases_and_caps_length():
    assert classifier_text("Hello, World!\nIt's 2024.") == "hello , world ! it ' s 0000 ."
    assert len(classifier_text("word " * 5000).split()) == 512


def test_siblings_share_a_group_by_position_pair_and_opening():
    l2r = [{"text": t, "label": lab, "generator": g, "domain": "d", "source": "l2r"} for t, lab, g in [
        ("first rewrite", "llm", "a"), ("second rewrite", "llm", "a"),
        ("another take on one", "llm", "b"), ("another take on two", "llm", "b"),
        ("original one", "human", ""), ("original two", "human", "")]]
    groups = assign_groups(l2r)
    assert groups[0] == groups[2] == groups[4] != groups[1]
    assert groups[1] == groups[3] == groups[5]
    pairs = [{"text": t, "label": lab, "generator": "g", "domain": "x", "source": "mgtbench"} for t, lab in [
        ("q one context", "human"), ("an answer", "llm"), ("q two context", "human"), ("other answer", "llm")]]
    assert len(set(assign_groups(pairs))) == 2
    opening = "one two three four five six seven eight"
    cont = [{"text": f"{opening} {end}", "label": lab, "domain": "s", "source": "seqxgpt"}
            for end, lab in [("human end", "human"), ("model end", "llm"), ("x", "llm")]]
    assert len(set(assign_groups(cont))) == 1


def test_heldout_is_stable_and_near_its_share():
    ids = [f"groups1:{i:016x}" for i in range(5000)]
    share = sum(map(is_heldout, ids)) / len(ids)
    assert 0.18 < share < 0.22
    assert [is_heldout(i) for i in ids[:50]] == [is_heldout(i) for i in ids[:50]]


def test_shipped_model_is_small_and_matches_its_card():
    card = json.loads(DEFAULT_MODEL.with_name(DEFAULT_MODEL.name.replace(".ftz", ".card.json")).read_text())
    assert DEFAULT_MODEL.stat().st_size <= 10_000_000
    assert card["model"]["model_id"] == model_id(str(DEFAULT_MODEL))
    assert schema_errors(card, load_card_schema(card["card_version"])) == []


def test_heldout_groups_keep_l2r_siblings_together(shared_data):
    examples = read_corpus_file(shared_data / "labeled" / "l2r.jsonl")
    mask = heldout_mask(examples)
    # l2r: per domain, blocks of equal length; position i of each block is one sibling group.
    by_group: dict[tuple, set[bool]] = {}
    position, last = 0, None
    for rec, held in zip(examples, mask, strict=True):
        key = (rec["domain"], rec["label"], rec["generator"])
        position = position + 1 if key == last else 0
        last = key
        by_group.setdefault((rec["domain"], position), set()).add(held)
    assert all(len(v) == 1 for v in by_group.values())
    assert 0.15 < sum(mask) / len(mask) < 0.25


def read_corpus_file(path: Path) -> list[dict]:
    """The records of one labelled JSONL file, in order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
