"""The value sets that cross modules: crawl ids, the ChatGPT cutoff, views, time slices, lexicons,
skip reasons and file statuses. Plain Python (no Spark): per-record code imports them too."""

from __future__ import annotations

import re

# A Common Crawl crawl id, CC-MAIN-YYYY-WW (ISO year and week of the crawl's start).
CC_CRAWL_PATTERN = r"CC-MAIN-(\d{4})-(\d{2})"
CC_CRAWL = re.compile(f"^{CC_CRAWL_PATTERN}$")  # a whole id: groups year and week
CC_CRAWL_IN_PATH = re.compile(f"({CC_CRAWL_PATTERN})")  # the first id in a path: group 1 is the id
# Any crawl name leakwatch accepts (a crawl need not be Common Crawl's): a path-safe word.
CRAWL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

CHATGPT_CUTOFF = "CC-MAIN-2022-40"  # the last crawl before ChatGPT's release
CHATGPT_RELEASE = "2022-11-30"


def is_pre_chatgpt(crawl: str) -> bool:
    """True for Common Crawl crawls captured before ChatGPT (<= CC-MAIN-2022-40): the negative control."""
    return crawl.startswith("CC-MAIN-") and crawl <= CHATGPT_CUTOFF


# Views of a crawl's pages in the stats table: every capture, one page per near-duplicate cluster,
# content first seen in that crawl.
VIEWS = ("captures", "unique", "first_seen")
# Time slices of the stats table: the crawl, then months per crawl (dimension `all` only).
TIME_SLICES = ("crawl", "fetch_month", "published_month")
MONTH_SLICES = TIME_SLICES[1:]
# The value of a stats row's language or TLD dimension when the page has none.
UNKNOWN = "unknown"

# One count column per lexicon in the scores table (the lexicon file must define exactly these), and
# the markers whose excess over the pre-ChatGPT rate the stats table reports (the neutral control has none).
LEXICON_NAMES = ("chatbot_leftovers", "llm_style_words", "neutral_control")
# The stats table's columns of each prevalence estimator (leakwatch.estimators: COLUMN, COLUMN_low,
# COLUMN_high), in the order they appear; a test checks them against the registry.
ESTIMATOR_COLUMNS = ("hdyb", "mle", "hdy", "bound", "acc", "wordfreq")
# A warehouse built from synthetic shards with a known truth (the demo's) holds this file at its root:
# {"source": ..., "crawls": {crawl: true LLM share of its scored pages}}; the report shows it.
SYNTHETIC_TRUTH = "synthetic_truth.json"
EXCESS_MARKERS = ("chatbot_leftovers", "llm_style_words")

# Why a record was not kept. Every record of an input file ends up kept, skipped for one of
# these reasons, or counted as lost in a `partial`/`failed` file.
SKIP_REASONS = (
    "record_type",      # warcinfo, request, metadata, resource, ... (also counted by type)
    "revisit",          # revisit records carry no payload
    "not_http",         # a response whose payload is not an HTTP message
    "http_status",      # not 200
    "not_html",         # content type other than HTML/XHTML
    "too_large",        # payload above --max-payload-bytes (gzip-bomb / huge-record guard)
    "undecodable",      # payload could not be read or decoded (bad chunking, bad encoding, ...)
    "extract_error",    # the HTML parser/extractor raised or gave up
    "empty_text",       # no main-content text at all
    "short_text",       # fewer than --min-text-chars of main-content text
    "truncated",        # the record's block ends early (the file is then `partial`)
    "no_url",           # response without a WARC-Target-URI
    "crawl_unknown",    # the file's crawl cannot be told (the file is then `failed`)
    # Rows of derived corpora (parquet, JSON lines):
    "missing_field",    # the row has no value for the mapping's text field
    "bad_field",        # the text, URL or id is of the wrong type (a number, a list, an object)
    "not_json",         # a line that does not parse as JSON
    "not_object",       # JSON that is not an object
    "not_utf8",         # bytes (or an escaped lone surrogate) that are not UTF-8 text
    "bad_date",         # a date that does not parse (ISO 8601, HTTP date, epoch seconds or ms)
    "bad_crawl",        # a crawl/dump value that names no crawl
    "no_crawl",         # no crawl field, none in the path, and no date inside a crawl's capture window
)
# An input file's status in ingest_log: read whole, read up to damage, or not read.
FILE_STATUSES = ("ok", "partial", "failed")
