"""Marker lexicons: whole-word, case-insensitive counts under the lexicon file's inflection rules."""

from __future__ import annotations

import json

import pytest

from leakwatch.schemas.values import LEXICON_NAMES
from leakwatch.udfs.markers import (
    LEXICON_FILE,
    LexiconError,
    compile_lexicons,
    count_markers,
    expand,
    lexicons,
    marker_frame,
)


def test_inflected_forms_count_and_substrings_do_not():
    per_lexicon, per_term = count_markers("She DELVED in. He delves; they are delving. Undelve, delvedx, redelve.")
    assert per_term == {"delve": 3}
    assert per_lexicon["llm_style_words"] == 3


def test_rules_expand_as_the_file_says():
    rules = json.loads(LEXICON_FILE.read_text())["inflections"]
    assert expand("delve", rules["verb_e"]) == ["delve", "delves", "delved", "delving"]
    assert expand("tapestry", rules["noun_y"]) == ["tapestry", "tapestries"]
    assert expand("commendable", rules["adj_ble"]) == ["commendable", "commendably"]
    with pytest.raises(LexiconError):
        expand("realm", rules["noun_y"])


def test_phrases_match_across_case_spacing_and_punctuation():
    text = "AS AN AI LANGUAGE\nMODEL, I can’t fulfill that. Regenerate   response"
    per_lexicon, per_term = count_markers(text)
    assert per_term == {"as an ai language model": 1, "i can't fulfill": 1, "regenerate response": 1}
    assert per_lexicon == {"chatbot_leftovers": 3, "llm_style_words": 0, "neutral_control": 0}
    assert count_markers("as an ai language modeling course")[0]["chatbot_leftovers"] == 0


def test_control_words_and_frame():
    frame = marker_frame(["Two houses, one city, many cities.", "", "A rich tapestry of tapestries."])
    assert list(frame.columns) == [*LEXICON_NAMES, "marker_terms"]
    assert frame["neutral_control"].tolist() == [3, 0, 0]
    assert frame["llm_style_words"].tolist() == [0, 0, 2]
    assert frame["marker_terms"].tolist() == [{"house": 1, "city": 2}, {}, {"tapestry": 2}]


def test_shipped_file_is_versioned_and_every_term_has_a_source():
    spec = json.loads(LEXICON_FILE.read_text())
    assert lexicons().version == spec["version"]
    for lexicon in spec["lexicons"].values():
        for entry in lexicon["terms"]:
            assert entry["source"] in spec["sources"], entry


def test_broken_lexicon_files_are_refused():
    spec = json.loads(LEXICON_FILE.read_text())
    spec["lexicons"]["llm_style_words"]["terms"].append({"term": "delve", "rule": "none", "source": "kobak2024"})
    with pytest.raises(LexiconError, match="listed twice"):
        compile_lexicons(spec)
    spec = json.loads(LEXICON_FILE.read_text())
    spec["lexicons"]["neutral_control"]["terms"][0]["source"] = "nowhere"
    with pytest.raises(LexiconError, match="unknown rule or source"):
        compile_lexicons(spec)
