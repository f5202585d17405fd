"""`leakwatch validate` end to end on a small labelled set made here, and its flags checked before Spark starts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from leakwatch.cli import main
from leakwatch.config import Config
from leakwatch.errors import ConfigError
from leakwatch.jobs.validate import validate
from leakwatch.schemas.values import VIEWS
from leakwatch.validation.inject import (
    COMPONENT_FILE,
    ValidateOptions,
    check_options,
)
from tests.labeled import write_labeled


@pytest.fixture(scope="module")
def labeled(tmp_path_factory) -> Path:
    """A labelled folder of human/LLM pairs (tests/labeled.py)."""
    return write_labeled(tmp_path_factory.mktemp("labeled"))


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


@pytest.mark.spark
def test_validate_end_to_end(spark, labeled, tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKWATCH_CACHE", str(tmp_path / "cache"))
    config = Config().replace({
        "train.labeled": str(labeled), "validate.validation_dir": str(tmp_path / "out"),
        "validate.crawls": ("CC-MAIN-2021-04", "CC-MAIN-2022-33", "CC-MAIN-2024-33"),
        "validate.shares": (0.0, 0.0, 0.3),
        "validate.docs_per_crawl": 120, "validate.injection_seed": 0, "validate.pages_per_shard": 60,
        "stats.replicates": 50,
    })
    result = validate(spark, config, say=lambda _: None)
    out = tmp_path / "out"
    rows = result["rows"]
    # A view without pages has no row: the second pre-ChatGPT crawl's few human texts were all seen before.
    got = {(r["crawl"], r["view"]) for r in rows}
    assert got <= {(c, v) for c in config.validate.crawls for v in VIEWS}
    assert {(c, v) for c in config.validate.crawls for v in ("captures", "unique")} <= got
    with (out / "validation.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)
    assert json.loads((out / "validation.json").read_text())["rows"] == rows
    # The LLM component: the calibration half's LLM texts and the LLM web pages' calibration split.
    component = [json.loads(line) for line in (out / COMPONENT_FILE).read_text().splitlines()]
    assert {"text", "generator", "group"} == set(component[0]) and {c["generator"] for c in component} >= {"claude"}
    # Truth in the captures view: every page written was extracted, with its planned label.
    with (out / "pages.csv").open() as fh:
        planned = list(csv.DictReader(fh))
    for crawl in config.validate.crawls:
        mine = [p for p in planned if p["crawl"] == crawl]
        row = next(r for r in rows if r["crawl"] == crawl and r["view"] == "captures")
        assert row["n_docs"] == len(mine) == 120
        assert row["truth_all"] == pytest.approx(np.mean([int(p["llm"]) for p in mine]))
        if row["estimate"] is None:
            assert row["not_measurable"]
        else:
            assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
        assert row["bound"] is not None or row["not_measurable"]
    pre = next(r for r in rows if r["crawl"] == "CC-MAIN-2021-04" and r["view"] == "captures")
    assert pre["truth_all"] == 0.0 and pre["pre_chatgpt"]
    assert result["passed"] == all(r["bias"] is not None and abs(r["bias"]) <= 0.02
                                   for r in rows if r["view"] == "captures")
    # The bake-off: every estimator in the leave-one-generator-out and the drift runs.
    runs = {(b["run"], b["estimator"]) for b in result["bakeoff"]}
    assert {run for run, _ in runs} == {"logo", "drift"} and {e for _, e in runs} == set(result["estimators"])
    assert all(0 <= b["coverage"] <= 1 and b["crawls"] > 0 for b in result["bakeoff"])
    assert (out / "bakeoff.csv").exists() and (out / "warehouse" / "report" / "index.html").exists()
