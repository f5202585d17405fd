"""Language identification: one text or many in a call give the same answers; a missing model fails early."""

from __future__ import annotations

import pytest

from leakwatch.udfs import langid
from leakwatch.udfs.ingest import FileIngest, IngestOptions
from tests.udfs.test_ingest import CRAWL
from tests.warcs import english_page, write_pages

TEXTS = [
    "The quick brown fox jumps over the lazy dog, and then it runs back home again.",
    "Der schnelle braune Fuchs springt über den faulen Hund und läuft dann nach Hause.",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "敏捷的棕色狐狸跳过了懒狗，然后又跑回家了。",
    "12345 67890 !!! ---",
    "",
    "Line one\nline two\tand\r\nline three of a short English note about the weather today.",
]


def test_batch_equals_the_models_one_line_prediction():
    batch = langid.identify_languages(TEXTS)
    assert [code for code, _ in batch] == ["en", "de", "ru", "zh", "und", "und", "en"]
    model = langid._model()
    for text, (code, prob) in zip(TEXTS, batch, strict=True):
        if code != "und":
            labels, probs = model.predict(" ".join(text[: langid.LANGID_CHARS].split()), k=1)
            assert (code, prob) == (labels[0].removeprefix("__label__"), round(float(probs[0]), 4))
    assert langid.identify_language(TEXTS[1]) == batch[1]
    assert langid.identify_languages([]) == []


def test_missing_model_fails_the_file_before_reading(tmp_path, monkeypatch):
    path = write_pages(tmp_path / "p.warc.gz", CRAWL, [english_page(0)])
    monkeypatch.setenv("LEAKWATCH_LANGID_MODEL", str(tmp_path / "nowhere" / "lid.176.ftz"))
    langid._model.cache_clear()
    try:
        run = FileIngest(str(path), CRAWL, "run", IngestOptions())
        assert list(run.documents()) == []
        assert (run.report.status, run.report.error_class, run.report.records) == ("failed", "LangIdModelMissing", 0)
        assert "lid.176.ftz not found" in run.report.error_message
        with pytest.raises(langid.LangIdModelMissing):
            langid.identify_languages(["some text"])
    finally:
        langid._model.cache_clear()  # the next caller loads the real model again
