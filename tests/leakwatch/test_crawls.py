"""`leakwatch crawls`: the shipped snapshot, and --refresh from a collinfo.json over HTTP."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from leakwatch.cli import main
from leakwatch.crawls import crawl_order_key, load_crawls
from leakwatch.schemas.values import is_pre_chatgpt
from tests.servers import StaticServer


def test_snapshot_lists_crawls_oldest_first(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    crawls = load_crawls()
    ids = [c["id"] for c in crawls]
    assert len(ids) >= 100 and "CC-MAIN-2022-40" in ids and "CC-MAIN-2024-10" in ids
    assert [c["from"] for c in crawls] == sorted(c["from"] for c in crawls)
    assert is_pre_chatgpt("CC-MAIN-2022-40") and not is_pre_chatgpt("CC-MAIN-2022-49")
    assert main(["crawls", "--last", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[-1].startswith(ids[-1]) and "post-ChatGPT" in lines[-1]


def test_refresh_writes_the_user_cache(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    served = tmp_path / "www"
    served.mkdir()
    collinfo = [
        {
            "id": "CC-MAIN-2030-05",
            "name": "January 2030 Index",
            "from": "2030-01-20T00:00:00",
            "to": "2030-02-01T00:00:00",
        },
        {
            "id": "CC-MAIN-2029-50",
            "name": "December 2029 Index",
            "from": "2029-12-01T00:00:00",
            "to": "2029-12-15T00:00:00",
        },
    ]
    (served / "collinfo.json").write_text(json.dumps(collinfo))
    with StaticServer(str(served)) as server:
        assert main(["crawls", "--refresh", server.url + "collinfo.json"]) == 0
    assert [c["id"] for c in load_crawls()] == ["CC-MAIN-2029-50", "CC-MAIN-2030-05"]
    assert "2 crawls written" in capsys.readouterr().err


def test_crawl_order() -> None:
    early, late = dt.datetime(2019, 1, 1), dt.datetime(2024, 5, 1)
    assert crawl_order_key("CC-MAIN-2019-04", late) < crawl_order_key("CC-MAIN-2024-10", early)
    assert crawl_order_key("CC-MAIN-2019-04", None) < crawl_order_key("my-crawl", dt.datetime(2020, 3, 1))
    assert crawl_order_key("my-crawl", dt.datetime(2020, 3, 1)) < crawl_order_key("CC-MAIN-2020-16", None)
    with pytest.raises(ValueError, match="cannot be placed in time"):
        crawl_order_key("my-crawl", None)
