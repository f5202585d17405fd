"""MinHash signatures and LSH band hashes of document texts: the per-record work of `leakwatch dedup`.

Signatures are datasketch's MinHash ("affine32" scheme, its permutations for `seed`) over xxh32
hashes of word shingles of the normalized text. The arithmetic of `MinHash.update_batch` is done
here in numpy, and the xxh32 of every shingle of a batch of texts is computed on arrays rather than
by one Python call per shingle; tests check both are identical to datasketch and xxhash.

LSH is chosen for recall at the threshold: the sharpest S-curve the permutations allow whose
candidate probability at the threshold is at least CANDIDATE_RECALL. A candidate pair is kept when
the signatures agree in enough slots that a pair at the threshold passes with probability
VERIFY_RECALL (each slot agrees with probability J). Together a pair at the threshold is merged
~98% of the time and, with the defaults, a pair at Jaccard 0.6 ~0.1% of the time.

Before shingling, the lines a host repeats on most of its pages (navigation, footer, the site's
name: its template) are taken out of its pages' texts, so that two articles on one template are
not near duplicates and one article on two templates is. The Spark job finds those lines per host
and crawl and hands each document its host's template as line keys (`line_key`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from leakwatch.errors import ConfigError
from leakwatch.settings import setting
from leakwatch.udfs.text import NORMALIZATION_VERSION, hash64, normalized_bytes, to_int64

if TYPE_CHECKING:
    import pandas as pd

HASH_NAME = "xxh32"
SCHEME = "affine32"  # datasketch >= 2.0 default: bijective permutations mod 2^32
MAX_HASH = np.uint32(0xFFFFFFFF)  # the value of an empty signature slot
# A missed near duplicate leaks an LLM text into two clusters; a chance candidate costs one
# verification: so buckets are chosen for recall, and verification removes what they let through.
CANDIDATE_RECALL = 0.995  # P(a pair at the threshold shares a bucket)
VERIFY_RECALL = 0.98  # P(a pair at the threshold passes verification)
TEMPLATE_RULE = "lines1"  # bump when what counts as a host's template changes: it is in the fingerprint
SPARK_XXHASH64_SEED = 42  # the seed of Spark SQL's xxhash64, which keys lines on the JVM side


@dataclass(frozen=True)
class DedupOptions:
    """Exact and near-duplicate detection (the first five settings make the index's fingerprint)."""

    shingle_size: int = setting(5, "words per shingle", metavar="N")
    num_perm: int = setting(128, "MinHash permutations", metavar="N")
    minhash_seed: int = setting(1, "seed of the MinHash permutations", metavar="N")
    jaccard_threshold: float = setting(0.8, "near-duplicate Jaccard threshold (LSH bands and rows are chosen for it)",
                                       metavar="J")
    # Below this many shingles a document gets exact dedup only: a few shingles make the Jaccard
    # estimate meaningless and once bucketed every short page together.
    min_shingles: int = setting(20, "fewer shingles: exact dedup only", metavar="N")
    verify: bool = setting(True, "keep an LSH candidate pair only if its signatures agree enough for a pair at "
                                       "the threshold (98% of those pass)")
    # A line is part of its host's template when at least this share of the host's distinct texts in
    # the crawl hold it, and the host has at least template_min_pages of them.
    template_share: float = setting(0.8, "lines on this share of a host's pages are its template, left out of "
                                         "similarity (0: off)", metavar="S")
    template_min_pages: int = setting(4, "hosts with fewer distinct pages in a crawl get no template", metavar="N")
    signature_batch_rows: int = setting(4096, "rows per Arrow batch into the signature function", metavar="N")
    # Buckets larger than this give star edges (to their smallest member) instead of all pairs.
    max_bucket_pairs: int = setting(100, "LSH buckets larger than this link each member to the smallest only",
                                    metavar="N")
    # Below this, the match graph's components are found on the driver: Spark's rounds cost ~1 s each.
    max_driver_edges: int = setting(1_000_000, "match graphs with at most this many edges get their components on "
                                               "the driver", metavar="N")
    # Up to this, a batch (crawl) is read onto the driver and clustered there in pandas (udfs.driver_clusters):
    # the same rows, without Spark's ~80 stages a crawl; its signatures then take one core.
    max_driver_docs: int = setting(20_000, "crawls of at most this many documents are clustered on the driver, in "
                                           "pandas (0: always in Spark)", metavar="N")
    max_cc_iterations: int = setting(30, "connected-components rounds before giving up (larger graphs)", metavar="N")


def validate_options(options: DedupOptions) -> None:
    """Refuse settings that cannot work, before any Spark job runs."""
    problems = []
    if options.shingle_size < 1:
        problems.append(f"--shingle-size must be >= 1, not {options.shingle_size}")
    if options.num_perm < 2:
        problems.append(f"--num-perm must be >= 2, not {options.num_perm}")
    if not 0.0 < options.jaccard_threshold < 1.0:
        problems.append(f"--jaccard-threshold must be between 0 and 1, not {options.jaccard_threshold}")
    if options.max_cc_iterations < 1 or options.max_bucket_pairs < 2 or options.signature_batch_rows < 1:
        problems.append("--max-cc-iterations and --signature-batch-rows must be >= 1, --max-bucket-pairs >= 2")
    if not 0.0 <= options.template_share <= 1.0:
        problems.append(f"--template-share must be from 0 (off) to 1, not {options.template_share}")
    if options.template_min_pages < 2 or options.max_driver_edges < 0 or options.max_driver_docs < 0:
        problems.append("--template-min-pages must be >= 2, --max-driver-edges and --max-driver-docs >= 0")
    if problems:
        raise ConfigError("dedup: " + "; ".join(problems))


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"dedup threshold must be between 0 and 1, not {threshold}")


@lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows): the most rows per band (fewest chance candidates) for which the bands that give
    CANDIDATE_RECALL at the threshold fit in num_perm slots, with the fewest such bands."""
    _check_threshold(threshold)
    for rows in range(num_perm, 0, -1):
        p_band = threshold**rows
        if p_band >= CANDIDATE_RECALL:
            return 1, rows
        bands = math.ceil(math.log1p(-CANDIDATE_RECALL) / math.log1p(-p_band)) if p_band > 0 else num_perm + 1
        if bands * rows <= num_perm:
            return bands, rows
    return num_perm, 1  # even one-row bands fall short (few permutations, a low threshold): use them all


def _binomial_tail(n: int, p: float, k: int) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@lru_cache(maxsize=16)
def verify_slots(threshold: float, num_perm: int) -> int:
    """Signature slots a candidate pair must agree in: the most for which a pair at the threshold passes
    with probability >= VERIFY_RECALL."""
    _check_threshold(threshold)
    return max(k for k in range(num_perm + 1) if _binomial_tail(num_perm, threshold, k) >= VERIFY_RECALL)


def template_part(options: DedupOptions) -> str:
    """The template rule as a fingerprint part: `lines1-s0.8-p4`, or `none` when turned off."""
    if options.template_share <= 0:
        return "none"
    return f"{TEMPLATE_RULE}-s{options.template_share:g}-p{options.template_min_pages}"


def line_key(line: str) -> int:
    """The key a line is counted by across a host's pages: Spark SQL's `xxhash64(trim(line))`."""
    return to_int64(xxhash.xxh64_intdigest(line.strip(" ").encode("utf-8"), SPARK_XXHASH64_SEED))


def without_template(text: str, template: frozenset[int]) -> str:
    """The text without the lines whose key is in its host's template."""
    return "\n".join(line for line in text.split("\n") if line_key(line) not in template)


def fingerprint_parts(options: DedupOptions) -> dict[str, str]:
    """Every setting that changes signatures or buckets, by name."""
    bands, rows = lsh_params(options.jaccard_threshold, options.num_perm)
    return {
        "shingle_size": str(options.shingle_size),
        "num_perm": str(options.num_perm),
        "seed": str(options.minhash_seed),
        "hash": f"{HASH_NAME}.{SCHEME}",
        "bands": str(bands),
        "rows": str(rows),
        "verify": f"a{verify_slots(options.jaccard_threshold, options.num_perm)}" if options.verify else "off",
        "threshold": f"{options.jaccard_threshold:g}",
        "min_shingles": str(options.min_shingles),
        "normalization": NORMALIZATION_VERSION,
        "template": template_part(options),
    }


def fingerprint(options: DedupOptions) -> str:
    """The settings as one path-safe string: `sh5-np128-s1-xxh32.affine32-b18r6-a93-t0.8-min20-norm1-lines1-s0.8-p4`."""
    p = fingerprint_parts(options)
    return (
        f"sh{p['shingle_size']}-np{p['num_perm']}-s{p['seed']}-{p['hash']}-b{p['bands']}r{p['rows']}-{p['verify']}"
        f"-t{p['threshold']}-min{p['min_shingles']}-{p['normalization']}-{p['template']}"
    )


def fingerprint_differences(found: dict[str, str], wanted: dict[str, str]) -> list[str]:
    """Human-readable `name: found -> wanted` lines for the settings that differ."""
    names = sorted(set(found) | set(wanted))
    return [f"{n}: {found.get(n, '(absent)')} -> {wanted.get(n, '(absent)')}" for n in names
            if found.get(n) != wanted.get(n)]


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b), built once per process and reused for every row."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    # Column vectors: the (num_perm, n_shingles) layout keeps the min-reduction contiguous.
    return a.astype(np.uint32).reshape(-1, 1), b.astype(np.uint32).reshape(-1, 1)


# xxh32's primes (the reference implementation's PRIME32_1..5).
_P1, _P2, _P3, _P4, _P5 = (np.uint32(v) for v in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1))
# Characters of text per hashing pass: ~100 pages of 1,000 words. Measured fastest of 32 KB-4 MB
# (the pass's arrays stay in cache) and it bounds their memory to a few MB.
_BATCH_BYTES = 512 << 10


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def xxh32_spans(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """xxh32 (seed 0) of every span buf[start:start + length], computed on arrays: equal to
    xxhash.xxh32_intdigest of each slice, without one Python call per span."""
    raw = np.frombuffer(buf + b"\0\0\0", dtype=np.uint8)
    # The little-endian 32-bit word starting at every byte offset: built from a strided view once,
    # because gathering from the aligned copy is ~2.5x faster than from the unaligned view.
    word_at = np.ascontiguousarray(np.ndarray((len(buf),), dtype="<u4", buffer=raw, strides=(1,)))
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    h = np.full(starts.size, _P5, dtype=np.uint32)  # seed + PRIME5: the start for spans under 16 bytes
    stripes = lengths >> 4
    long_spans = np.flatnonzero(stripes)
    if long_spans.size:
        lanes = [np.full(long_spans.size, np.uint32(v), dtype=np.uint32)
                 for v in ((int(_P1) + int(_P2)) & 0xFFFFFFFF, int(_P2), 0, (-int(_P1)) & 0xFFFFFFFF)]
        active, k = np.arange(long_spans.size), 0
        while active.size:  # one round per 16-byte stripe, over the spans that still have one
            at = starts[long_spans[active]] + 16 * k
            for i, lane in enumerate(lanes):
                lane[active] = _rotl(lane[active] + word_at[at + 4 * i] * _P2, 13) * _P1
            k += 1
            active = active[stripes[long_spans[active]] > k]
        h[long_spans] = _rotl(lanes[0], 1) + _rotl(lanes[1], 7) + _rotl(lanes[2], 12) + _rotl(lanes[3], 18)
    h += lengths.astype(np.uint32)
    tail = starts + (stripes << 4)
    rest = lengths & 15
    for j in range(3):  # the remaining 4-byte words (at most three)
        sel = np.flatnonzero((rest >> 2) > j)
        h[sel] = _rotl(h[sel] + word_at[tail[sel] + 4 * j] * _P3, 17) * _P4
    tail += (rest >> 2) << 2
    for j in range(3):  # the remaining single bytes (at most three)
        sel = np.flatnonzero((rest & 3) > j)
        h[sel] = _rotl(h[sel] + raw[tail[sel] + j].astype(np.uint32) * _P5, 11) * _P1
    h ^= h >> np.uint32(15)
    h *= _P2
    h ^= h >> np.uint32(13)
    h *= _P3
    h ^= h >> np.uint32(16)
    return h


def shingle_hash_batch(texts: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, counts): xxh32 of each word `size`-gram (words joined by one space) of each
    normalized text, all texts' hashes concatenated in order, and how many belong to each text."""
    docs = [normalized_bytes(t) for t in texts]
    # Empty texts are left out of the buffer: then every space in it separates two words, since
    # normalized texts have no leading, trailing or double spaces and texts are joined by one.
    kept = [i for i, d in enumerate(docs) if d]
    if not kept:
        return np.empty(0, dtype=np.uint32), np.zeros(len(docs), dtype=np.int64)
    buf = b" ".join(docs[i] for i in kept)
    spaces = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 32)
    word_starts = np.concatenate(([0], spaces + 1))
    word_ends = np.append(spaces, len(buf))
    doc_starts = np.cumsum([0] + [len(docs[i]) + 1 for i in kept[:-1]])
    doc_of_word = np.asarray(kept, dtype=np.int64)[np.searchsorted(doc_starts, word_starts, side="right") - 1]
    first = np.arange(max(word_starts.size - size + 1, 0))
    # A shingle is `size` consecutive words of one text: its first and last word share the text.
    first = first[doc_of_word[first] == doc_of_word[first + size - 1]]
    starts = word_starts[first]
    hashes = xxh32_spans(buf, starts, word_ends[first + size - 1] - starts)
    return hashes, np.bincount(doc_of_word[first], minlength=len(docs))


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """xxh32 of each word `size`-gram (words joined by one space) of the normalized text."""
    return shingle_hash_batch([text], size)[0]


def _fmix32(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's 32-bit finalizer: datasketch pre-mixes input hashes with it before permuting.
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def signature(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """The MinHash signature (uint32[num_perm]) of a set of 32-bit hashes, as datasketch computes it."""
    if hashes.size == 0:
        return np.full(num_perm, MAX_HASH, dtype=np.uint32)
    a, b = permutations(num_perm, seed)
    mixed = _fmix32(hashes.astype(np.uint32, copy=True))
    # uint32 arithmetic wraps: that wraparound is the modulo 2^32 of the affine permutation.
    permuted = a * mixed
    permuted += b
    return permuted.min(axis=1)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> list[int]:
    """One signed 64-bit hash per LSH band of `rows` consecutive signature values."""
    return [hash64(sig[i * rows : (i + 1) * rows].tobytes()) for i in range(bands)]


def _byte_batches(texts: list[str]) -> Iterator[list[str]]:
    """Consecutive runs of texts holding about _BATCH_BYTES characters each."""
    batch: list[str] = []
    size = 0
    for text in texts:
        batch.append(text)
        size += len(text)
        if size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _shingled(texts: list[str], options: DedupOptions) -> tuple[list[int], list[np.ndarray | None]]:
    """Per text: its shingle count and MinHash signature (None below min_shingles)."""
    counts, sigs = [], []
    for batch in _byte_batches(texts):
        hashes, batch_counts = shingle_hash_batch(batch, options.shingle_size)
        ends = np.cumsum(batch_counts)
        for count, end in zip(batch_counts.tolist(), ends.tolist(), strict=True):
            counts.append(count)
            short = count < max(options.min_shingles, 1)
            sigs.append(None if short else signature(hashes[end - count : end], options.num_perm, options.minhash_seed))
    return counts, sigs


def content_signatures(texts: list[str], templates: list, options: DedupOptions) -> tuple[list[int], list]:
    """_shingled of each text without its host's template lines (`templates[i]`: line keys, or None); of the
    whole text where what is left is too short to compare (a host whose pages are mostly one article)."""
    content = [without_template(t, frozenset(np.asarray(k).tolist())) if k is not None and len(k) else t
               for t, k in zip(texts, templates, strict=True)]
    counts, sigs = _shingled(content, options)
    short = [i for i, s in enumerate(sigs) if s is None and content[i] != texts[i]]
    if short:
        for i, count, sig in zip(short, *_shingled([texts[i] for i in short], options), strict=True):
            counts[i], sigs[i] = count, sig
    return counts, sigs


def signature_frames(frames: Iterator[pd.DataFrame], options: DedupOptions) -> Iterator[pd.DataFrame]:
    """mapInPandas body: (doc_id, text, template) -> (doc_id, n_shingles, signature, band_hashes); None when
    short. `template`: the line keys of the document's host template, or None."""
    import pandas as pd

    bands, rows = lsh_params(options.jaccard_threshold, options.num_perm)
    for frame in frames:
        texts = [t or "" for t in frame["text"]]
        templates = list(frame["template"]) if "template" in frame else [None] * len(texts)
        counts, sigs = content_signatures(texts, templates, options)
        yield pd.DataFrame({
            "doc_id": frame["doc_id"].to_numpy(), "n_shingles": np.asarray(counts, dtype=np.int32),
            # Spark has no uint32: the same 32 bits go out as int32 (equality is all that is used).
            "signature": [None if s is None else s.view(np.int32).tolist() for s in sigs],
            "band_hashes": [None if s is None else band_hashes(s, bands, rows) for s in sigs],
        })
