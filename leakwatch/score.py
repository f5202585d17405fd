"""`leakwatch score`: JSONL with a `text` field per line (stdin or a file) -> the same JSONL with
`p_llm`, `scored`, `language` and `n_words` added. No Spark: for evaluation and quick use."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from leakwatch.errors import ConfigError
from leakwatch.jobs.config import Config
from leakwatch.udfs.classifier import resolve_model, score_frame, word_count
from leakwatch.udfs.langid import identify_languages

BATCH = 1024


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


def register(subparsers) -> None:
    """Add the `score` subcommand."""
    parser = subparsers.add_parser("score", help="JSONL texts (stdin or FILE) -> JSONL with p_llm")
    parser.add_argument("--config", metavar="FILE", help="TOML file with settings; flags given here override it")
    parser.add_argument(
        "--model", dest="classify__model", metavar="PATH", help="fasttext .ftz (default: the shipped model)"
    )
    parser.add_argument("input", nargs="?", metavar="FILE", help="JSONL file (default: stdin)")
    parser.set_defaults(func=run)


def run(config: Config, args) -> int:
    """Score every line and write JSONL to stdout."""
    model, _ = resolve_model(config.classify.model)
    try:
        stream = open(args.input, encoding="utf-8") if args.input else sys.stdin  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {args.input}: {exc.strerror}") from exc
    with stream:
        for batch in read_batches(stream, args.input or "<stdin>"):
            for record in score_records(batch, str(model)):
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0
