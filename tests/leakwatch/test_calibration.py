"""Where TPR and FPR come from: the model card slices and thresholds, and the negative-control check."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from leakwatch.errors import StatsError
from leakwatch.estimators.calibration import (
    NegativeControl,
    ResolvedCalibration,
    card_calibration,
    find_card,
    negative_control,
)
from leakwatch.estimators.options import StatsOptions
from leakwatch.schemas.calibration import Calibration
from leakwatch.udfs.classifier import default_model_path, model_id
from tests.cards import write_card


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> str:
    return write_card(tmp_path_factory.mktemp("card") / "test.card.json")


def test_negative_control_says_when_the_fpr_does_not_fit_the_pre_chatgpt_pages():
    calibration = ResolvedCalibration(0.5, Calibration(40, 100, 20, 100), "test")  # FPR 0.2 of 100 texts
    headline = pd.DataFrame({
        "crawl": ["CC-MAIN-2019-30", "CC-MAIN-2020-05", "CC-MAIN-2021-04", "CC-MAIN-2024-10"],
        "pre_chatgpt": [True, True, True, False], "n_scored": [400, 400, 0, 400],
        "raw_share": [0.21, 0.067, None, 0.9],
    })
    checks = negative_control(headline, calibration)
    assert checks == {"CC-MAIN-2019-30": NegativeControl(raw_share=0.21, fpr=0.2, fits=True),
                      "CC-MAIN-2020-05": NegativeControl(raw_share=0.067, fpr=0.2, fits=False)}


def test_card_choices_are_checked(tmp_path):
    path = write_card(tmp_path / "test.card.json")
    with open(path, encoding="utf-8") as fh:
        card = json.load(fh)
    same = card_calibration(card, path, StatsOptions(fpr_slice="same", flag_threshold=0.8)).counts
    assert (same.true_positives, same.positives, same.false_positives, same.negatives) == (150, 400, 6, 300)
    with pytest.raises(StatsError, match="slice 'domain:nowhere' is not in"):
        card_calibration(card, path, StatsOptions(calibration="domain:nowhere"))
    with pytest.raises(StatsError, match="threshold 0.7 is not in slice 'overall'.*0.5, 0.8"):
        card_calibration(card, path, StatsOptions(flag_threshold=0.7))
    with pytest.raises(StatsError, match="has no LLM texts"):
        card_calibration(card, path, StatsOptions(calibration="source:web-cc2019"))
    with pytest.raises(StatsError, match="is for model sha256:0123456789abcdef"):
        find_card("sha256:other", StatsOptions(card=path), None)


def test_the_shipped_card_is_found_by_the_shipped_model_id():
    shipped = model_id(str(default_model_path()))
    card, path = find_card(shipped, StatsOptions(), None)
    assert path.endswith("leakwatch-llm-v2.card.json") and card["model"]["model_id"] == shipped
    assert math.isclose(card["operating_threshold"]["value"], card["scoring"]["threshold"])
