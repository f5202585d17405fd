"""`leakwatch classify`: the Spark UDF equals the plain functions, across Arrow batches too, and
rescoring one crawl keeps the others in a session in static partition-overwrite mode."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from leakwatch.config import Config
from leakwatch.jobs.classify import classify, score_documents, ship_model
from leakwatch.jobs.results import CrawlScores
from leakwatch.jobs.spark import MAX_RECORDS_PER_BATCH
from leakwatch.schemas.tables import DOCUMENTS, INGEST_LOG, SCORES
from leakwatch.udfs.classifier import ClassifyOptions, default_model_path, model_id, score_frame
from leakwatch.udfs.markers import marker_frame

LLM = "moreover it is crucial to delve into the intricate tapestry of this comprehensive topic " * 6


HUMAN = "the old house stood near the river and we walked there every morning with our dog " * 6


RUN = "run-1"


WARCS = {c: f"file:///data/{c}/one.warc.gz" for c in ("CC-MAIN-2024-10", "CC-MAIN-2019-30")}


@pytest.fixture(scope="module")
def shipped_model() -> str:
    """The shipped model (tests/leakwatch/test_training.py trains a tiny one: a second fasttext training
    in one test process stops with "Encountered NaN" far more often, so this file trains none)."""
    return str(default_model_path())


def _document(doc_id: int, crawl: str, text: str, language: str | None) -> dict:
    return {
        "doc_id": doc_id, "crawl": crawl, "warc_path": WARCS[crawl], "warc_offset": doc_id * 100,
        "warc_record_id": None, "url": f"https://example.com/{doc_id}", "host": "example.com",
        "registered_domain": "example.com", "tld": "com", "fetch_time": None, "fetch_month": None,
        "http_last_modified": None, "published_date": None, "language": language,
        "language_score": 0.9, "charset": "utf-8", "charset_source": "header", "decode_errors": 0,
        "n_chars": len(text), "n_words": len(text.split()), "text": text, "text_hash": doc_id,
        "extractor_version": "test", "run_id": RUN,
    }


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory) -> str:
    """A warehouse with documents of two crawls and the ingest_log that makes them valid."""
    root = str(tmp_path_factory.mktemp("warehouse"))
    docs = [
        _document(1, "CC-MAIN-2024-10", LLM + " As an AI language model, I delved.", "en"),
        _document(2, "CC-MAIN-2024-10", HUMAN, "en"),
        _document(3, "CC-MAIN-2024-10", HUMAN, "de"),  # not English: not scored
        _document(4, "CC-MAIN-2024-10", "Too short to score.", "en"),
        _document(5, "CC-MAIN-2019-30", LLM, "en"),
        _document(6, "CC-MAIN-2019-30", HUMAN, None),
    ]
    spark.createDataFrame(docs, DOCUMENTS).write.partitionBy("crawl").parquet(f"{root}/documents")
    logs = [{
        "path": path, "crawl": crawl, "status": "ok", "error_class": None, "error_message": None,
        "attempts": 1, "records": 3, "records_by_type": {"response": 3}, "kept": 3, "skipped": {},
        "decode_replacements": 0, "bytes_read": 1, "seconds": 0.1, "extractor_version": "test",
        "run_id": RUN, "finished_at": dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
    } for crawl, path in WARCS.items()]
    spark.createDataFrame(logs, INGEST_LOG).write.parquet(f"{root}/ingest_log")
    return root


@pytest.mark.spark
def test_udf_scores_equal_the_plain_function(spark, warehouse, shipped_model):
    config = Config(warehouse=warehouse, run_id="classify-1", classify=ClassifyOptions(model=shipped_model))
    summary = classify(spark, config)
    assert summary.crawls == {"CC-MAIN-2024-10": CrawlScores(documents=4, scored=2),
                              "CC-MAIN-2019-30": CrawlScores(documents=2, scored=1)}
    scores = spark.read.parquet(f"{warehouse}/scores")
    assert set(scores.columns) == set(SCORES.fieldNames())
    rows = {r["doc_id"]: r for r in scores.collect()}
    docs = {r["doc_id"]: r for r in spark.read.parquet(f"{warehouse}/documents").collect()}
    ids = sorted(docs)
    plain = score_frame([docs[i]["text"] for i in ids], [docs[i]["language"] for i in ids],
                        [docs[i]["n_words"] for i in ids], shipped_model)
    markers = marker_frame([docs[i]["text"] for i in ids])
    for k, i in enumerate(ids):
        row = rows[i]
        assert row["scored"] == bool(plain["scored"][k])
        if row["scored"]:
            assert math.isclose(row["p_llm"], plain["p_llm"][k], rel_tol=1e-12)
        else:
            assert row["p_llm"] is None
        assert row["chatbot_leftovers"] == markers["chatbot_leftovers"][k]
        assert row["llm_style_words"] == markers["llm_style_words"][k]
        assert row["model_id"] == model_id(shipped_model)
        assert row["n_words"] == docs[i]["n_words"]
    assert rows[1]["p_llm"] > 0.5 > rows[2]["p_llm"]
    assert rows[1]["marker_terms"] == {"delve": 7, "tapestry": 6, "intricate": 6, "as an ai language model": 1}
    assert rows[3]["p_llm"] is None and rows[4]["p_llm"] is None and rows[6]["p_llm"] is None


@pytest.mark.spark
def test_batches_build_every_column_as_the_plain_functions(spark, shipped_model):
    """Several Arrow batches, one of them all unscored: each column, marker_terms included (an
    empty map where nothing matched), equals the plain functions, with the table's types."""
    texts = [LLM + " As an AI language model, I delved.", HUMAN, HUMAN, "Too short to score.", LLM]
    languages = ["en", "en", "de", "en", None]
    pairs = enumerate(zip(texts, languages, strict=True))
    rows = [(i, "CC-MAIN-2024-10", lang, len(t.split()), t) for i, (t, lang) in pairs]
    docs = spark.createDataFrame(rows, "doc_id long, crawl string, language string, n_words int, text string")
    mid = model_id(shipped_model)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "2")
    try:
        scores = score_documents(docs, ship_model(spark, Path(shipped_model), mid), mid, "run-b")
        got = {r["doc_id"]: r for r in scores.collect()}
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert [(f.name, f.dataType) for f in scores.schema.fields] == [(f.name, f.dataType) for f in SCORES.fields]
    plain = score_frame(texts, languages, [r[3] for r in rows], shipped_model)
    markers = marker_frame(texts)
    for i, text in enumerate(texts):
        row = got[i]
        assert row["scored"] == bool(plain["scored"][i])
        assert row["p_llm"] == (plain["p_llm"][i] if row["scored"] else None)
        for name in ("chatbot_leftovers", "llm_style_words", "neutral_control"):
            assert row[name] == markers[name][i]
        assert row["marker_terms"] == markers["marker_terms"][i]
        assert (row["crawl"], row["n_words"], row["model_id"], row["run_id"]) == (
            "CC-MAIN-2024-10", len(text.split()), mid, "run-b")
    assert got[0]["marker_terms"]["as an ai language model"] == 1 and got[3]["marker_terms"] == {}


@pytest.mark.spark
def test_rescoring_one_crawl_keeps_the_others_in_a_static_overwrite_session(spark, warehouse, shipped_model):
    """In a session in Spark's default static partition-overwrite mode (as one made before leakwatch's
    would be), classify of one crawl replaces that crawl's scores only; the UDF's batch size it sets is
    the session's own again afterwards."""
    config = Config(warehouse=warehouse, classify=ClassifyOptions(model=shipped_model))
    batch = spark.conf.get(MAX_RECORDS_PER_BATCH, None)
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "static")
    try:
        classify(spark, config.replace({"run_id": "classify-2"}))
        classify(spark, config.replace({"run_id": "classify-3"}), ["CC-MAIN-2019-30"])
    finally:
        spark.conf.unset("spark.sql.sources.partitionOverwriteMode")
    runs = {(r["crawl"], r["run_id"]) for r in spark.read.parquet(f"{warehouse}/scores").collect()}
    assert runs == {("CC-MAIN-2024-10", "classify-2"), ("CC-MAIN-2019-30", "classify-3")}
    assert spark.conf.get(MAX_RECORDS_PER_BATCH, None) == batch
