"""The list of Common Crawl crawls and their dates, from a snapshot shipped with the package.

The snapshot holds id, name and the capture window (from, to) of each crawl, derived from
Common Crawl's collinfo.json; `leakwatch crawls --refresh` writes a newer one to the user cache,
which then takes precedence.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

COLLINFO_URL = "https://index.commoncrawl.org/collinfo.json"


def cache_path() -> Path:
    """Where a refreshed snapshot is kept ($XDG_CACHE_HOME/leakwatch/crawls.json)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "leakwatch" / "crawls.json"


def from_collinfo(collinfo: list[dict]) -> list[dict]:
    """Keep what leakwatch needs of collinfo.json entries, oldest crawl first."""
    crawls = [
        {"id": c["id"], "name": c.get("name", ""), "from": c.get("from"), "to": c.get("to")}
        for c in collinfo
        if "id" in c
    ]
    return sorted(crawls, key=lambda c: (c["from"] or "", c["id"]))


def load_crawls() -> list[dict]:
    """The crawl list: the refreshed cache if present, else the packaged snapshot."""
    cached = cache_path()
    if cached.exists():
        return json.loads(cached.read_text("utf-8"))
    return json.loads(resources.files("leakwatch.udfs").joinpath("data/crawls.json").read_text("utf-8"))

