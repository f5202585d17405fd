"""What the report calls its data and its time slices: the origins of the documents (archive records, or
the derived corpus they were read from) and their counts per crawl. Plain strings; the page escapes them."""

from __future__ import annotations

from dataclasses import dataclass

ARCHIVES = {"warc": "WARC records", "arc": "ARC records", None: "archive records"}  # None: written before origin
# A preset's name as its authors write it, and what the `crawl` column holds for its rows: the preset's own
# crawl field (FineWeb's dump, RedPajama's snapshot) or, without one, the crawl whose capture window holds the date.
PRESETS = {"c4": ("C4", "crawl window"), "fineweb": ("FineWeb", "dump"), "redpajama": ("RedPajama", "snapshot"),
           "dolma": ("Dolma", "crawl window")}
FORMATS = ("parquet", "jsonl")  # the origin of a corpus read without a preset or --corpus-name


def corpus_name(origin: str) -> str:
    """A corpus origin as the page names it: the preset's proper name, else `corpus NAME`."""
    if origin in PRESETS:
        return PRESETS[origin][0]
    return f"the {origin} corpus" if origin in FORMATS else f"corpus {origin}"


def origin_name(origin: str | None) -> str:
    """Any origin as the page names it (archive records or a corpus)."""
    return ARCHIVES[origin] if origin in ARCHIVES else corpus_name(origin)


@dataclass(frozen=True)
class Origins:
    """Documents per origin per crawl (documents.origin; None for rows written before it was recorded)."""

    per_crawl: dict[str, dict[str | None, int]]

    @classmethod
    def of(cls, rows: list[tuple[str, str | None, int]]) -> Origins:
        """From (crawl, origin, documents) rows."""
        per_crawl: dict[str, dict[str | None, int]] = {}
        for crawl, origin, n in rows:
            counts = per_crawl.setdefault(crawl, {})
            counts[origin] = counts.get(origin, 0) + int(n)
        return cls(per_crawl)

    def totals(self) -> dict[str | None, int]:
        """Documents per origin over the warehouse, largest first."""
        totals: dict[str | None, int] = {}
        for counts in self.per_crawl.values():
            for origin, n in counts.items():
                totals[origin] = totals.get(origin, 0) + n
        return dict(sorted(totals.items(), key=lambda kv: (-kv[1], str(kv[0]))))

    def corpora(self) -> list[str]:
        """The corpus origins of the warehouse, largest first."""
        return [o for o in self.totals() if o not in ARCHIVES]

    def mixed(self) -> bool:
        """True when the warehouse holds more than one origin."""
        return len(self.totals()) > 1

    def crawl_corpus(self, crawl: str) -> str | None:
        """The corpus every document of `crawl` comes from; None for archives or a mix."""
        origins = list(self.per_crawl.get(crawl, {}))
        return origins[0] if len(origins) == 1 and origins[0] not in ARCHIVES else None


@dataclass(frozen=True)
class Naming:
    """The words of the page: what the data is, what a time slice is called."""

    subject: str = "the crawl"  # "How much of SUBJECT is LLM-written?"
    slice: str = "crawl"  # a table's column: crawl | dump | crawl window | snapshot
    slices: str = "crawls"
    origins: Origins | None = None

    def slice_of(self, crawl: str) -> str:
        """One slice named in a sentence: `CC-MAIN-2024-10`, or `FineWeb dump CC-MAIN-2024-10`."""
        corpus = self.origins.crawl_corpus(crawl) if self.origins else None
        if corpus is None:
            return crawl
        noun = PRESETS.get(corpus, (None, "crawl"))[1]
        return f"{corpus_name(corpus)} {noun} {crawl}"


def naming(origins: Origins | None) -> Naming:
    """The page's words for these origins: a corpus-only warehouse is named by its corpus, a single preset's
    slices by what its crawl column holds; archives or a mix keep `crawl`."""
    if origins is None or not origins.corpora():
        return Naming(origins=origins)
    corpora = origins.corpora()
    names = [corpus_name(c) for c in corpora]
    archives = [o for o in origins.totals() if o in ARCHIVES]
    subject = " and ".join((["the crawl"] if archives else []) + names)
    if len(corpora) == 1 and not archives and corpora[0] in PRESETS:
        noun = PRESETS[corpora[0]][1]
        return Naming(subject, noun, noun + "s", origins)
    return Naming(subject, "crawl", "crawls", origins)
