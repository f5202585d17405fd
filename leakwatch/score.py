"""`leakwatch score`: JSONL with a `text` field per line (stdin or a file) -> the same JSONL with
`p_llm`, `scored`, `language` and `n_words` added. No Spark: for evaluation and quick use."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from leakwatch.errors import ConfigError
from leakwatch.settings import setting
from leakwatch.udfs.classifier import resolve_model, score_frame, word_count
from leakwatch.udfs.langid import identify_languages

if TYPE_CHECKING:
    from leakwatch.config import Config

BATCH = 1024


@dataclass(frozen=True)
class ScoreOptions:
    """What `leakwatch score` reads."""

    input: str | None = setting(None, "JSONL file with a \"text\" field per line", positional=True, nargs="?",
                                metavar="FILE", default_help="stdin")


def read_batches(stream: IO[str], name: str) -> Iterator[list[dict[str, Any]]]:
    """Parsed JSONL records in batches, with errors naming the line."""
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ConfigError(f"{name}:{number}: expected an object with a string 'text' field")
        batch.append(record)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def score_records(records: list[dict[str, Any]], model_path: str) -> list[dict[str, Any]]:
    """The records with p_llm (None when not scored), scored, language and n_words added."""
    texts = [r["text"] for r in records]
    languages = [code for code, _ in identify_languages(texts)]
    n_words = [word_count(t) for t in texts]
    frame = score_frame(texts, languages, n_words, model_path)
    out = []
    for record, p, scored, lang, n in zip(records, frame["p_llm"], frame["scored"], languages, n_words, strict=True):
        out.append(
            {
                **record,
                "p_llm": round(float(p), 6) if scored else None,
                "scored": bool(scored),
                "language": lang,
                "n_words": n,
            }
        )
    return out


def run(config: Config) -> int:
    """Score every line and write JSONL to stdout."""
    model, _ = resolve_model(config.classify.model)
    source = config.score.input
    try:
        stream = open(source, encoding="utf-8") if source else sys.stdin  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror}") from exc
    with stream:
        try:
            for batch in read_batches(stream, source or "<stdin>"):
                for record in score_records(batch, str(model)):
                    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{source or '<stdin>'}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); give "
                              "JSONL, an object with a \"text\" field per line") from exc
    return 0
