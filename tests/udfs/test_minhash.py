"""udfs.minhash without Spark: datasketch-identical signatures, band hashes, the LSH S-curve, fingerprints."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
import xxhash
from datasketch import LeanMinHash, MinHash

from leakwatch.errors import ConfigError
from leakwatch.udfs.minhash import (
    DedupOptions,
    band_hashes,
    content_signatures,
    fingerprint,
    fingerprint_differences,
    fingerprint_parts,
    line_key,
    lsh_params,
    shingle_hashes,
    signature,
    signature_frames,
    validate_options,
    verify_slots,
    without_template,
)
from leakwatch.udfs.text import words

RNG_WORDS = [f"w{i}" for i in range(5000)]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(RNG_WORDS, k=n))


def _datasketch_minhash(text: str, options: DedupOptions) -> MinHash:
    tokens = words(text)
    k = options.shingle_size
    shingles = [" ".join(tokens[i : i + k]).encode("utf-8") for i in range(len(tokens) - k + 1)]
    mh = MinHash(num_perm=options.num_perm, seed=options.minhash_seed, hashfunc=xxhash.xxh32_intdigest)
    mh.update_batch(shingles)
    return mh


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7)])
def test_signature_is_datasketch_minhash(num_perm: int, seed: int) -> None:
    options = DedupOptions(num_perm=num_perm, minhash_seed=seed)
    rng = random.Random(seed)
    a = _text(rng, 300)
    b = " ".join(words(a)[:250]) + " " + _text(rng, 50)
    sig_a = signature(shingle_hashes(a, 5), num_perm, seed)
    sig_b = signature(shingle_hashes(b, 5), num_perm, seed)
    mh_a, mh_b = _datasketch_minhash(a, options), _datasketch_minhash(b, options)
    assert np.array_equal(sig_a, mh_a.hashvalues)
    assert np.array_equal(sig_b, mh_b.hashvalues)
    lean = LeanMinHash(mh_a)
    assert lean.jaccard(LeanMinHash(mh_b)) == pytest.approx(float(np.mean(sig_a == sig_b)))


def test_shingles_follow_normalization_and_skip_short_texts() -> None:
    text = "The Quick, brown fox -- jumps over the lazy dog!"
    assert np.array_equal(shingle_hashes(text, 5), shingle_hashes("the quick brown fox jumps over the lazy dog", 5))
    assert shingle_hashes(text, 5).size == 5
    assert shingle_hashes("only four words here", 5).size == 0
    assert shingle_hashes("", 5).size == 0
    assert shingle_hashes("  ...  ", 5).size == 0


def _merge_probability(jaccard: float, options: DedupOptions) -> float:
    # Candidate (some band agrees) and verified (enough slots agree), taken as independent: an estimate.
    bands, rows = lsh_params(options.jaccard_threshold, options.num_perm)
    slots = verify_slots(options.jaccard_threshold, options.num_perm)
    n = options.num_perm
    verified = sum(math.comb(n, k) * jaccard**k * (1 - jaccard) ** (n - k) for k in range(slots, n + 1))
    return (1 - (1 - jaccard**rows) ** bands) * verified


def test_lsh_params_are_chosen_for_recall_at_the_threshold() -> None:
    assert lsh_params(0.8, 128) == (18, 6) and verify_slots(0.8, 128) == 93
    for threshold, num_perm in [(0.8, 128), (0.7, 128), (0.9, 256), (0.5, 64)]:
        bands, rows = lsh_params(threshold, num_perm)
        assert bands * rows <= num_perm
        assert 1 - (1 - threshold**rows) ** bands >= 0.995
        options = DedupOptions(jaccard_threshold=threshold, num_perm=num_perm)
        assert _merge_probability(threshold, options) >= 0.97
    # datasketch's equal-weight optimum for 0.8 (b9 r13) finds only ~40% of the pairs at the threshold.
    assert 1 - (1 - 0.8**13) ** 9 < 0.45
    assert _merge_probability(0.6, DedupOptions()) < 0.002
    with pytest.raises(ValueError, match="between 0 and 1"):
        lsh_params(1.5, 128)


def test_fingerprint_names_every_setting() -> None:
    default = DedupOptions()
    assert fingerprint(default) == "sh5-np128-s1-xxh32.affine32-b18r6-a93-t0.8-min20-norm1-lines1-s0.8-p4"
    assert fingerprint(DedupOptions(template_share=0)).endswith("-norm1-none")
    assert fingerprint_parts(DedupOptions(verify=False))["verify"] == "off"
    other = DedupOptions(num_perm=64, shingle_size=3)
    differences = fingerprint_differences(fingerprint_parts(default), fingerprint_parts(other))
    assert "num_perm: 128 -> 64" in differences
    assert "shingle_size: 5 -> 3" in differences
    assert all(not d.startswith(("seed", "hash", "normalization")) for d in differences)
    assert fingerprint(other) != fingerprint(default)


def _set_pair(rng: np.random.Generator, jaccard: float, union: int = 400) -> tuple[np.ndarray, np.ndarray]:
    # |A & B| / |A | B| = jaccard exactly, with the rest split between A only and B only.
    values = rng.choice(np.iinfo(np.uint32).max, size=union, replace=False).astype(np.uint32)
    common = round(jaccard * union)
    only_a = (union - common) // 2
    return values[: common + only_a], np.concatenate([values[:common], values[common + only_a :]])


def test_s_curve_of_planted_set_pairs() -> None:
    """Merged = shares a band and passes verification: >= 95% at and above the threshold, <= 1% at 0.6."""
    options = DedupOptions()
    bands, rows = lsh_params(options.jaccard_threshold, options.num_perm)
    slots = verify_slots(options.jaccard_threshold, options.num_perm)
    rng = np.random.default_rng(42)
    trials = 400
    rate = {}
    for jaccard in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        merged = 0
        for _ in range(trials):
            a, b = _set_pair(rng, jaccard)
            sa, sb = (signature(x, options.num_perm, options.minhash_seed) for x in (a, b))
            candidate = any(x == y for x, y in zip(band_hashes(sa, bands, rows), band_hashes(sb, bands, rows),
                                                   strict=True))
            merged += candidate and int((sa == sb).sum()) >= slots
        rate[jaccard] = merged / trials
        expected = _merge_probability(jaccard, options)
        assert abs(rate[jaccard] - expected) <= 3 * np.sqrt(expected * (1 - expected) / trials) + 0.03, rate
    assert all(r >= 0.95 for j, r in rate.items() if j >= options.jaccard_threshold), rate
    assert all(r <= 0.01 for j, r in rate.items() if j <= 0.6), rate


def test_signature_frames_gives_short_texts_no_signature() -> None:
    options = DedupOptions()
    rng = random.Random(3)
    frame = pd.DataFrame({"doc_id": [1, 2, 3], "text": [_text(rng, 200), "too short to shingle", None]})
    (out,) = list(signature_frames(iter([frame]), options))
    assert out["doc_id"].tolist() == [1, 2, 3]
    assert out["n_shingles"].tolist() == [196, 0, 0]
    assert len(out["signature"][0]) == options.num_perm and len(out["band_hashes"][0]) == 18
    assert out["signature"][1] is None and out["band_hashes"][2] is None
    (again,) = list(signature_frames(iter([frame]), options))
    assert again["band_hashes"][0] == out["band_hashes"][0]


def test_template_lines_are_left_out_of_the_shingles() -> None:
    rng = random.Random(5)
    options = DedupOptions()
    nav = ["Home", "About us", "  Contact  ", _text(rng, 12), _text(rng, 12)]
    article = [_text(rng, 40), _text(rng, 40)]
    page = "\n".join([*nav[:3], *article, *nav[3:]])
    template = frozenset(line_key(line) for line in nav)
    assert without_template(page, template) == "\n".join(article)
    counts, sigs = content_signatures([page, page, "\n".join(nav)], [list(template), None, list(template)], options)
    assert counts[0] == 2 * 40 - 4 and counts[1] > counts[0]  # shingles run across lines
    assert (sigs[0] == signature(shingle_hashes("\n".join(article), 5), 128, 1)).all()
    # A page that is all template keeps its whole text: too little is left to compare.
    assert counts[2] == sum(len(words(line)) for line in nav) - 4 and sigs[2] is not None
    frame = pd.DataFrame({"doc_id": [1, 2], "text": [page, page], "template": [np.array(sorted(template)), None]})
    (out,) = list(signature_frames(iter([frame]), options))
    assert out["n_shingles"].tolist() == counts[:2]


@pytest.mark.parametrize(("change", "named"), [
    ({"shingle_size": 0}, "--shingle-size"), ({"num_perm": 1}, "--num-perm"),
    ({"jaccard_threshold": 1.0}, "--jaccard-threshold"), ({"template_share": 1.5}, "--template-share"),
    ({"template_min_pages": 1}, "--template-min-pages"), ({"max_driver_edges": -1}, "--max-driver-edges"),
    ({"max_driver_docs": -1}, "--max-driver-docs"),
])
def test_settings_that_cannot_work_are_refused_by_name(change, named):
    validate_options(DedupOptions())
    with pytest.raises(ConfigError, match=named):
        validate_options(DedupOptions(**change))
