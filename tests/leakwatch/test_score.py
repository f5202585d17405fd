"""`leakwatch score`: JSONL in, JSONL with p_llm, the threshold, the flag and why a text was not scored out;
bad input (empty text, control characters, a lone surrogate, a 10 MB text) scored or given a reason, and a
line it cannot read (not UTF-8, not JSON, not an object with a string text) named."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from leakwatch.udfs.classifier import default_model_path
from leakwatch.udfs.scoring import operating_threshold

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
    assert out[0]["scored"] and out[0]["p_llm"] > 0.5 and out[0]["not_scored"] is None
    assert out[0]["threshold"] == operating_threshold(shipped_model)
    assert out[0]["flagged"] == (out[0]["p_llm"] >= out[0]["threshold"])
    assert out[1]["p_llm"] is None and not out[1]["scored"] and out[1]["flagged"] is None
    assert out[1]["not_scored"] == "not_english"  # language is checked before length


def test_score_command_names_the_bad_line(tmp_path, shipped_model):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "fine"}\nnot json\n')
    done = subprocess.run([sys.executable, "-m", "leakwatch.cli", "score", "--model", shipped_model, str(source)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"{source}:2: not JSON" in done.stderr


WEB_LLM = ("Whether you're a first-time buyer or a seasoned collector, our curated selection offers something for "
       "everyone. Discover timeless pieces crafted with care, and elevate your space today. ") * 4


def _score(tmp_path, payload: bytes) -> subprocess.CompletedProcess:
    source = tmp_path / "in.jsonl"
    source.write_bytes(payload)
    return subprocess.run([sys.executable, "-m", "leakwatch.cli", "score", "--model", str(default_model_path()),
                           str(source)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> list[dict]:
    lines = [
        {"id": "llm", "text": WEB_LLM},
        {"id": "empty", "text": ""},
        {"id": "german", "text": "Das ist ein kurzer deutscher Text über das Wetter in Berlin und München. " * 8},
        {"id": "short", "text": "A short notice."},
        {"id": "control", "text": "\x00\x07 " + WEB_LLM + "\x1b\x7f"},
        {"id": "surrogate", "text": WEB_LLM + "\udcff"},
        {"id": "huge", "text": WEB_LLM * 28_000},  # ~10 MB
    ]
    payload = "".join(json.dumps(r) + "\n" for r in lines).encode("utf-8")
    done = _score(tmp_path_factory.mktemp("score"), payload)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_every_text_gets_a_score_or_a_reason(scored):
    by_id = {r["id"]: r for r in scored}
    assert list(by_id) == ["llm", "empty", "german", "short", "control", "surrogate", "huge"]
    assert by_id["empty"]["not_scored"] == "empty" and by_id["empty"]["p_llm"] is None
    assert by_id["german"]["not_scored"] == "not_english"
    assert by_id["short"]["not_scored"] == "too_short"
    for name in ("llm", "control", "surrogate", "huge"):
        r = by_id[name]
        assert r["scored"] and r["not_scored"] is None and 0 < r["p_llm"] < 1
        assert r["flagged"] == (r["p_llm"] >= r["threshold"])
    # Control characters and a lone surrogate do not change what the model reads.
    assert by_id["control"]["p_llm"] == pytest.approx(by_id["llm"]["p_llm"], abs=1e-6)
    assert by_id["surrogate"]["p_llm"] == pytest.approx(by_id["llm"]["p_llm"], abs=1e-6)


@pytest.mark.parametrize(("payload", "message"), [
    (b'{"text": "fine"}\n[1, 2]\n', ":2: expected a JSON object, got list"),
    (b'{"text": 3}\n', ":1: expected an object with a string 'text' field"),
    (b'{"text": "fine"}\n{"text": "caf\xe9"}\n', ":2: not UTF-8 text"),
    (b'{"text": "fine"}\nnot json\n', ":2: not JSON"),
])
def test_a_bad_line_stops_the_run_with_its_number(tmp_path, payload, message):
    done = _score(tmp_path, payload)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
