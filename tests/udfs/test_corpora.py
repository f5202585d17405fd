"""Mappings, presets and the values of a corpus row: crawl names, dates, the crawl a date falls in."""

from __future__ import annotations

import datetime as dt

import pytest

from leakwatch.cli import parse
from leakwatch.config import build_config
from leakwatch.crawls import load_crawls
from leakwatch.errors import ConfigError
from leakwatch.udfs.corpora import (
    PRESETS,
    CorpusOptions,
    CrawlCalendar,
    FieldMapping,
    corpus_format_of,
    crawl_of,
    lookup,
    parse_date,
)


def test_crawl_calendar_and_crawl_names():
    calendar = CrawlCalendar([
        {"id": "A", "from": "2020-01-01T00:00:00", "to": "2020-01-10T00:00:00"},
        {"id": "B", "from": "2020-01-08T00:00:00", "to": "2020-01-20T00:00:00"},
        {"id": "nodates", "from": None, "to": None},
    ])
    at = lambda s: calendar.crawl_at(dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC))  # noqa: E731
    assert (at("2020-01-02"), at("2020-01-09"), at("2020-01-20"), at("2020-01-21"), at("2019-12-31")) == (
        "A", "B", "B", None, None)
    assert crawl_of("CC-MAIN-2023-06") == crawl_of("crawl-data/CC-MAIN-2023-06/segments/x.gz") == "CC-MAIN-2023-06"
    assert crawl_of("2023-06") == "CC-MAIN-2023-06" and crawl_of("my-corpus") == "my-corpus"
    assert crawl_of("no spaces allowed") is None and crawl_of(2023) is None


def test_dates_of_every_shape():
    utc = dt.datetime(2019, 4, 22, 3, 4, 5, tzinfo=dt.UTC)
    for value in ("2019-04-22T03:04:05Z", "2019-04-22 03:04:05", "2019-04-22T05:04:05+02:00",
                  "Mon, 22 Apr 2019 03:04:05 GMT", 1555902245, 1555902245000, dt.datetime(2019, 4, 22, 3, 4, 5)):
        assert parse_date(value) == utc, value
    assert parse_date(dt.date(2019, 4, 22)) == utc.replace(hour=0, minute=0, second=0)
    assert parse_date("2019-04-22T03:04:05.250Z").microsecond == 250000
    for bad in ("yesterday", "1850-01-01", True, [2019], 10**20):
        assert parse_date(bad) is None, bad


def test_the_shipped_crawl_list_dates_the_presets_rows():
    calendar = CrawlCalendar(load_crawls())
    when = lambda s: dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC)  # noqa: E731
    # C4's April 2019 capture, a RedPajama 2023-06 download, a date between two crawls.
    assert calendar.crawl_at(when("2019-04-22T03:04:05")) == "CC-MAIN-2019-18"
    assert calendar.crawl_at(when("2023-01-28T11:00:00")) == "CC-MAIN-2023-06"
    assert calendar.crawl_at(when("2019-03-01T00:00:00")) is None


def test_settings_override_the_presets_fields():
    assert CorpusOptions().mapping() == FieldMapping()
    assert CorpusOptions(preset="fineweb").mapping() == PRESETS["fineweb"]
    mapped = CorpusOptions(preset="dolma", url_field="metadata.link", id_field="uid").mapping()
    assert mapped.url == ("metadata.link",) and mapped.id == ("uid",) and mapped.id_scope == ("source",)
    assert mapped.date == PRESETS["dolma"].date
    assert CorpusOptions(preset="c4").origin("jsonl") == "c4" and CorpusOptions().origin("parquet") == "parquet"
    assert CorpusOptions(preset="c4", name="c4-en-2019").origin("jsonl") == "c4-en-2019"


@pytest.mark.parametrize(("name", "fmt"), [
    ("c4-train.00000-of-01024.json.gz", "jsonl"), ("000_00000.parquet", "parquet"), ("a/0933_uk_all.jsonl.gz", "jsonl"),
    ("x.JSONL", "jsonl"), ("CC-MAIN-x.warc.gz", None), ("s3://b/x.wet.gz", None), ("notes.json", None),
])
def test_corpus_format_of_a_file_name(name, fmt):
    assert corpus_format_of(name) == fmt


def test_lookup_walks_objects_json_strings_maps_and_dotted_keys():
    row = {"meta": '{"url": "u", "deep": {"x": 1}}', "m": [("k", "v")], "a": {"b.c": 2}, "n": None}
    assert lookup(row, ("meta", "url")) == "u" and lookup(row, ("meta", "deep", "x")) == 1
    assert lookup(row, ("m", "k")) == "v" and lookup(row, ("a", "b", "c")) == 2
    assert lookup(row, ("n", "x")) is None and lookup(row, ("meta", "nope")) is None



def test_corpus_settings_come_from_flags_and_toml(tmp_path):
    toml = tmp_path / "lw.toml"
    toml.write_text('[corpus]\npreset = "dolma"\nurl_field = "metadata.link"\n[inputs]\nformat = "jsonl"\n')
    for command in ("extract", "run"):
        _, config = parse([command, "x.jsonl.gz", "--config", str(toml), "--id-field", "uid", "--corpus-name", "d"])
        assert config.inputs.format == "jsonl" and config.corpus.mapping().url == ("metadata.link",)
        assert config.corpus.mapping().id == ("uid",) and config.corpus.origin("jsonl") == "d"
    toml.write_text('[corpus]\npreset = "pile"\n')
    with pytest.raises(ConfigError, match=r"\[corpus\] preset must be one of c4, fineweb, redpajama, dolma"):
        build_config(config_file=str(toml))
