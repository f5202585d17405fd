"""`leakwatch score`: JSONL in, JSONL with p_llm out, and the line it cannot read named."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from leakwatch.udfs.classifier import default_model_path

LLM = "moreover it is crucial to delve into the intricate tapestry of this comprehensive topic " * 6


@pytest.fixture(scope="module")
def shipped_model() -> str:
    """The shipped model (tests/leakwatch/test_training.py trains a tiny one: a second fasttext training
    in one test process stops with "Encountered NaN" far more often, so this file trains none)."""
    return str(default_model_path())


def test_score_command_writes_jsonl(tmp_path, shipped_model):
    lines = [json.dumps({"id": 1, "text": LLM}), json.dumps({"id": 2, "text": "Kurzer deutscher Text."})]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "-m", "leakwatch.cli", "score", "--model", shipped_model, str(source)],
                          capture_output=True, text=True, timeout=120, check=True)
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2]
    assert out[0]["scored"] and out[0]["p_llm"] > 0.5
    assert out[1]["p_llm"] is None and not out[1]["scored"]


def test_score_command_names_the_bad_line(tmp_path, shipped_model):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "fine"}\nnot json\n')
    done = subprocess.run([sys.executable, "-m", "leakwatch.cli", "score", "--model", shipped_model, str(source)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{source}:2: not JSON" in done.stderr
