"""`leakwatch score`: JSONL with a `text` field per line (stdin or a file) -> the same JSONL with `p_llm`,
`scored`, `not_scored` (why not: empty, not_english, too_short), `flagged`, `threshold`, `language` and
`n_words` added. No Spark: for evaluation and quick use. A line that is not valid UTF-8, not JSON, or not an
object with a string `text` stops the run with its line number (exit status 2)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from leakwatch.errors import ConfigError
from leakwatch.settings import setting
from leakwatch.training.corpus import json_objects
from leakwatch.udfs.classifier import resolve_model, score_frame, word_count
from leakwatch.udfs.langid import identify_languages
from leakwatch.udfs.scoring import operating_threshold

if TYPE_CHECKING:
    from leakwatch.config import Config

BATCH = 1024


@dataclass(frozen=True)
class ScoreOptions:
    """What `leakwatch score` reads."""

    input: str | None = setting(None, "JSONL file with a \"text\" field per line", positional=True, nargs="?",
                                metavar="FILE", default_help="stdin")


def read_batches(stream: IO[bytes], name: str) -> Iterator[list[dict[str, Any]]]:
    """Parsed JSONL records in batches, with errors naming the line."""
    batch: list[dict[str, Any]] = []
    for number, record in json_objects(stream, name):
        if not isinstance(record.get("text"), str):
            raise ConfigError(f"{name}:{number}: expected an object with a string 'text' field")
        batch.append(record)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def score_records(records: list[dict[str, Any]], model_path: str, threshold: float | None) -> list[dict[str, Any]]:
    """The records with p_llm and flagged (None when not scored), scored, not_scored, threshold, language and
    n_words added."""
    texts = [r["text"] for r in records]
    languages = [code for code, _ in identify_languages(texts)]
    n_words = [word_count(t) for t in texts]
    frame = score_frame(texts, languages, n_words, model_path)
    out = []
    for record, p, scored, reason, lang, n in zip(records, frame["p_llm"], frame["scored"], frame["not_scored"],
                                                   languages, n_words, strict=True):
        flagged = bool(p >= threshold) if scored and threshold is not None else None
        out.append({**record, "p_llm": float(p) if scored else None, "scored": bool(scored), "not_scored": reason,
                    "flagged": flagged, "threshold": threshold, "language": lang, "n_words": n})
    return out


def run(config: Config) -> int:
    """Score every line and write JSONL to stdout."""
    model, _ = resolve_model(config.classify.model)
    threshold = operating_threshold(model)
    source = config.score.input
    try:
        stream = open(source, "rb") if source else sys.stdin.buffer  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror}") from exc
    with stream:
        for batch in read_batches(stream, source or "<stdin>"):
            for record in score_records(batch, str(model), threshold):
                # ensure_ascii: a lone surrogate from a JSON escape stays an escape instead of failing to encode.
                sys.stdout.write(json.dumps(record) + "\n")
    return 0
