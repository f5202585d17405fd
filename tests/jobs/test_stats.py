"""`leakwatch stats` over a small warehouse written here: the rows against an independent pandas
computation, the CI, provenance, the CSV and JSON copies, reruns, calibration files, what it refuses."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from leakwatch.config import Config
from leakwatch.errors import StatsError
from leakwatch.estimators.options import StatsOptions
from leakwatch.jobs.stats import load_calibration_file, run_stats
from leakwatch.schemas.tables import CLUSTERS, DOCUMENTS, INGEST_LOG, SCORES, STATS
from tests.cards import MODEL, write_card

CRAWLS = ("CC-MAIN-2021-04", "CC-MAIN-2023-50", "CC-MAIN-2024-10")  # the first is pre-ChatGPT

RUN = "extract-1"


# (registered domain, host, tld): an IP host has no registered domain and is its own cluster.
SITES = [("a.com", "www.a.com", "com"), ("a.com", "blog.a.com", "com"), ("b.com", "b.com", "com"),
         ("c.org", "c.org", "org"), ("d.de", "www.d.de", "de"), ("e.de", "e.de", "de"),
         (None, "10.0.0.1", None)]


KEY = ["time_slice", "period", "crawl", "view", "dimension", "value"]


def make_tables(seed: int = 7, per_crawl: int = 70, model_ids: dict | None = None) -> tuple[list, list, list]:
    """documents, clusters and scores rows of three crawls; LLM-like scores grow after ChatGPT."""
    rng = np.random.default_rng(seed)
    docs, clusters, scores = [], [], []
    for ci, crawl in enumerate(CRAWLS):
        year = int(crawl[8:12])
        ids = [ci * 1000 + i + 1 for i in range(per_crawl)]
        # Most pages sit on a.com's hosts, so the top-domain rows are not a tie.
        site_idx = rng.choice(len(SITES), per_crawl, p=[0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05])
        # Clusters of 1-3 consecutive pages; the first page of each is the representative.
        cluster_of, rep = {}, {}
        i = 0
        while i < per_crawl:
            size = int(rng.choice([1, 1, 2, 3]))
            members = ids[i:i + size]
            for m in members:
                cluster_of[m] = (members[0], len(members))
            rep[members[0]] = True
            i += size
        for k, doc_id in enumerate(ids):
            domain, host, tld = SITES[site_idx[k]]
            language = rng.choice(["en", "en", "en", "en", "de", None])
            n_words = int(rng.integers(20, 400))
            published = rng.choice([None, "2019-05-01", f"{year}-0{1 + k % 3}-15T10:00:00", "garbage"])
            modified = dt.datetime(year - 1, 1 + k % 12, 3) if published is None and k % 2 else None
            docs.append({
                "doc_id": doc_id, "crawl": crawl, "warc_path": f"file:///data/{crawl}.warc.gz",
                "warc_offset": doc_id * 100, "warc_record_id": None, "url": f"https://{host}/{doc_id}",
                "host": host, "registered_domain": domain, "tld": tld,
                "fetch_time": dt.datetime(year, 2 + k % 2, 10), "fetch_month": f"{year}-0{2 + k % 2}",
                "http_last_modified": modified, "published_date": published, "language": language,
                "language_score": 0.9, "charset": "utf-8", "charset_source": "header", "decode_errors": 0,
                "n_chars": n_words * 6, "n_words": n_words, "text": "x", "text_hash": doc_id,
                "extractor_version": "ext-1", "run_id": RUN,
            })
            cluster_id, size = cluster_of[doc_id]
            is_rep = doc_id in rep
            earlier = CRAWLS[0] if ci and is_rep and rng.random() < 0.3 else crawl
            clusters.append({
                "doc_id": doc_id, "crawl": crawl, "cluster_id": cluster_id, "cluster_size": size,
                "is_representative": is_rep, "exact_group": cluster_id, "n_shingles": 50,
                "first_seen_crawl_url": crawl, "first_seen_crawl_content": earlier,
                "cluster_first_seen_crawl": earlier, "fingerprint": "fp-test",
            })
            scored = language == "en" and n_words >= 50
            llm_like = ci > 0 and rng.random() < 0.4
            p = float(rng.beta(5, 2) if llm_like else rng.beta(2, 5)) if scored else None
            scores.append({
                "doc_id": doc_id, "crawl": crawl, "p_llm": p, "scored": scored,
                "model_id": (model_ids or {}).get(crawl, MODEL), "n_words": n_words,
                "chatbot_leftovers": int(rng.poisson(0.05 + ci * 0.2)), "llm_style_words": int(rng.poisson(1 + ci)),
                "neutral_control": int(rng.poisson(3)), "marker_terms": {}, "lexicon_version": "lex-1",
                "run_id": "classify-1",
            })
    return docs, clusters, scores


def write_warehouse(spark, root: str, docs: list, clusters: list | None, scores: list | None) -> str:
    """Write the tables (and the ingest_log that makes the documents valid) under `root`."""
    spark.createDataFrame(docs, DOCUMENTS).write.partitionBy("crawl").parquet(f"{root}/documents")
    logs = [{
        "path": f"file:///data/{crawl}.warc.gz", "crawl": crawl, "status": "ok", "error_class": None,
        "error_message": None, "attempts": 1, "records": 1, "records_by_type": {}, "kept": 1, "skipped": {},
        "decode_replacements": 0, "bytes_read": 1, "seconds": 0.1, "extractor_version": "ext-1", "run_id": RUN,
        "finished_at": dt.datetime(2024, 3, 1),
    } for crawl in sorted({d["crawl"] for d in docs})]
    spark.createDataFrame(logs, INGEST_LOG).write.parquet(f"{root}/ingest_log")
    if clusters is not None:
        spark.createDataFrame(clusters, CLUSTERS).write.partitionBy("crawl").parquet(f"{root}/clusters")
    if scores is not None:
        spark.createDataFrame(scores, SCORES).write.partitionBy("crawl").parquet(f"{root}/scores")
    return root


@pytest.fixture(scope="module")
def tables():
    return make_tables()


@pytest.fixture(scope="module")
def warehouse(spark, tmp_path_factory, tables) -> str:
    return write_warehouse(spark, str(tmp_path_factory.mktemp("stats_wh")), *tables)


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> str:
    return write_card(tmp_path_factory.mktemp("card") / "test.card.json")


def stats_config(warehouse: str, card: str, **options) -> Config:
    settings = {"replicates": 200, "top_domains": 3, "min_site_docs": 3, "card": card, **options}
    return Config(warehouse=warehouse, run_id="stats-1", stats=StatsOptions(**settings))


@pytest.fixture(scope="module")
def result(spark, warehouse, card):
    summary = run_stats(spark, stats_config(warehouse, card))
    frame = spark.read.parquet(summary.stats).toPandas().sort_values(KEY).reset_index(drop=True)
    return summary, frame


def expected_rows(tables, top_n: int, tpr: float, fpr: float, threshold: float, min_site_docs: int) -> pd.DataFrame:
    """The stats rows computed directly in pandas from the rows written to the warehouse."""
    docs, clusters, scores = (pd.DataFrame(t) for t in tables)
    pages = docs.drop(columns=["n_words"]).merge(clusters, on=["doc_id", "crawl"]).merge(scores, on=["doc_id", "crawl"])
    pages["flagged"] = pages.scored & (pages.p_llm.fillna(-1) >= threshold)
    pages["domain_key"] = pages.registered_domain.fillna(pages.host)
    top = pages.registered_domain.value_counts().reset_index()
    top.columns = ["d", "n"]
    top = set(top.sort_values(["n", "d"], ascending=[False, True]).d.head(top_n))
    published = pages.published_date.fillna("").str.extract(r"^((?:19|20)\d\d-(?:0[1-9]|1[0-2]))")[0]
    pages["published_month"] = published.fillna(pages.http_last_modified.dt.strftime("%Y-%m"))
    views = {"captures": pages,
             "unique": pages[pages.is_representative],
             "first_seen": pages[pages.is_representative & (pages.first_seen_crawl_content == pages.crawl)]}
    site_cut = fpr + 0.5 * (tpr - fpr)
    out = []
    for view, v in views.items():
        parts = [("crawl", v.crawl, "all", pd.Series("all", index=v.index)),
                 ("crawl", v.crawl, "language", v.language.fillna("unknown")),
                 ("crawl", v.crawl, "tld", v.tld.fillna("unknown")),
                 ("crawl", v.crawl, "registered_domain", v.registered_domain.where(v.registered_domain.isin(top))),
                 ("fetch_month", v.fetch_month, "all", pd.Series("all", index=v.index)),
                 ("published_month", v.published_month, "all", pd.Series("all", index=v.index))]
        for time_slice, period, dimension, value in parts:
            frame = v.assign(period=period, value=value).dropna(subset=["period", "value"])
            for (per, crawl, val), g in frame.groupby(["period", "crawl", "value"]):
                s = g[g.scored]
                hosts = s.groupby("host").flagged.agg(["size", "mean"])
                judged = hosts[hosts["size"] >= min_site_docs]
                out.append({
                    "time_slice": time_slice, "period": per, "crawl": crawl, "view": view, "dimension": dimension,
                    "value": val, "n_docs": len(g), "n_scored": len(s), "n_flagged": int(s.flagged.sum()),
                    "n_domains": g.domain_key.nunique(), "coverage": len(s) / len(g),
                    "raw_share": s.flagged.mean() if len(s) else None,
                    "mean_p_llm": s.p_llm.mean() if len(s) else None,
                    "near_dup_share": (g.cluster_size >= 2).mean(), "n_words": int(g.n_words.sum()),
                    "n_sites": len(judged),
                    "llm_site_share": (judged["mean"] >= site_cut).mean() if len(judged) else None,
                    **{f"{m}_pmw": g[m].sum() * 1e6 / g.n_words.sum()
                       for m in ("chatbot_leftovers", "llm_style_words", "neutral_control")},
                })
    frame = pd.DataFrame(out)
    base = frame[(frame.time_slice == "crawl") & frame.crawl.isin(["CC-MAIN-2021-04"])]
    for m in ("chatbot_leftovers", "llm_style_words"):
        hits = base.assign(h=base[f"{m}_pmw"] * base.n_words / 1e6).groupby(["view", "dimension", "value"])
        rate = (hits.h.sum() * 1e6 / hits.n_words.sum()).rename(f"base_{m}")
        frame = frame.merge(rate.reset_index(), on=["view", "dimension", "value"], how="left")
        frame[f"{m}_excess_pmw"] = frame[f"{m}_pmw"] - frame[f"base_{m}"]
    return frame.sort_values(KEY).reset_index(drop=True)


@pytest.mark.spark
def test_rows_match_an_independent_pandas_computation(result, tables):
    summary, got = result
    want = expected_rows(tables, top_n=3, tpr=300 / 400, fpr=20 / 100, threshold=0.5, min_site_docs=3)
    assert list(got.columns) == STATS.fieldNames()
    assert got[KEY].values.tolist() == want[KEY].values.tolist()
    for column in ("n_docs", "n_scored", "n_flagged", "n_domains", "n_words", "n_sites"):
        assert got[column].tolist() == want[column].tolist(), column
    for column in ("coverage", "raw_share", "mean_p_llm", "near_dup_share", "llm_site_share", "chatbot_leftovers_pmw",
                   "llm_style_words_pmw", "neutral_control_pmw", "chatbot_leftovers_excess_pmw",
                   "llm_style_words_excess_pmw"):
        np.testing.assert_allclose(got[column].astype(float), want[column].astype(float), rtol=1e-9, atol=1e-9,
                                   err_msg=column)
    # Every view and slice is there, and views nest: first_seen <= unique <= captures.
    assert set(got.view) == {"captures", "unique", "first_seen"}
    assert set(got.time_slice) == {"crawl", "fetch_month", "published_month"}
    by_view = got[(got.time_slice == "crawl") & (got.dimension == "all")].set_index(["crawl", "view"]).n_docs
    for crawl in CRAWLS:
        assert by_view[crawl, "first_seen"] <= by_view[crawl, "unique"] < by_view[crawl, "captures"]
    assert summary.rows == len(got)


@pytest.mark.spark
def test_prevalence_is_the_corrected_share_and_the_ci_holds_it(result):
    _, got = result
    tpr, fpr = 300 / 400, 20 / 100  # TPR from the card's overall slice, FPR from source:web-cc2019
    assert (got.tpr == tpr).all() and (got.fpr == fpr).all() and (got.threshold == 0.5).all()
    assert (got.replicates == 200).all()
    scored = got[got.n_scored > 0]
    np.testing.assert_allclose(scored.prevalence, np.clip((scored.raw_share - fpr) / (tpr - fpr), 0, 1))
    assert (scored.ci_low <= scored.prevalence + 1e-12).all() and (scored.prevalence <= scored.ci_high + 1e-12).all()
    assert (scored.ci_low >= 0).all() and (scored.ci_high <= 1).all()
    assert got[got.n_scored == 0].prevalence.isna().all()
    # The pre-ChatGPT crawl is the negative control; the made-up later crawls hold LLM-like pages.
    headline = got[(got.time_slice == "crawl") & (got.view == "captures") & (got.dimension == "all")]
    assert headline.set_index("crawl").pre_chatgpt.to_dict() == {CRAWLS[0]: True, CRAWLS[1]: False, CRAWLS[2]: False}
    assert headline.set_index("crawl").prevalence[CRAWLS[2]] > headline.set_index("crawl").prevalence[CRAWLS[0]]


@pytest.mark.spark
def test_provenance_dates_and_summary(result):
    summary, got = result
    assert (got.model_id == MODEL).all() and (got.minhash_fingerprint == "fp-test").all()
    assert (got.extractor_version == "ext-1").all() and (got.lexicon_version == "lex-1").all()
    assert (got.run_id == "stats-1").all() and got.code_version.str.match(r"^\d+\.\d+\.\d+").all()
    assert got.calibration.str.contains("tpr:overall fpr:source:web-cc2019").all()
    assert got.set_index("crawl").crawl_date.to_dict() == {
        "CC-MAIN-2021-04": "2021-01-15", "CC-MAIN-2023-50": "2023-11-28", "CC-MAIN-2024-10": "2024-02-20"}
    headline = got[(got.time_slice == "crawl") & (got.view == "captures") & (got.dimension == "all")]
    assert set(summary.crawls) == set(CRAWLS)
    for row in headline.itertuples():
        assert summary.crawls[row.crawl].n_docs == row.n_docs
        assert summary.crawls[row.crawl].prevalence == pytest.approx(row.prevalence)
    assert summary.calibration.tp == 300 and summary.calibration.fp == 20
    assert set(summary.negative_control) == {CRAWLS[0]}


@pytest.mark.spark
def test_csv_and_json_agree_with_the_parquet(result):
    summary, got = result
    csv = pd.read_csv(summary.csv)
    with open(summary.json, encoding="utf-8") as fh:
        records = json.load(fh)
    assert len(csv) == len(records) == len(got)
    from_json = pd.DataFrame(records)[STATS.fieldNames()]
    for other in (csv, from_json):
        other = other.sort_values(KEY).reset_index(drop=True)
        assert other[KEY].astype(str).values.tolist() == got[KEY].astype(str).values.tolist()
        for column in ("n_docs", "prevalence", "ci_low", "ci_high", "chatbot_leftovers_excess_pmw"):
            np.testing.assert_allclose(other[column].astype(float), got[column].astype(float), rtol=1e-12)


@pytest.mark.spark
def test_rerun_gives_identical_rows(spark, warehouse, card, result):
    _, first = result
    summary = run_stats(spark, stats_config(warehouse, card, bootstrap_seed=0))
    second = spark.read.parquet(summary.stats).toPandas().sort_values(KEY).reset_index(drop=True)
    pd.testing.assert_frame_equal(first.drop(columns="code_version"), second.drop(columns="code_version"))


@pytest.mark.spark
def test_calibration_file_sets_tpr_fpr_and_threshold(spark, warehouse, card, tmp_path):
    path = tmp_path / "validate-calibration.json"
    path.write_text(json.dumps({"source": "validate run 7", "threshold": 0.8, "tp": 90, "n_pos": 100,
                                "fp": 5, "n_neg": 100}))
    summary = run_stats(spark, stats_config(warehouse, card, calibration=str(path), replicates=20, top_domains=0))
    got = spark.read.parquet(summary.stats).toPandas()
    assert (got.threshold == 0.8).all() and (got.tpr == 0.9).all() and (got.fpr == 0.05).all()
    assert got.calibration.str.contains("validate run 7").all()
    assert "registered_domain" not in set(got.dimension)
    scored = got[got.n_scored > 0]
    assert (scored.raw_share == scored.n_flagged / scored.n_scored).all()
    np.testing.assert_allclose(scored.prevalence, np.clip((scored.raw_share - 0.05) / 0.85, 0, 1))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"source": "x", "threshold": 0.8, "tpr": 0.9}))
    with pytest.raises(StatsError, match="exactly the keys"):
        load_calibration_file(spark, str(bad), None)
    with pytest.raises(StatsError, match="drop --flag-threshold"):
        load_calibration_file(spark, str(path), 0.5)
    with pytest.raises(StatsError, match="not found"):
        load_calibration_file(spark, str(tmp_path / "absent.json"), None)


@pytest.mark.spark
def test_missing_clusters_scores_and_mixed_models_are_refused(spark, tmp_path, card):
    docs, clusters, scores = make_tables(seed=3, per_crawl=8)
    late = [c for c in clusters if c["crawl"] != CRAWLS[2]]
    root = write_warehouse(spark, str(tmp_path / "no_dedup"), docs, late, scores)
    with pytest.raises(StatsError, match=rf"{CRAWLS[2]}: 8 of 8 documents.*leakwatch dedup .*--only-crawl {CRAWLS[2]}"):
        run_stats(spark, stats_config(root, card))
    root = write_warehouse(spark, str(tmp_path / "no_scores"), docs, clusters, None)
    with pytest.raises(StatsError, match="no scores table .* run `leakwatch classify"):
        run_stats(spark, stats_config(root, card))
    _, _, mixed = make_tables(seed=3, per_crawl=8, model_ids={CRAWLS[1]: "sha256:ffffffffffffffff"})
    root = write_warehouse(spark, str(tmp_path / "mixed"), docs, clusters, mixed)
    with pytest.raises(StatsError, match=r"2 models .*CC-MAIN-2023-50: sha256:ffffffffffffffff"):
        run_stats(spark, stats_config(root, card))
    # A model without a card beside it, and no --card: say to pass one.
    root = write_warehouse(spark, str(tmp_path / "cardless"), docs, clusters, scores)
    with pytest.raises(StatsError, match="no model card for sha256:0123456789abcdef.*--calibration FILE"):
        run_stats(spark, stats_config(root, None))
