"""`leakwatch crawls`: list Common Crawl crawls with their capture dates."""

from __future__ import annotations

import json
import sys

from leakwatch.schemas.values import is_pre_chatgpt
from leakwatch.udfs.crawls import COLLINFO_URL, cache_path, from_collinfo, load_crawls
from leakwatch.udfs.sources import FetchOptions, open_input


def refresh(source: str) -> list[dict]:
    """Fetch collinfo.json (URL or path) and store the derived list in the user cache."""
    with open_input(source, FetchOptions(retries=3)) as stream:
        crawls = from_collinfo(json.loads(stream.read().decode("utf-8")))
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(crawls, indent=0) + "\n", "utf-8")
    return crawls


def run(config, args) -> int:
    """CLI entry of `leakwatch crawls`."""
    if args.refresh:
        crawls = refresh(args.refresh)
        print(f"crawls: {len(crawls)} crawls written to {cache_path()}", file=sys.stderr)
    else:
        crawls = load_crawls()
    for crawl in crawls[-args.last :] if args.last else crawls:
        era = "pre-ChatGPT" if is_pre_chatgpt(crawl["id"]) else "post-ChatGPT"
        print(f"{crawl['id']}\t{(crawl['from'] or '')[:10]}\t{(crawl['to'] or '')[:10]}\t{era}\t{crawl['name']}")
    return 0


def register(subparsers) -> None:
    """Add `leakwatch crawls`."""
    parser = subparsers.add_parser("crawls", help="list Common Crawl crawls (id, dates, era)")
    parser.add_argument("--refresh", nargs="?", const=COLLINFO_URL, metavar="URL_OR_PATH",
                        help=f"fetch a new collinfo.json (default {COLLINFO_URL}) into the user cache")
    parser.add_argument("--last", type=int, help="show only the N most recent crawls")
    parser.set_defaults(func=run)
