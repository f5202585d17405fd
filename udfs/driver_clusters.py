"""One small batch of documents clustered on the driver, in pandas: the rows jobs.clusters computes in
Spark (host templates, signatures, exact groups, LSH candidates verified by signature agreement,
components, first-seen crawls, index rows), from the batch's documents and the rows of the earlier index
they touch. The same rules, step by step, as jobs.clusters; tests/jobs/test_dedup.py checks that both give
the same rows. It exists because a crawl of a few thousand pages spends ~10 s in Spark's ~80 stages and
only milliseconds here.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from leakwatch.udfs.components import components
from leakwatch.udfs.minhash import DedupOptions, line_key, signature_frames, verify_slots

EXACT_BAND = -1  # lsh_index rows keyed by text_hash rather than by an LSH band (as in jobs.clusters)

# The columns of a batch's result, in the order jobs.clusters._rows gives them.
RESULT_COLUMNS = [
    "doc_id", "crawl", "crawl_order", "text_hash", "url_hash", "signature", "band_hashes", "cluster_id",
    "cluster_size", "is_representative", "exact_group", "n_shingles", "first_seen_crawl_url",
    "first_seen_crawl_content", "cluster_first_seen_crawl", "cluster_first_order", "fingerprint",
]


def _line_keys(text: str | None) -> set[int]:
    # jobs.templates.LINE_KEYS: the keys of a text's distinct non-blank lines (Spark's trim drops spaces only).
    return {line_key(line) for line in (text or "").split("\n") if line.strip(" ")}


def host_templates(docs: pd.DataFrame, options: DedupOptions) -> list:
    """jobs.templates.with_templates on the driver: per document, its host's template (sorted line keys held by
    at least template_share of the host's distinct texts in the crawl, for hosts with at least template_min_pages
    of them), or None."""
    if options.template_share <= 0:
        return [None] * len(docs)
    texts = docs[docs["host"].notna()].drop_duplicates(["crawl", "host", "text_hash"])
    templates = {}
    for key, pages in texts.groupby(["crawl", "host"], sort=False):
        if len(pages) < max(options.template_min_pages, 2):
            continue
        counts = Counter(k for text in pages["text"] for k in _line_keys(text))
        keys = sorted(k for k, n in counts.items() if n >= len(pages) * options.template_share)
        if keys:
            templates[key] = keys
    return [templates.get(key) for key in zip(docs["crawl"], docs["host"], strict=True)]


def signed_batch(docs: pd.DataFrame, orders: dict[str, str], options: DedupOptions) -> pd.DataFrame:
    """jobs.clusters._signed on the driver: documents (doc_id, crawl, url, fetch_time, text, text_hash, host,
    url_hash) with their crawl order, shingle count, signature and band hashes, without the text."""
    frame = pd.DataFrame({"doc_id": docs["doc_id"].to_numpy(np.int64), "text": docs["text"].to_numpy(),
                          "template": host_templates(docs, options)})
    sigs = next(signature_frames(iter([frame]), options))
    signed = docs.drop(columns=["text", "host"]).reset_index(drop=True)
    signed["crawl_order"] = signed["crawl"].map(orders)
    for column in ("n_shingles", "signature", "band_hashes"):
        signed[column] = sigs[column].to_numpy()
    return signed


def representatives(docs: pd.DataFrame) -> pd.DataFrame:
    """The first document (smallest doc_id) of each exact group: the only ones that enter LSH."""
    return docs[docs["doc_id"] == docs["exact_group"]]


def lookup_keys(docs: pd.DataFrame) -> pd.DataFrame:
    """(band, band_hash) of the index rows the documents can touch: their LSH buckets and their exact keys
    (text_hash under EXACT_BAND); batch_rows keeps those of each batch's exact-group representatives."""
    bands = _band_members(docs)[["band", "band_hash"]]
    exact = pd.DataFrame({"band": EXACT_BAND, "band_hash": docs["text_hash"].to_numpy()})
    return pd.concat([bands, exact], ignore_index=True).drop_duplicates().astype({"band": "int32",
                                                                                 "band_hash": "int64"})


def _band_members(docs: pd.DataFrame) -> pd.DataFrame:
    # (band, band_hash, node) of every document with band hashes (posexplode of band_hashes).
    long = docs[docs["band_hashes"].notna()]
    if long.empty:
        return pd.DataFrame({"band": pd.Series([], dtype="int32"), "band_hash": pd.Series([], dtype="int64"),
                             "node": pd.Series([], dtype="int64")})
    hashes = [np.asarray(h, np.int64) for h in long["band_hashes"]]
    sizes = np.fromiter((h.size for h in hashes), np.int64, len(hashes))
    return pd.DataFrame({
        "band": np.concatenate([np.arange(s, dtype=np.int32) for s in sizes]),
        "band_hash": np.concatenate(hashes),
        "node": np.repeat(long["doc_id"].to_numpy(np.int64), sizes),
    })


def _bucket_edges(members: pd.DataFrame, max_pairs: int) -> pd.DataFrame:
    # All pairs of each bucket's members sorted by (node, prior); a bucket larger than max_pairs links every
    # member to its first only. Pairs of two earlier clusters are not ours to make.
    members = members.drop_duplicates().sort_values(["band", "band_hash", "node", "prior"], kind="stable")
    sizes = members.groupby(["band", "band_hash"], sort=False)["node"].transform("size")
    shared = members[sizes >= 2]
    edges_a, edges_b = [], []
    for _, bucket in shared.groupby(["band", "band_hash"], sort=False):
        node, prior = bucket["node"].to_numpy(), bucket["prior"].to_numpy()
        if node.size <= max_pairs:
            i, j = np.triu_indices(node.size, k=1)
        else:
            j = np.arange(1, node.size)
            i = np.zeros_like(j)
        keep = ~(prior[i] & prior[j])
        edges_a.append(node[i][keep])
        edges_b.append(node[j][keep])
    if not edges_a:
        return pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="int64")})
    return pd.DataFrame({"a": np.concatenate(edges_a), "b": np.concatenate(edges_b)}).drop_duplicates()


def _verified(candidates: pd.DataFrame, reps: pd.DataFrame, prior_near: pd.DataFrame, prior_sigs: pd.DataFrame,
              options: DedupOptions) -> pd.DataFrame:
    # Candidates whose two signatures agree in at least verify_slots slots; an earlier cluster's signature is
    # that of its earliest crawl. A side without a signature drops the pair (an inner join in Spark).
    wanted = set(prior_near["cluster_id"].tolist())
    earliest = prior_sigs[prior_sigs["cluster_id"].isin(wanted)].sort_values("crawl_order", kind="stable") \
        .drop_duplicates("cluster_id")
    sigs = {int(n): np.asarray(s) for n, s in zip(earliest["cluster_id"], earliest["signature"], strict=True)}
    long = reps[reps["signature"].notna()]
    sigs.update((int(n), np.asarray(s)) for n, s in zip(long["doc_id"], long["signature"], strict=True))
    need = verify_slots(options.jaccard_threshold, options.num_perm)
    keep = [a in sigs and b in sigs and int(np.count_nonzero(sigs[a] == sigs[b])) >= need
            for a, b in zip(candidates["a"].tolist(), candidates["b"].tolist(), strict=True)]
    return candidates[np.asarray(keep, bool)] if len(candidates) else candidates


def _root_of(ids: pd.Series, nodes: np.ndarray, roots: np.ndarray) -> np.ndarray:
    # The component root of each id (nodes sorted, as components gives them); an id on no edge is its own.
    ids = ids.to_numpy(np.int64)
    if not nodes.size:
        return ids
    at = np.minimum(np.searchsorted(nodes, ids), nodes.size - 1)
    return np.where(nodes[at] == ids, roots[at], ids)


def _first_of(frame: pd.DataFrame, key: str, order: str, crawl: str) -> pd.DataFrame:
    # Per `key`, the (order, crawl) pair that sorts first: Spark's min of struct(order, crawl).
    first = frame.sort_values([key, order, crawl], kind="stable").drop_duplicates(key)
    return first[[key, order, crawl]].rename(columns={order: "first_order", crawl: "first_crawl"})


def batch_rows(docs: pd.DataFrame, prior: pd.DataFrame, prior_sigs: pd.DataFrame, prior_urls: pd.DataFrame,
               options: DedupOptions, fp: str) -> pd.DataFrame:
    """The batch's rows (RESULT_COLUMNS). `docs`: the signed documents (doc_id, crawl, crawl_order, fetch_time,
    text_hash, url_hash, n_shingles, signature, band_hashes: signed_batch's); `prior`: the earlier index rows
    (LSH_INDEX) under lookup_keys(docs); `prior_sigs`: earlier signatures of those rows' clusters; `prior_urls`:
    url_history rows of earlier crawls for the batch's url hashes."""
    # Exact groups are the batch's own: the smallest doc_id of the batch with the same text_hash.
    docs = docs.assign(exact_group=docs.groupby("text_hash", dropna=False)["doc_id"].transform("min").astype(np.int64))
    reps = representatives(docs)
    prior_exact = prior[(prior["band"] == EXACT_BAND) & prior["band_hash"].isin(set(reps["text_hash"].tolist()))]
    batch_bands = _band_members(reps)
    near = prior[prior["band"] != EXACT_BAND]
    near = near.merge(batch_bands[["band", "band_hash"]].drop_duplicates(), on=["band", "band_hash"])
    members = pd.concat([
        batch_bands.assign(prior=False),
        pd.DataFrame({"band": near["band"].to_numpy(), "band_hash": near["band_hash"].to_numpy(),
                      "node": near["cluster_id"].to_numpy(np.int64), "prior": True}),
    ], ignore_index=True)
    candidates = _bucket_edges(members, options.max_bucket_pairs)
    if options.verify:
        candidates = _verified(candidates, reps, near, prior_sigs, options)

    # An earlier cluster is one node: the first crawl that saw it.
    prior_first = _first_of(pd.concat([near, prior_exact]), "cluster_id", "first_seen_order", "first_seen_crawl")
    to_prior_exact = reps[["doc_id", "text_hash"]].merge(
        prior_exact[["band_hash", "cluster_id"]], left_on="text_hash", right_on="band_hash"
    ).rename(columns={"doc_id": "a", "cluster_id": "b"})[["a", "b"]]
    matches = pd.concat([candidates, to_prior_exact], ignore_index=True)
    in_group = docs[docs["doc_id"] != docs["exact_group"]]
    edges_a = np.concatenate([matches["a"].to_numpy(np.int64), in_group["exact_group"].to_numpy(np.int64)])
    edges_b = np.concatenate([matches["b"].to_numpy(np.int64), in_group["doc_id"].to_numpy(np.int64)])
    nodes, roots = components(edges_a, edges_b)

    # Each document's component, and each component's first key: earliest crawl, then smallest id.
    docs = docs.assign(comp=_root_of(docs["doc_id"], nodes, roots))
    linked = prior_first[np.isin(prior_first["cluster_id"].to_numpy(np.int64), nodes)]
    keys = pd.concat([
        pd.DataFrame({"comp": docs["comp"], "order": docs["crawl_order"], "id": docs["doc_id"],
                      "crawl": docs["crawl"]}),
        pd.DataFrame({"comp": _root_of(linked["cluster_id"], nodes, roots), "order": linked["first_order"],
                      "id": linked["cluster_id"], "crawl": linked["first_crawl"]}),
    ], ignore_index=True)
    comp_first = keys.sort_values(["comp", "order", "id", "crawl"], kind="stable").drop_duplicates("comp") \
        .rename(columns={"order": "cluster_first_order", "id": "cluster_id", "crawl": "cluster_first_seen_crawl"})

    # Per exact group, the crawl its content was first seen in: its own, or a direct match's.
    group_first = _first_of(docs, "exact_group", "crawl_order", "crawl")
    node_first = pd.concat([group_first.rename(columns={"exact_group": "node"}),
                            prior_first.rename(columns={"cluster_id": "node"})], ignore_index=True)
    both = pd.concat([matches, matches.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
    match_first = both.merge(node_first, left_on="b", right_on="node")[["a", "first_order", "first_crawl"]] \
        .rename(columns={"a": "exact_group"})
    content = _first_of(pd.concat([group_first, match_first], ignore_index=True), "exact_group", "first_order",
                        "first_crawl")

    # First crawl of each URL: the earlier crawls' history, else the batch's own.
    url_rows = pd.concat([docs[["url_hash", "crawl_order", "crawl"]], prior_urls[["url_hash", "crawl_order", "crawl"]]],
                         ignore_index=True)
    url_first = _first_of(url_rows, "url_hash", "crawl_order", "crawl")

    rows = (docs.merge(comp_first[["comp", "cluster_id", "cluster_first_order", "cluster_first_seen_crawl"]], on="comp")
            .merge(content[["exact_group", "first_crawl"]].rename(columns={"first_crawl": "first_seen_crawl_content"}),
                   on="exact_group")
            .merge(url_first[["url_hash", "first_crawl"]].rename(columns={"first_crawl": "first_seen_crawl_url"}),
                   on="url_hash"))
    rows["cluster_size"] = rows.groupby("comp")["doc_id"].transform("size").astype(np.int64)
    ranked = rows.assign(_late=rows["fetch_time"].isna()).sort_values(["comp", "_late", "fetch_time", "doc_id"],
                                                                      kind="stable")
    first_fetch = ranked.drop_duplicates("comp").index
    rows["is_representative"] = rows.index.isin(first_fetch)
    rows["fingerprint"] = fp
    return rows[RESULT_COLUMNS].reset_index(drop=True)


def batch_outputs(rows: pd.DataFrame, fp: str) -> dict[str, pd.DataFrame]:
    """jobs.clusters._outputs on the driver: the batch's clusters rows, its index rows (LSH buckets of exact-group
    representatives, the exact key of every document), one signature per cluster and crawl, its URL history."""
    first = {"first_seen_crawl": rows["cluster_first_seen_crawl"], "first_seen_order": rows["cluster_first_order"]}
    long = rows[(rows["doc_id"] == rows["exact_group"]) & rows["band_hashes"].notna()]
    members = _band_members(long)
    near = members.merge(long[["doc_id", "cluster_id", "cluster_first_seen_crawl", "cluster_first_order", "crawl",
                               "crawl_order"]], left_on="node", right_on="doc_id")
    index = pd.concat([
        pd.DataFrame({"band": near["band"], "band_hash": near["band_hash"], "cluster_id": near["cluster_id"],
                      "first_seen_crawl": near["cluster_first_seen_crawl"],
                      "first_seen_order": near["cluster_first_order"], "crawl": near["crawl"],
                      "crawl_order": near["crawl_order"]}),
        pd.DataFrame({"band": EXACT_BAND, "band_hash": rows["text_hash"], "cluster_id": rows["cluster_id"], **first,
                      "crawl": rows["crawl"], "crawl_order": rows["crawl_order"]}),
    ], ignore_index=True).drop_duplicates().assign(fingerprint=fp)
    signatures = long.sort_values("doc_id", kind="stable").drop_duplicates(["cluster_id", "crawl", "crawl_order"])
    return {
        "clusters": rows,
        "index": index.astype({"band": "int32"}),
        "signatures": signatures[["cluster_id", "signature", "crawl", "crawl_order"]].assign(fingerprint=fp),
        "urls": rows[["url_hash", "crawl", "crawl_order"]].drop_duplicates(),
    }
