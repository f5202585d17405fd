"""udfs.driver_clusters without a JVM: host templates, bucket edges, and a batch against an earlier cluster.
tests/jobs/test_dedup.py checks that the driver and Spark write the same rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from leakwatch.udfs.driver_clusters import _bucket_edges, batch_rows, host_templates, signed_batch
from leakwatch.udfs.minhash import DedupOptions, fingerprint, line_key
from leakwatch.udfs.text import text_hash

WORDS = [f"w{i}" for i in range(5000)]


def _docs(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["doc_id", "crawl", "url", "host", "text"])
    frame["fetch_time"] = pd.Timestamp(dt.datetime(2024, 3, 1))
    frame["text_hash"] = [text_hash(t) for t in frame["text"]]
    frame["url_hash"] = np.arange(len(frame), dtype=np.int64)
    return frame


def test_host_templates_are_the_lines_most_distinct_pages_hold() -> None:
    rng = np.random.default_rng(1)
    bodies = [" ".join(rng.choice(WORDS, 60)) for _ in range(5)]
    rows = [(i, "C", f"https://a.example/{i}", "a.example", f"Home | Shop\n{b}\n  Footer  ")
            for i, b in enumerate(bodies)]
    rows += [(9, "C", "https://a.example/9", "a.example", rows[0][4])]  # a refetch is not another page
    rows += [(10 + i, "C", f"https://b.example/{i}", "b.example", f"Nav\n{b}") for i, b in enumerate(bodies[:3])]
    templates = host_templates(_docs(rows), DedupOptions())
    assert templates[0] == sorted([line_key("Home | Shop"), line_key("Footer")]) == templates[5]
    assert templates[6] is None  # b.example: 3 distinct pages, fewer than template_min_pages
    assert host_templates(_docs(rows), DedupOptions(template_share=0)) == [None] * len(rows)


def test_bucket_edges_pair_members_and_star_large_buckets() -> None:
    members = pd.DataFrame({"band": [0] * 4 + [1] * 2, "band_hash": [7] * 4 + [8] * 2,
                            "node": [4, 2, 3, 1, 5, 6], "prior": [False, False, True, True, True, True]})
    pairs = set(map(tuple, _bucket_edges(members, max_pairs=10).to_numpy().tolist()))
    # Sorted members 1(p) 2 3(p) 4: all pairs but the two earlier clusters'; bucket 8 holds two earlier ones.
    assert pairs == {(1, 2), (1, 4), (2, 3), (2, 4), (3, 4)}
    star = set(map(tuple, _bucket_edges(members, max_pairs=3).to_numpy().tolist()))
    assert star == {(1, 2), (1, 4)}  # linked to the first member only; (1, 3) joins two earlier clusters


def test_a_near_copy_joins_the_earlier_cluster_and_keeps_its_first_crawl() -> None:
    rng = np.random.default_rng(2)
    original = list(rng.choice(WORDS, 200))
    copy = original.copy()
    copy[100] = "changed"
    options = DedupOptions()
    batch = signed_batch(_docs([(50, "B", "https://m.example/1", "m.example", " ".join(copy)),
                                (51, "B", "https://m.example/2", "m.example", " ".join(rng.choice(WORDS, 200)))]),
                         {"B": "2"}, options)
    earlier = signed_batch(_docs([(7, "A", "https://o.example/1", "o.example", " ".join(original))]), {"A": "1"},
                           options).iloc[0]
    prior = pd.DataFrame({"band": np.arange(len(earlier["band_hashes"]), dtype=np.int32),
                          "band_hash": earlier["band_hashes"], "cluster_id": 7, "first_seen_crawl": "A",
                          "first_seen_order": "1", "crawl": "A", "crawl_order": "1", "fingerprint": "f"})
    sigs = pd.DataFrame({"cluster_id": [7], "signature": [earlier["signature"]], "crawl": ["A"], "crawl_order": ["1"]})
    urls = pd.DataFrame({"url_hash": pd.Series([], dtype="int64"), "crawl": [], "crawl_order": []})
    rows = batch_rows(batch, prior, sigs, urls, options, fingerprint(options)).set_index("doc_id")
    assert rows.loc[50, "cluster_id"] == 7 and rows.loc[50, "cluster_first_seen_crawl"] == "A"
    assert rows.loc[50, "first_seen_crawl_content"] == "A" and rows.loc[50, "first_seen_crawl_url"] == "B"
    assert rows.loc[51, "cluster_id"] == 51 and rows.loc[51, "first_seen_crawl_content"] == "B"
    assert rows["is_representative"].all() and (rows["cluster_size"] == 1).all()
