"""udfs.minhash without Spark: datasketch-identical signatures, band hashes, the LSH S-curve, fingerprints."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import xxhash
from datasketch import LeanMinHash, MinHash, MinHashLSH

from leakwatch.udfs.minhash import (
    DedupOptions,
    band_hashes,
    fingerprint,
    fingerprint_differences,
    fingerprint_parts,
    lsh_params,
    shingle_hashes,
    signature,
    signature_frames,
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


def test_lsh_params_are_datasketchs_optimum() -> None:
    for threshold, num_perm in [(0.8, 128), (0.5, 64), (0.9, 256)]:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)
    with pytest.raises(ValueError, match="between 0 and 1"):
        lsh_params(1.5, 128)


def test_fingerprint_names_every_setting() -> None:
    default = DedupOptions()
    assert fingerprint(default) == "sh5-np128-s1-xxh32.affine32-b9r13-t0.8-min20-norm1"
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


def test_detection_follows_the_lsh_s_curve() -> None:
    """P(some band agrees) = 1 - (1 - J^r)^b, the curve datasketch picks b and r by."""
    options = DedupOptions()
    bands, rows = lsh_params(options.jaccard_threshold, options.num_perm)
    rng = np.random.default_rng(42)
    trials = 400
    for jaccard in (0.5, 0.7, 0.8, 0.85, 0.9, 0.95):
        detected = 0
        for _ in range(trials):
            a, b = _set_pair(rng, jaccard)
            ha = band_hashes(signature(a, options.num_perm, options.minhash_seed), bands, rows)
            hb = band_hashes(signature(b, options.num_perm, options.minhash_seed), bands, rows)
            detected += any(x == y for x, y in zip(ha, hb, strict=True))
        expected = 1 - (1 - jaccard**rows) ** bands
        tolerance = 3 * np.sqrt(expected * (1 - expected) / trials) + 0.03
        assert abs(detected / trials - expected) <= tolerance, (jaccard, detected / trials, expected)


def test_signature_frames_gives_short_texts_no_signature() -> None:
    options = DedupOptions()
    rng = random.Random(3)
    frame = pd.DataFrame({"doc_id": [1, 2, 3], "text": [_text(rng, 200), "too short to shingle", None]})
    (out,) = list(signature_frames(iter([frame]), options))
    assert out["doc_id"].tolist() == [1, 2, 3]
    assert out["n_shingles"].tolist() == [196, 0, 0]
    assert len(out["signature"][0]) == options.num_perm and len(out["band_hashes"][0]) == 9
    assert out["signature"][1] is None and out["band_hashes"][2] is None
    (again,) = list(signature_frames(iter([frame]), options))
    assert again["band_hashes"][0] == out["band_hashes"][0]
