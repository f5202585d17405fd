"""Near-duplicate quality on local Spark: the S-curve of planted text pairs at known Jaccard, and host
templates (navigation, footer) left out of similarity."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from pydoc_data.topics import topics

import pytest
from pyspark.sql.types import StructType

from leakwatch.jobs.clusters import compute_clusters
from leakwatch.schemas.tables import DOCUMENTS
from leakwatch.udfs.minhash import DedupOptions, line_key
from leakwatch.udfs.text import text_hash, words

pytestmark = pytest.mark.spark

VOCAB = sorted(set(re.findall(r"[a-z]{3,}", " ".join(topics.values()).lower())))
COLUMNS = ["doc_id", "crawl", "url", "host", "fetch_time", "text", "text_hash"]
DOC_SCHEMA = StructType([DOCUMENTS[c] for c in COLUMNS])
CRAWL = "CC-MAIN-2024-10"
FETCH = dt.datetime(2024, 3, 1)
# (Jaccard, edits): a text of n words with k single-word edits at least 5 words apart shares N - 5k of
# its N = n - 4 shingles with the copy and N + 5k in all, so N = 5k (1 + J) / (1 - J) gives J exactly.
PLANTED = {0.5: 12, 0.6: 9, 0.7: 6, 0.75: 5, 0.8: 4, 0.85: 3, 0.9: 2, 0.95: 1}
PAIRS_PER_J = 250


def _shingles(text: str) -> set[str]:
    tokens = words(text)
    return {" ".join(tokens[i : i + 5]) for i in range(len(tokens) - 4)}


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard of two texts' 5-word shingle sets."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def _planted_pair(rng: random.Random, target: float, edits: int) -> tuple[str, str]:
    n = round(5 * edits * (1 + target) / (1 - target)) + 4
    base = rng.choices(VOCAB, k=n)
    copy = list(base)
    for p in rng.sample(range(4, n - 4, 5), edits):  # 5 apart: no shingle holds two edits
        copy[p] = rng.choice([w for w in rng.sample(VOCAB, 3) if w != base[p]])
    return " ".join(base), " ".join(copy)


def row(doc_id: int, text: str, url: str) -> tuple:
    """A documents row (COLUMNS) of the test crawl."""
    return (doc_id, CRAWL, url, url.split("/")[2], FETCH, text, text_hash(text))


def merged(spark, rows: list[tuple], options: DedupOptions) -> dict[int, int]:
    """doc_id -> cluster_id of the rows deduplicated on their own."""
    docs = spark.createDataFrame(rows, DOC_SCHEMA)
    return {r["doc_id"]: r["cluster_id"] for r in compute_clusters(spark, docs, options).collect()}


def test_s_curve_of_planted_pairs(spark) -> None:
    rng = random.Random(2024)
    rows, pairs = [], defaultdict(list)
    for target, edits in PLANTED.items():
        for i in range(PAIRS_PER_J):
            a, b = _planted_pair(rng, target, edits)
            assert jaccard(a, b) == pytest.approx(target)
            first = len(rows) + 1
            # Each pair on hosts of its own: no host holds enough pages to have a template.
            rows += [row(first, a, f"https://a{first}.example/{i}"), row(first + 1, b, f"https://b{first}.example/{i}")]
            pairs[target].append((first, first + 1))
    options = DedupOptions()
    cluster = merged(spark, rows, options)
    rate = {j: sum(cluster[a] == cluster[b] for a, b in ps) / len(ps) for j, ps in pairs.items()}
    print("S-curve (J -> merged share): " + ", ".join(f"{j:.2f} -> {r:.3f}" for j, r in sorted(rate.items())))
    assert all(rate[j] >= 0.95 for j in PLANTED if j >= options.jaccard_threshold), rate
    assert all(rate[j] <= 0.01 for j in PLANTED if j <= 0.6), rate
    shares = [rate[j] for j in sorted(PLANTED)]
    assert shares == sorted(shares)  # an S-curve: more similar pairs are merged at least as often


NAV = ["Home", "Garden tips", "Vegetables", "Flowers", "Tools and equipment", "Seasonal calendar", "About us",
       "Contact", "Shop", "Newsletter"]


def _template(site: str, rng: random.Random, links: int) -> tuple[list[str], list[str]]:
    """Header and footer lines a site repeats on every page: its name, navigation, link lists and footer."""
    titles = [f"{w.title()} {rng.choice(VOCAB)} {rng.choice(VOCAB)}" for w in rng.sample(VOCAB, links)]
    head = [site] + [f"{item} {site.split()[0]}" for item in NAV] + titles[: links // 2]
    foot = titles[links // 2 :] + [f"Subscribe to the {site} newsletter for weekly {rng.choice(VOCAB)} tips",
                                   f"Copyright 2023 {site}. All rights reserved. Privacy policy. Terms of use."]
    return head, foot


def _site_rows(site: str, host: str, articles: list[tuple[str, str]], first_id: int, rng: random.Random,
               links: int = 25) -> list[tuple]:
    head, foot = _template(site, rng, links)
    return [row(first_id + i, "\n".join([*head, title, *text.split(". "), *foot]), f"https://{host}/post/{i}")
            for i, (title, text) in enumerate(articles)]


def _article(rng: random.Random, n_words: int) -> tuple[str, str]:
    text = ". ".join(" ".join(rng.choices(VOCAB, k=10)) for _ in range(n_words // 10))
    return " ".join(rng.choices(VOCAB, k=6)).title(), text


def test_two_articles_on_one_template_are_not_near_duplicates(spark) -> None:
    rng = random.Random(7)
    articles = [_article(rng, 20) for _ in range(8)]  # short articles: the template is most of each page
    rows = _site_rows("Example Gardening Blog", "garden.example", articles, 1, rng, links=70)
    texts = [r[5] for r in rows]
    assert min(jaccard(a, b) for a in texts for b in texts) >= 0.8  # as whole pages they are near duplicates
    assert len(set(merged(spark, rows, DedupOptions(template_share=0)).values())) < len(rows)
    assert len(set(merged(spark, rows, DedupOptions()).values())) == len(rows)


def test_one_article_on_two_templates_is_a_near_duplicate(spark) -> None:
    rng = random.Random(8)
    shared = _article(rng, 150)
    rows = _site_rows("Example Gardening Blog", "garden.example", [shared] + [_article(rng, 150) for _ in range(5)], 1,
                      rng)
    rows += _site_rows("Daily Allotment News", "allotment.example", [_article(rng, 150) for _ in range(5)] + [shared],
                       100, rng)
    copy_a, copy_b = rows[0], rows[-1]
    assert jaccard(copy_a[5], copy_b[5]) < 0.6  # as whole pages they are not
    assert merged(spark, rows, DedupOptions(template_share=0))[copy_b[0]] != copy_a[0]
    clusters = merged(spark, rows, DedupOptions())
    assert clusters[copy_a[0]] == clusters[copy_b[0]] == copy_a[0]
    assert len(set(clusters.values())) == len(rows) - 1
    # Two copies of an article on one host are not that host's template: they stay near duplicates.
    again = rows + [row(500, copy_a[5].replace("Copyright 2023", "Copyright 2024"), "https://garden.example/p?ref=1")]
    assert merged(spark, again, DedupOptions())[500] == copy_a[0]


def test_line_keys_are_sparks_xxhash64_of_the_trimmed_line(spark) -> None:
    lines = ["", "  ", "Home", "  Home  ", "\tTab\t", "Ünïcödé – “quoted” ✓", "日本語のテキスト", "x" * 300, " a b "]
    frame = spark.createDataFrame([(line,) for line in lines], "line string")
    keys = [r["key"] for r in frame.selectExpr("xxhash64(trim(line)) AS key").collect()]
    assert keys == [line_key(line) for line in lines]
