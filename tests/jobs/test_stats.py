"""`leakwatch stats` over a small warehouse written here: the rows against an independent pandas
computation, the cells against the plain binning, the rule and the estimates, provenance, the negative
control, the CSV and JSON copies, reruns, the labelled fallback, what it refuses."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from leakwatch.config import Config
from leakwatch.errors import StatsError
from leakwatch.estimators.base import ESTIMATORS, Binning
from leakwatch.estimators.components import shipped_llm_pages, write_llm_texts
from leakwatch.estimators.options import DEFAULT_ESTIMATOR, StatsOptions
from leakwatch.estimators.rules import MIN_PAGES
from leakwatch.jobs.stats import (
    ROWS_PER_PAGE,
    cell_column,
    driver_pages,
    join_inputs,
    page_rows,
    run_stats,
    top_domains,
)
from leakwatch.jobs.warehouse import read_documents
from leakwatch.jobs.wordfreq import with_word_scores
from leakwatch.schemas.tables import CLUSTERS, DOCUMENTS, INGEST_LOG, SCORES, STATS
from leakwatch.schemas.values import ESTIMATOR_COLUMNS
from leakwatch.udfs.classifier import default_model_path, model_id
from tests.labeled import write_labeled

MODEL = model_id(str(default_model_path()))  # the LLM component is scored by the scores' own model
CRAWLS = ("CC-MAIN-2021-04", "CC-MAIN-2023-50", "CC-MAIN-2024-10")  # the first is pre-ChatGPT

RUN = "extract-1"


# (registered domain, host, tld): an IP host has no registered domain and is its own cluster.
SITES = [("a.com", "www.a.com", "com"), ("a.com", "blog.a.com", "com"), ("b.com", "b.com", "com"),
         ("c.org", "c.org", "org"), ("d.de", "www.d.de", "de"), ("e.de", "e.de", "de"),
         (None, "10.0.0.1", None)] + [(f"s{k}.net", f"www.s{k}.net", "net") for k in range(40)]
SITE_WEIGHTS = np.array([0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05] + [0.5 / 40] * 40) / 1.5


KEY = ["time_slice", "period", "crawl", "view", "dimension", "value"]


def make_tables(seed: int = 7, per_crawl: int = 240, model_ids: dict | None = None,
                crawls: tuple[str, ...] = CRAWLS) -> tuple[list, list, list]:
    """documents, clusters and scores rows of three crawls; LLM-like scores grow after ChatGPT."""
    rng = np.random.default_rng(seed)
    docs, clusters, scores = [], [], []
    for ci, crawl in enumerate(crawls):
        year = int(crawl[8:12])
        ids = [ci * 1000 + i + 1 for i in range(per_crawl)]
        # Most pages sit on a.com's hosts, so the top-domain rows are not a tie.
        site_idx = rng.choice(len(SITES), per_crawl, p=SITE_WEIGHTS)
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
            language = rng.choice(["en", "en", "en", "en", "en", "en", "en", "de", None])
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
            llm_like = crawl > "CC-MAIN-2022-40" and rng.random() < 0.4
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
def llm_texts(tmp_path_factory) -> str:
    """40 of the shipped LLM web pages (calibration split) as an --llm-texts file."""
    return str(write_llm_texts(tmp_path_factory.mktemp("llm") / "llm.jsonl", shipped_llm_pages()[:40]))


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEAKWATCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def stats_config(warehouse: str, llm_texts: str, **options) -> Config:
    settings = {"replicates": 100, "top_domains": 3, "min_site_docs": 3, "flag_threshold": 0.5,
                "llm_texts": (llm_texts,), **options}
    return Config(warehouse=warehouse, run_id="stats-1", stats=StatsOptions(**settings))


@pytest.fixture(scope="module")
def result(spark, warehouse, llm_texts):
    summary = run_stats(spark, stats_config(warehouse, llm_texts))
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


def pre_fpr(tables) -> float:
    """The flagged share (p_llm >= 0.5) of the pre-ChatGPT crawl's scored pages: the site share's FPR."""
    scores = pd.DataFrame(tables[2])
    pre = scores[(scores.crawl == CRAWLS[0]) & scores.scored]
    return float((pre.p_llm >= 0.5).mean())


@pytest.mark.spark
def test_rows_match_an_independent_pandas_computation(result, tables):
    summary, got = result
    want = expected_rows(tables, top_n=3, tpr=summary.components.tpr, fpr=pre_fpr(tables), threshold=0.5,
                         min_site_docs=3)
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
def test_cells_in_spark_are_the_plain_binning(spark):
    binning = Binning(0.9995)
    p = np.r_[0.0, 1.0, 0.5, np.nextafter(0.9995, 0), 0.9995, np.nextafter(0.9995, 1), np.linspace(1e-9, 1 - 1e-9, 400)]
    n_words = np.resize([50, 149, 150, 399, 400, 999, 1000, 5000], len(p))
    frame = spark.createDataFrame(pd.DataFrame({"p_llm": p, "n_words": n_words.astype("int64")}))
    got = [r[0] for r in frame.select(cell_column(binning)).collect()]
    assert got == binning.cell(p, n_words).tolist()


@pytest.mark.spark
def test_a_page_has_at_most_rows_per_page_rows(spark, warehouse, tables):
    """ROWS_PER_PAGE bounds page_rows (driver_pages skips its count on it): reached by a page that is in
    every view and slice, never passed by any page."""
    documents = read_documents(spark, warehouse)
    inputs = join_inputs(spark, warehouse, documents)[0]
    joined = with_word_scores(documents, inputs, None)
    binning = Binning(0.5)
    top = top_domains(joined, 3)
    docs, clusters, _ = (pd.DataFrame(t) for t in tables)
    pages = docs.merge(clusters, on=["doc_id", "crawl"])
    full = pages[pages.is_representative & (pages.first_seen_crawl_content == pages.crawl)
                 & pages.registered_domain.isin(top) & pages.published_date.str.match(r"^20\d\d-0", na=False)]
    per_page = [page_rows(joined.where(joined.doc_id == int(d)), top, binning).count()
                for d in [full.doc_id.iloc[0], *pages.doc_id.iloc[:5]]]
    assert per_page[0] == ROWS_PER_PAGE and max(per_page) == ROWS_PER_PAGE and min(per_page) >= 3
    assert page_rows(joined, top, binning).count() <= ROWS_PER_PAGE * len(docs)
    inputs.unpersist()


@pytest.mark.spark
def test_the_session_names_cached_stats_frames_without_truncating(spark):
    # Persisting a frame names it by its plan; Spark warns when a plan has more fields than this shows.
    assert int(spark.conf.get("spark.sql.debug.maxToStringFields")) >= len(STATS.fields)


@pytest.mark.spark
def test_driver_pages_counts_only_when_the_bound_passes_the_limit(spark):
    rows = spark.range(10).toDF("n")
    assert driver_pages(rows, 0, 1) is None  # the Spark path, whatever the size
    assert driver_pages(rows, 9, 1) is None  # counted: 10 rows > 9
    assert len(driver_pages(rows, 10, 1)) == 10  # counted: 10 rows <= 10
    assert len(driver_pages(rows, 20, 1)) == 10  # 1 page x ROWS_PER_PAGE <= 20: not counted


@pytest.mark.spark
def test_estimates_rule_and_baselines(result):
    summary, got = result
    default = ESTIMATORS[DEFAULT_ESTIMATOR]
    assert (got.estimator == DEFAULT_ESTIMATOR).all() and (got.replicates == 100).all() and (got.threshold == 0.5).all()
    assert got.estimators.str.contains("bound_v1").all() and got.binning.str.startswith("logit0.5x").all()
    # Too small or without scored pages: no estimate, a reason; measurable rows have the default's share.
    small = got[got.n_scored < MIN_PAGES]
    assert not small.measurable.any() and small.prevalence.isna().all() and small.mle.isna().all()
    assert small.not_measurable.str.contains("scored pages").all()
    measurable = got[got.measurable]
    assert len(measurable) and measurable.not_measurable.isna().all()
    np.testing.assert_array_equal(measurable.prevalence, measurable[default.column])
    for column in ESTIMATOR_COLUMNS[:-1]:  # the word model needs pre-ChatGPT text: this warehouse's is "x"
        rows = got[got[column].notna()]
        assert len(rows) and (rows[f"{column}_low"] <= rows[f"{column}_high"]).all(), column
        assert ((rows[column] >= 0) & (rows[column] <= 1)).all(), column
    # The pre-ChatGPT crawl has no other pre-ChatGPT crawl to be compared with: said, and in-sample.
    headline = got[(got.time_slice == "crawl") & (got.view == "captures") & (got.dimension == "all")]
    by_crawl = headline.set_index("crawl")
    assert "the only pre-ChatGPT crawl" in by_crawl.human_baseline[CRAWLS[0]]
    assert by_crawl.human_baseline[CRAWLS[2]].startswith(f"{CRAWLS[0]} (this slice)")
    assert by_crawl.mle[CRAWLS[2]] > by_crawl.mle[CRAWLS[0]]
    assert summary.negative_control[CRAWLS[0]].baseline.startswith(CRAWLS[0])
    # A thin slice (the IP host's unknown TLD) takes the view's human component.
    thin = got[(got.dimension == "tld") & (got.value == "de") & (got.time_slice == "crawl")]
    assert thin.human_baseline.str.contains("all pages of the view").all()


@pytest.mark.spark
def test_provenance_dates_and_summary(result, tables):
    summary, got = result
    assert (got.model_id == MODEL).all() and (got.minhash_fingerprint == "fp-test").all()
    assert (got.extractor_version == "ext-1").all() and (got.lexicon_version == "lex-1").all()
    assert (got.run_id == "stats-1").all() and got.code_version.str.match(r"^\d+\.\d+\.\d+").all()
    assert got.llm_component.str.contains("40 scored texts").all()
    assert got.set_index("crawl").crawl_date.to_dict() == {
        "CC-MAIN-2021-04": "2021-01-15", "CC-MAIN-2023-50": "2023-11-28", "CC-MAIN-2024-10": "2024-02-20"}
    headline = got[(got.time_slice == "crawl") & (got.view == "captures") & (got.dimension == "all")]
    assert set(summary.crawls) == set(CRAWLS)
    for row in headline.itertuples():
        crawl = summary.crawls[row.crawl]
        assert crawl.n_docs == row.n_docs and crawl.measurable == row.measurable
        assert crawl.estimators["mle"][0] == pytest.approx(row.mle)
    assert summary.components.fpr == pytest.approx(pre_fpr(tables))
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
        for column in ("n_docs", "prevalence", "ci_low", "ci_high", "mle", "bound_low", "chatbot_leftovers_excess_pmw"):
            np.testing.assert_allclose(other[column].astype(float), got[column].astype(float), rtol=1e-12)


@pytest.mark.spark
def test_rerun_gives_identical_rows(spark, warehouse, llm_texts, result):
    _, first = result
    summary = run_stats(spark, stats_config(warehouse, llm_texts, bootstrap_seed=0))
    second = spark.read.parquet(summary.stats).toPandas().sort_values(KEY).reset_index(drop=True)
    pd.testing.assert_frame_equal(first.drop(columns="code_version"), second.drop(columns="code_version"))


@pytest.mark.spark
def test_two_pre_chatgpt_crawls_control_each_other(spark, tmp_path, llm_texts):
    crawls = ("CC-MAIN-2021-04", "CC-MAIN-2022-33", "CC-MAIN-2024-10")
    root = write_warehouse(spark, str(tmp_path / "two"), *make_tables(seed=5, crawls=crawls))
    summary = run_stats(spark, stats_config(root, llm_texts, top_domains=0))
    got = spark.read.parquet(summary.stats).toPandas()
    headline = got[(got.time_slice == "crawl") & (got.view == "captures") & (got.dimension == "all")].set_index("crawl")
    assert headline.human_baseline[crawls[0]] == f"{crawls[1]} (this slice; leave-one-crawl-out)"
    assert headline.human_baseline[crawls[2]] == f"{crawls[0]}, {crawls[1]} (this slice)"
    # The drift between the two pre-ChatGPT crawls is the larger of their estimates against each other.
    pre = headline.loc[list(crawls[:2])]
    assert headline.baseline_drift[crawls[2]] == pytest.approx(pre.prevalence.max())
    assert set(summary.negative_control) == set(crawls[:2])


@pytest.mark.spark
def test_without_pre_chatgpt_crawls_labelled_text_is_the_baseline_and_every_row_says_so(spark, tmp_path, llm_texts):
    crawls = ("CC-MAIN-2023-50", "CC-MAIN-2024-10")
    root = write_warehouse(spark, str(tmp_path / "post"), *make_tables(seed=6, crawls=crawls))
    (tmp_path / "labeled").mkdir()
    labeled = write_labeled(tmp_path / "labeled")
    summary = run_stats(spark, stats_config(root, llm_texts, top_domains=0, labeled=str(labeled)))
    got = spark.read.parquet(summary.stats).toPandas()
    estimated = got[got.n_scored > 0]
    assert len(estimated) and estimated.human_baseline.str.startswith("labelled human text, not this web").all()
    assert summary.components.human.startswith("labelled human text") and summary.negative_control == {}
    # Without labelled human text either, nothing can be estimated, and the rows say why.
    (tmp_path / "llm_only").mkdir()
    lines = (labeled / "fast-detect-gpt.jsonl").read_text("utf-8").splitlines()
    (tmp_path / "llm_only" / "fast-detect-gpt.jsonl").write_text(
        "".join(f"{line}\n" for line in lines if json.loads(line)["label"] == "llm"), encoding="utf-8")
    summary = run_stats(spark, stats_config(root, llm_texts, top_domains=0, labeled=str(tmp_path / "llm_only")))
    got = spark.read.parquet(summary.stats).toPandas()
    assert not got.measurable.any() and got.prevalence.isna().all()
    assert got[got.n_scored >= MIN_PAGES].not_measurable.eq("no human baseline").all()


@pytest.mark.spark
def test_missing_clusters_scores_mixed_models_and_another_model_are_refused(spark, tmp_path, llm_texts):
    docs, clusters, scores = make_tables(seed=3, per_crawl=8)
    late = [c for c in clusters if c["crawl"] != CRAWLS[2]]
    root = write_warehouse(spark, str(tmp_path / "no_dedup"), docs, late, scores)
    with pytest.raises(StatsError, match=rf"{CRAWLS[2]}: 8 of 8 documents.*leakwatch dedup .*--only-crawl {CRAWLS[2]}"):
        run_stats(spark, stats_config(root, llm_texts))
    root = write_warehouse(spark, str(tmp_path / "no_scores"), docs, clusters, None)
    with pytest.raises(StatsError, match="no scores table .* run `leakwatch classify"):
        run_stats(spark, stats_config(root, llm_texts))
    _, _, mixed = make_tables(seed=3, per_crawl=8, model_ids={CRAWLS[1]: "sha256:ffffffffffffffff"})
    root = write_warehouse(spark, str(tmp_path / "mixed"), docs, clusters, mixed)
    with pytest.raises(StatsError, match=r"2 models .*CC-MAIN-2023-50: sha256:ffffffffffffffff"):
        run_stats(spark, stats_config(root, llm_texts))
    _, _, other = make_tables(seed=3, per_crawl=8, model_ids=dict.fromkeys(CRAWLS, "sha256:0123456789abcdef"))
    root = write_warehouse(spark, str(tmp_path / "other"), docs, clusters, other)
    with pytest.raises(StatsError, match="scored by the same model; pass that model's file with --model"):
        run_stats(spark, stats_config(root, llm_texts))
    root = write_warehouse(spark, str(tmp_path / "ok"), docs, clusters, scores)
    with pytest.raises(StatsError, match="--stats-labeled .*: not a folder of labelled"):
        run_stats(spark, stats_config(root, llm_texts, labeled=str(tmp_path)))


@pytest.mark.spark
def test_driver_and_spark_paths_write_the_same_rows(spark, warehouse, llm_texts, result):
    """The default (page rows summed and estimated on the driver) against Spark's sums and estimates."""
    _, on_driver = result
    summary = run_stats(spark, stats_config(warehouse, llm_texts, max_driver_pages=0))
    in_spark = spark.read.parquet(summary.stats).toPandas().sort_values(KEY).reset_index(drop=True)
    assert len(on_driver) == len(in_spark) and on_driver.measurable.any()
    for column in on_driver.columns.drop("code_version"):
        if on_driver[column].dtype.kind == "f":  # sums of floats in another order: equal to the last bits
            np.testing.assert_allclose(on_driver[column].astype(float), in_spark[column].astype(float),
                                       rtol=1e-9, atol=1e-12, err_msg=column)
        else:
            assert on_driver[column].astype(str).tolist() == in_spark[column].astype(str).tolist(), column
