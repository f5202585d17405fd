"""Inputs of an extract: paths, globs, directories, URIs, manifests and crawl ids resolved to the
list of input files (sampled if asked), with the crawl each belongs to when known before reading."""

from __future__ import annotations

import glob
import os
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakwatch.crawls import check_crawl
from leakwatch.errors import InputError, ManifestMissing, SourceUnreachable
from leakwatch.schemas.values import CRAWL_NAME
from leakwatch.settings import at_least, between, setting
from leakwatch.sources import SCHEMES, HostUnknown, NotFound, PermanentError, RetriesExhausted, read_lines, scheme_of
from leakwatch.udfs.corpora import CORPUS_FORMATS, CORPUS_SUFFIXES
from leakwatch.udfs.ingest import crawl_from_path

if TYPE_CHECKING:
    from leakwatch.config import Config

DEFAULT_BASES = {"https": "https://data.commoncrawl.org/", "s3": "s3://commoncrawl/"}
INPUT_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".wet", ".wet.gz", ".warc.wet.gz", *CORPUS_SUFFIXES)


@dataclass(frozen=True)
class InputOptions:
    """Where the input files come from."""

    paths: tuple[str, ...] = setting((), "WARC/WET/ARC or corpus parquet/JSONL files, globs, directories, s3:// "
                                     "or https:// URIs",
                                     positional=True, nargs="*", metavar="INPUT")
    crawl: tuple[str, ...] = setting((), "crawl id (CC-MAIN-YYYY-WW), repeatable: its manifest is read, or, with "
                                     "INPUTs, the crawl they belong to (train: the crawls --negatives reads)",
                                     metavar="ID")
    manifest: tuple[str, ...] = setting((), "a manifest such as warc.paths.gz (path, s3:// or https://), repeatable",
                                        flags=("--paths", "--manifest"), metavar="MANIFEST")
    format: str = setting("auto", "which manifest --crawl reads (wet: wet.paths.gz), archive records being detected "
                          "from bytes; parquet or jsonl: every input is a corpus file of that format (auto: by "
                          "suffix, .parquet, .jsonl[.gz], .json.gz, .ndjson[.gz])",
                          choices=("auto", "warc", "wet", "arc", *CORPUS_FORMATS))
    source: str = setting("https", "where crawl data is read: https (data.commoncrawl.org) or s3 (s3://commoncrawl/)",
                          choices=tuple(sorted(DEFAULT_BASES)))
    base_url: str | None = setting(None, "base of relative manifest entries and of crawl-data/ (e.g. a mirror)",
                                   metavar="URL", default_help="that of --source")
    sample_files: int | None = setting(None, "read a seeded random subset of N input files (monthly: of each crawl)",
                                       metavar="N", default_help="every file", check=at_least(1))
    seed: int = setting(0, "seed of --sample-files", metavar="S")
    resume: bool = setting(False, "skip input files whose latest ingest_log row is ok")
    max_failed_share: float = setting(0.0, "exit 1 when more than this share of the input files failed (0: any); "
                                      "monthly stops at that crawl", metavar="SHARE", check=between(0, 1))


@dataclass(frozen=True)
class InputFile:
    """One input file and the crawl it belongs to, if known before reading it."""

    uri: str
    crawl: str | None


def _base(config: Config) -> str:
    base = config.inputs.base_url or DEFAULT_BASES.get(config.inputs.source)
    if base is None:
        raise InputError(f"--source must be one of {sorted(DEFAULT_BASES)}, not {config.inputs.source!r}")
    return base if base.endswith("/") else base + "/"


def _absolute(entry: str, base: str) -> str:
    return entry if "://" in entry or entry.startswith("/") else base + entry


def _expand_local(path: str) -> list[str]:
    if any(ch in path for ch in "*?["):
        matches = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        if not matches:
            raise InputError(f"no input files match {path!r}")
        return [os.path.abspath(p) for p in matches]
    if os.path.isdir(path):
        found = sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if not name.startswith(".") and name.endswith(INPUT_SUFFIXES)
        )
        if not found:
            raise InputError(f"directory {path} holds no {'/'.join(INPUT_SUFFIXES)} files")
        return [os.path.abspath(p) for p in found]
    if not os.path.exists(path):
        raise InputError(f"input not found: {path}")
    return [os.path.abspath(path)]


def _check_uri(uri: str, what: str) -> None:
    scheme = scheme_of(uri)
    if scheme and scheme not in SCHEMES:
        raise InputError(f"{what} {uri}: leakwatch cannot read {scheme}:// ; give a path, s3:// or https:// URI")


def _manifest_lines(manifest: str, what: str, config: Config) -> list[str]:
    """The entries of a manifest; a missing one is ManifestMissing, a network failure SourceUnreachable."""
    try:
        return read_lines(manifest, config.ingest)
    except NotFound as exc:
        raise ManifestMissing(f"{what}: {exc}") from exc
    except (HostUnknown, RetriesExhausted) as exc:
        raise SourceUnreachable(f"{what}: {exc}; check the network, or read another copy (--source, --base-url)"
                                ) from exc
    except PermanentError as exc:
        raise InputError(f"{what}: {exc}") from exc


def resolve_inputs(config: Config) -> list[InputFile]:
    """Expand paths, globs, manifests and crawl ids into input files (sampled if asked), in order.

    Raises InputError for inputs that cannot be used (ManifestMissing for a crawl's missing manifest) and
    SourceUnreachable when a manifest's host cannot be reached."""
    opts = config.inputs
    base = _base(config)
    for crawl in opts.crawl:
        if not CRAWL_NAME.match(crawl):
            raise InputError(f"--crawl {crawl!r} is not a crawl name (e.g. CC-MAIN-2024-10)")
    explicit = list(opts.paths) + list(opts.manifest)
    if explicit and len(opts.crawl) > 1:
        raise InputError("with explicit inputs, give at most one --crawl (the crawl they belong to)")
    hint = opts.crawl[0] if explicit and opts.crawl else None
    for uri in explicit:
        _check_uri(uri, "input" if uri in opts.paths else "--paths")
    if not explicit:
        for crawl in opts.crawl:
            check_crawl(crawl)
    files: list[InputFile] = []
    for path in opts.paths:
        uris = [path] if "://" in path else _expand_local(path)
        files += [InputFile(uri, hint or crawl_from_path(uri)) for uri in uris]
    for manifest in opts.manifest:
        entries = _manifest_lines(manifest, "--paths", config)
        files += [InputFile(_absolute(e, base), hint or crawl_from_path(e)) for e in entries]
    if not explicit:
        kind = "wet" if opts.format == "wet" else "warc"
        for crawl in opts.crawl:
            manifest = f"{base}crawl-data/{crawl}/{kind}.paths.gz"
            entries = _manifest_lines(manifest, f"the manifest of {crawl}", config)
            files += [InputFile(_absolute(e, base), crawl) for e in entries]
    if not files:
        raise InputError("no inputs: give files, globs or URIs, --manifest FILE, or --crawl ID")
    unique = list(dict.fromkeys(files))
    if opts.sample_files is not None and opts.sample_files < len(unique):
        if opts.sample_files < 1:
            raise InputError("--sample-files must be at least 1")
        chosen = set(random.Random(opts.seed).sample(range(len(unique)), opts.sample_files))
        unique = [f for i, f in enumerate(unique) if i in chosen]
    return unique
