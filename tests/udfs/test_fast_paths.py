"""The fast text paths give exactly what the plain regex versions (benchmarks/reference.py) gave:
normalize_text feeds text_hash and MinHash, classifier_text feeds a trained model, and marker
counts are published, so none of them may change by a character."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import xxhash

from benchmarks import reference
from leakwatch.udfs.classifier import classifier_text
from leakwatch.udfs.markers import count_markers
from leakwatch.udfs.minhash import shingle_hash_batch, shingle_hashes, xxh32_spans
from leakwatch.udfs.text import SEPARATOR_CHARS, hash64, normalize_text, normalized_bytes, text_hash, words

# Hand-picked cases: empty and blank, ASCII control and separator characters that str.split and
# the regex treat as whitespace (\x1c-\x1f), underscores, digits of several scripts, characters
# whose NFKC or lowercase form differs (ligatures, full-width, dotted I, final sigma, superscripts,
# fractions, Roman numerals), combining marks, CJK, right-to-left scripts, emoji, a lone surrogate.
CASES = [
    "",
    " ",
    "\n\t ",
    "...",
    "a",
    "Hello, World!\nIt's 2024.",
    "snake_case __dunder__ x_1 _",
    "tab\tnew\nline\rform\fvt\vfs\x1cgs\x1drs\x1eus\x1f end",
    "nbsp\u00a0thin\u2009ideographic\u3000zero\u200bwidth",
    "Digits: 123 ١٢٣ ۱۲۳ १२३ １２３ ² ½ Ⅻ 3.14 1,000,000",
    "ﬁne ﬂow Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ",
    "İstanbul DİYARBAKIR ΟΔΥΣΣΕΥΣ ΣΊΣΥΦΟΣ. Σ ΑΣ.Β straße STRASSE",
    "cafe\u0301 café n\u0303 ñ a\u0308",
    "北京是中国的首都。東京は日本の首都です！서울은 한국의 수도입니다.",
    "مرحبا بالعالم، كيف حالك؟ שלום עולם",
    "emoji 😀👍🏽 mixed🙂text ©®™ — “quotes” ‘single’ …",
    "lone \ud800 surrogate",
    "a" * 7000,
    "word " * 5000,
    "x. " * 3000,
    "1" * 100 + " " + "β" * 50,
]

# Characters for random strings: every ASCII character plus the tricky ones above.
ALPHABET = [chr(c) for c in range(128)] + list(
    "ﬁﬂＡｚ０９²½Ⅻ١۲İıΣσςß\u0301\u0308\u00a0\u2009\u3000\u200b北京東京서울مرحباשלום😀—“”…_™"
) + list(SEPARATOR_CHARS)


def _random_texts(n: int, seed: int, alphabet: list[str] = ALPHABET) -> list[str]:
    rng = random.Random(seed)
    weights = [6 if c.isalnum() and c.isascii() else 3 if c == " " else 1 for c in alphabet]
    return ["".join(rng.choices(alphabet, weights, k=rng.randrange(0, 400))) for _ in range(n)]


def _assert_same(texts: list[str]) -> None:
    for text in texts:
        assert normalize_text(text) == reference.normalize_text(text), repr(text[:80])
        assert normalized_bytes(text) == reference.normalize_text(text).encode("utf-8"), repr(text[:80])
        assert words(text) == reference.normalize_text(text).split(), repr(text[:80])
        assert text_hash(text) == hash64(reference.normalize_text(text)), repr(text[:80])
        assert classifier_text(text) == reference.classifier_text(text), repr(text[:80])
        assert count_markers(text) == reference.count_markers(text), repr(text[:80])
    hashes, counts = shingle_hash_batch(texts, 5)
    assert counts.sum() == hashes.size
    for text, part in zip(texts, np.split(hashes, np.cumsum(counts)[:-1]), strict=True):
        assert np.array_equal(part, reference.shingle_hashes(text, 5)), repr(text[:80])


def test_hand_picked_cases_are_unchanged() -> None:
    _assert_same(CASES)
    assert normalize_text("ΑΣ.Β Straße") == "ασ β straße"  # the oracle is not trivially empty


def test_random_mixed_script_texts_are_unchanged() -> None:
    texts = _random_texts(600, seed=11)
    assert sum(not t.isascii() for t in texts) > 500  # most exercise the non-ASCII paths
    _assert_same(texts)


def test_text_of_ascii_and_separator_characters_is_unchanged() -> None:
    # The byte-table path: every pair of printable ASCII and separator characters, then random
    # texts of them (contexts of three and more characters).
    chars = [chr(c) for c in range(32, 127)] + list(SEPARATOR_CHARS)
    _assert_same([a + b for a in chars for b in chars][::7] + [f"x{a}{b}y" for a in SEPARATOR_CHARS for b in chars])
    _assert_same(_random_texts(400, seed=4, alphabet=[chr(c) for c in range(128)] + list(SEPARATOR_CHARS)))
    for c in SEPARATOR_CHARS:  # each separates words, whatever its NFKC form
        assert reference.normalize_text(f"Ab{c}9z") == "ab 9z", hex(ord(c))


def test_marker_heavy_text_is_unchanged() -> None:
    text = (
        "As an AI language model, I cannot fulfill that. Let us delve deeper; she delved, they delve "
        "into the intricate tapestry — meticulous, commendable work. As of my last knowledge update, "
        "regenerate response. undelve Delving DELVES"
    )
    assert count_markers(text)[0]["chatbot_leftovers"] > 0
    _assert_same([text, text.upper(), text.replace(" ", "\u00a0"), text * 20])


@pytest.mark.parametrize("size", [1, 2, 5, 9])
def test_shingle_batches_match_one_text_at_a_time(size: int) -> None:
    texts = CASES + _random_texts(200, seed=size)
    hashes, counts = shingle_hash_batch(texts, size)
    for text, part in zip(texts, np.split(hashes, np.cumsum(counts)[:-1]), strict=True):
        assert np.array_equal(part, reference.shingle_hashes(text, size))
        assert np.array_equal(part, shingle_hashes(text, size))


def test_array_xxh32_is_xxhash_for_every_length_and_offset() -> None:
    rng = random.Random(3)
    buf = bytes(rng.randrange(256) for _ in range(4096))
    # Every length 0-200 (none, one and many 16-byte stripes, every tail of words and bytes),
    # at random offsets, up to the buffer's last byte.
    lengths = np.array([n for n in range(201) for _ in range(5)] + [0, 1, 17])
    starts = np.array([rng.randrange(0, len(buf) - n + 1) for n in lengths[:-3]] + [4096, 4095, 4079])
    expected = [xxhash.xxh32_intdigest(buf[s : s + n]) for s, n in zip(starts, lengths, strict=True)]
    assert xxh32_spans(buf, starts, lengths).tolist() == expected


def test_real_labelled_and_web_texts_are_unchanged(shared_data) -> None:
    rng = random.Random(5)
    texts: list[str] = []
    for path in sorted((shared_data / "labeled").glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")  # not splitlines: U+2028 in texts
        texts += [json.loads(line)["text"] for line in rng.sample(lines, min(150, len(lines)))]
    assert any(not t.isascii() for t in texts)
    _assert_same(texts)
