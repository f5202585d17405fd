"""The list of Common Crawl crawls and their dates, from a snapshot shipped with the package; how
crawls are ordered in time and which of them a monthly run takes; and `leakwatch crawls`, which
prints the list.

The snapshot holds id, name and the capture window (from, to) of each crawl, derived from
Common Crawl's collinfo.json; `leakwatch crawls --refresh` writes a newer one to the user cache,
which then takes precedence.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from leakwatch import __version__
from leakwatch.errors import ConfigError, SourceUnreachable
from leakwatch.schemas.values import CC_CRAWL, is_pre_chatgpt
from leakwatch.settings import above, at_least, setting
from leakwatch.sources import FetchOptions, HostUnknown, PermanentError, RetriesExhausted, open_input

if TYPE_CHECKING:
    from leakwatch.config import Config

COLLINFO_URL = "https://index.commoncrawl.org/collinfo.json"


@dataclass(frozen=True)
class CrawlsOptions:
    """What `leakwatch crawls` prints, and whether it fetches a new list first."""

    refresh: str | None = setting(None, f"fetch a new collinfo.json (a URL or a path; {COLLINFO_URL} when none is "
                                  "given) into the user cache first", nargs="?", const=COLLINFO_URL,
                                  metavar="URL_OR_PATH", default_help="no: the cached or shipped list")
    last: int | None = setting(None, "show only the N most recent crawls", metavar="N", default_help="every crawl",
                               check=at_least(1))


@dataclass(frozen=True)
class MonthlyOptions:
    """Which crawls a monthly run takes, and when a lock left by another run may be taken over."""

    since: str | None = setting(None, "first crawl of the series", metavar="CRAWL",
                                default_help="the earliest crawl the warehouse has begun, else the newest crawl")
    lock_stale_hours: float = setting(24.0, "take over a lock whose run sent no heartbeat for this long",
                                      metavar="H", check=above(0))


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


def _list_source() -> str:
    cached = cache_path()
    if cached.exists():
        return f"refreshed {dt.datetime.fromtimestamp(cached.stat().st_mtime, dt.UTC):%Y-%m-%d} into {cached}"
    return f"shipped with leakwatch {__version__}"


def check_crawl(crawl: str, flag: str = "--crawl", crawls: list[dict] | None = None,
                today: dt.date | None = None) -> None:
    """Refuse a crawl id that is not in the crawl list (default: load_crawls), saying why: no such week, a
    future week, a list older than the crawl (then `crawls --refresh` helps), or no Common Crawl crawl at all."""
    crawls = load_crawls() if crawls is None else crawls
    if any(c["id"] == crawl for c in crawls):
        return
    match = CC_CRAWL.match(crawl)
    if not match:
        raise ConfigError(f"{flag} {crawl}: not a Common Crawl crawl id (CC-MAIN-YYYY-WW; `leakwatch crawls` lists "
                          "them); to name the crawl of your own files, give the files as well")
    try:
        start = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ConfigError(f"{flag} {crawl}: no such crawl: {match[1]} has no week {match[2]}") from None
    today = today or dt.datetime.now(dt.UTC).date()
    if start > today:
        raise ConfigError(f"{flag} {crawl}: no such crawl yet: its week begins on {start}, after today ({today})")
    weekly = [c["id"] for c in crawls if CC_CRAWL.match(c["id"])]
    newest = max(weekly, key=lambda c: crawl_order_key(c, None), default=None)
    if newest is None or crawl_order_key(crawl, None) > crawl_order_key(newest, None):
        raise ConfigError(f"{flag} {crawl}: not in the crawl list, which ends at {newest} ({_list_source()}); "
                          "if the crawl is out, `leakwatch crawls --refresh` fetches the current list")
    raise ConfigError(f"{flag} {crawl}: not in the crawl list, and no such Common Crawl crawl (`leakwatch crawls` "
                      "lists them)")


def crawl_order_key(crawl: str, earliest_fetch: dt.datetime | None) -> str:
    """A string that sorts crawls in time (see the module doc)."""
    start = None
    match = CC_CRAWL.match(crawl)
    if match:
        try:
            start = dt.datetime.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:  # not a real ISO week: date the crawl by its fetch times instead
            start = None
    start = start or earliest_fetch
    if start is None:
        raise ValueError(
            f"crawl {crawl!r} is not named CC-MAIN-YYYY-WW and none of its documents has a fetch_time: "
            "it cannot be placed in time; re-extract it with WARC-Date or rename it"
        )
    return f"{start:%Y-%m-%dT%H:%M:%S} {crawl}"


def refresh(source: str) -> list[dict]:
    """Fetch collinfo.json (URL or path) and store the derived list in the user cache."""
    unchanged = f"the crawl list in use is unchanged ({_list_source()})"
    try:
        with open_input(source, FetchOptions(retries=3)) as stream:
            collinfo = json.loads(stream.read().decode("utf-8"))
    except (HostUnknown, RetriesExhausted) as exc:
        raise SourceUnreachable(f"cannot fetch the crawl list: {exc}; check the network, or give --refresh a saved "
                                f"collinfo.json; {unchanged}") from exc
    except PermanentError as exc:
        raise ConfigError(f"--refresh: {exc}; {unchanged}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--refresh {source}: not a collinfo.json: not JSON text ({exc}); {unchanged}") from exc
    if not isinstance(collinfo, list) or not all(isinstance(c, dict) for c in collinfo):
        raise ConfigError(f"--refresh {source}: not a collinfo.json: expected a JSON list of crawls with \"id\", "
                          f"\"from\" and \"to\"; {unchanged}")
    crawls = from_collinfo(collinfo)
    if not crawls:
        raise ConfigError(f"--refresh {source}: lists no crawl with an \"id\"; {unchanged}")
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(crawls, indent=0) + "\n", "utf-8")
    return crawls


def pending_crawls(crawls: list[dict], markers: dict[str, str], since: str | None) -> list[str]:
    """Ids of the crawls to run, oldest first: those not complete from `since` on (default: the
    earliest crawl with a marker, started or complete, else the newest crawl of the list)."""
    # Weekly crawl ids; the early yearly ones (CC-MAIN-2008-2009, ...) have no warc.paths.gz of this form.
    ids = [c["id"] for c in crawls if CC_CRAWL.match(c["id"])]
    complete = {c for c, state in markers.items() if state == "complete"}
    if since is not None:
        if since not in ids:
            check_crawl(since, "--since", crawls)
            raise ConfigError(f"--since {since}: an early crawl without weekly manifests; give a CC-MAIN-YYYY-WW id")
        start = ids.index(since)
    elif set(markers) & set(ids):
        start = min(ids.index(c) for c in markers if c in ids)
    else:
        start = len(ids) - 1
    return [c for c in ids[start:] if c not in complete]


def run(config: Config) -> int:
    """CLI entry of `leakwatch crawls`."""
    options = config.crawls
    if options.refresh:
        crawls = refresh(options.refresh)
        print(f"crawls: {len(crawls)} crawls written to {cache_path()}", file=sys.stderr)
    else:
        crawls = load_crawls()
    for crawl in crawls[-options.last :] if options.last else crawls:
        era = "pre-ChatGPT" if is_pre_chatgpt(crawl["id"]) else "post-ChatGPT"
        print(f"{crawl['id']}\t{(crawl['from'] or '')[:10]}\t{(crawl['to'] or '')[:10]}\t{era}\t{crawl['name']}")
    return 0
