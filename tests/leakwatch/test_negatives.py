"""`leakwatch train --negatives WAREHOUSE [--crawl ID ...]`: the shared real pre-2022 web pages, extracted as
extract does, in a warehouse's documents table, train as human text; only pre-ChatGPT crawls, only the latest
ingest run of each file, and the card records what was added."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leakwatch.errors import ConfigError
from leakwatch.training.negatives import read_negatives
from leakwatch.training.train import TrainOptions, train
from leakwatch.udfs.classifier import MIN_WORDS
from leakwatch.udfs.html import decode_html, main_text
from leakwatch.udfs.langid import identify_languages
from tests.leakwatch.test_training import SMALL, write_llm_pages, write_tiny_corpus

PRE, POST = "CC-MAIN-2021-04", "CC-MAIN-2024-10"


def _readability_texts(shared: Path) -> list[str]:
    root = shared / "web" / "readability"
    texts = []
    for line in (root / "added_dates.txt").read_text().splitlines():
        date, name = line.split(maxsplit=1)
        if date < "2022-01-01":
            texts.append(main_text(decode_html((root / "pages" / name / "source.html").read_bytes(), None)[0]))
    return texts


def _write_table(path: Path, rows: list[dict]) -> None:
    for crawl in sorted({r["crawl"] for r in rows}):
        part = path / f"crawl={crawl}"
        part.mkdir(parents=True, exist_ok=True)
        mine = [{k: v for k, v in r.items() if k != "crawl"} for r in rows if r["crawl"] == crawl]
        pq.write_table(pa.Table.from_pylist(mine), part / "part-0.parquet")


@pytest.fixture(scope="module")
def warehouse(shared_data, tmp_path_factory) -> Path:
    """documents + ingest_log: the shared pages in a pre-ChatGPT crawl (and once more from a stale run),
    LLM pages in a post-ChatGPT crawl."""
    root = tmp_path_factory.mktemp("warehouse")
    texts = _readability_texts(shared_data)
    languages = [code for code, _ in identify_languages(texts)]
    docs = []
    for i, (text, lang) in enumerate(zip(texts, languages, strict=True)):
        for run in ("old", "new"):
            docs.append({"doc_id": 2 * i + (run == "new"), "crawl": PRE, "registered_domain": f"site{i}.example",
                         "language": lang, "n_words": len(text.split()), "text": text,
                         "warc_path": f"file:///w/{PRE}/{i % 3}.warc.gz", "run_id": run})
    llm = [json.loads(line)["text"] for line in write_llm_pages(root / "pages.jsonl").read_text().splitlines()]
    docs += [{"doc_id": 10_000 + i, "crawl": POST, "registered_domain": "farm.example", "language": "en",
              "n_words": len(t.split()), "text": t, "warc_path": f"file:///w/{POST}/0.warc.gz", "run_id": "new"}
             for i, t in enumerate(llm)]
    _write_table(root / "documents", docs)
    logs = [{"path": p, "crawl": c, "run_id": run, "finished_at": dt.datetime(2024, 1, day, tzinfo=dt.UTC)}
            for p, c in {(d["warc_path"], d["crawl"]) for d in docs} for run, day in (("old", 1), ("new", 2))]
    _write_table(root / "ingest_log", logs)
    return root


@pytest.mark.shared
def test_pre_chatgpt_pages_of_the_latest_run_are_added(shared_data, warehouse):
    examples, report = read_negatives(str(warehouse), (), 20000, 0)
    texts = _readability_texts(shared_data)
    languages = [code for code, _ in identify_languages(texts)]
    # A list, not a set: two pages of the suite may extract to one text, and each is a document of its own.
    eligible = [t for t, lang in zip(texts, languages, strict=True) if lang == "en" and len(t.split()) >= MIN_WORDS]
    assert report["crawls"] == [PRE] and report["per_crawl"] == {PRE: len(examples)}
    # Each page once (the stale run's copies are not valid documents), English and long enough; no LLM page.
    assert sorted(e.text for e in examples) == sorted(eligible)
    assert report["rows_read"] == 2 * len(texts) + 60 and report["pages_added"] == report["pages_eligible"]
    assert all(not e.llm and e.source == "negatives" for e in examples)
    assert 0 < report["pages_heldout"] < len(examples)
    assert report["fingerprint"].startswith("sha256:")


@pytest.mark.shared
@pytest.mark.parametrize(("crawls", "message"), [
    ((POST,), "is not a pre-ChatGPT crawl"),
    (("CC-MAIN-2019-30",), "is not in"),
])
def test_crawls_that_cannot_be_negatives_are_refused(warehouse, crawls, message):
    with pytest.raises(ConfigError, match=message):
        read_negatives(str(warehouse), crawls, 20000, 0)


def test_a_folder_that_is_not_a_table_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        read_negatives(str(tmp_path / "missing"), (), 10, 0)
    with pytest.raises(ConfigError, match="pass --negatives too"):
        read_negatives(None, (PRE,), 10, 0)


@pytest.mark.shared
def test_train_with_negatives_records_them_in_the_card(warehouse, tmp_path):
    (tmp_path / "no-web").mkdir()
    options = TrainOptions(labeled=str(write_tiny_corpus(tmp_path / "data")), web=str(tmp_path / "no-web"),
                           llm_pages=(str(write_llm_pages(tmp_path / "pages.jsonl")),), negatives=str(warehouse),
                           model_dir=str(tmp_path / "model"), model_name="neg", evaluate=False)
    card = train(options, (PRE,), settings=SMALL)
    added = card["data"]["inputs"]["negatives"]
    assert added["crawls"] == [PRE] and added["pages_added"] > 0
    row = next(s for s in card["data"]["sources"] if s["source"] == "negatives")
    assert row["n_human"] == added["pages_added"] and row["n_heldout"] == added["pages_heldout"]
    assert card["metrics"]["web"]["negatives"]["n_scored"] > 0
    assert "negatives" in (Path(options.model_dir) / "neg.card.md").read_text()


def test_the_command_line_takes_negatives_and_crawl(tmp_path):
    done = subprocess.run([sys.executable, "-m", "leakwatch.cli", "train", "--negatives", str(tmp_path / "none"),
                           "--crawl", POST, "--labeled", str(write_tiny_corpus(tmp_path / "d", positions=2))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert f"--crawl {POST} is not a pre-ChatGPT crawl" in done.stderr and "Traceback" not in done.stderr
