"""Classifier throughput: docs/s per core scoring 1,000-word documents (P(llm) + marker counts)
in a plain Python loop, in one batched call (also with the text functions as they were before their
fast paths), per step, and in Spark local[1]; model load time and size. The shipped model and the
baseline model (leakwatch-llm-v1, the model it replaced) are measured in the same run, interleaved.

Run: PYSPARK_PYTHON=.venv/bin/python .venv/bin/python -m benchmarks.bench_classify [--docs N]
Writes benchmarks/out/classify.json and prints a Markdown section for BENCHMARKS.md; --record-card also
writes the figures into the model's card (`throughput`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

from benchmarks.machine import MachineLoad
from leakwatch.udfs.classifier import default_model_path, load_model, model_id, score_frame, scorer
from leakwatch.udfs.markers import count_markers, marker_frame

WORDS_PER_DOC = 1000
# Ordinary English plus a few lexicon words, so the marker matcher has hits to count.
VOCABULARY_TEXT = (
    "the of and to in is was for on that with as by at from his her they this have had not are "
    "but which one were all we when there can an been has more if will would who so no people time "
    "year city house water morning said market river school government data report study results "
    "delve intricate tapestry meticulous crucial however moreover, also. new first many use work"
)
VOCABULARY = VOCABULARY_TEXT.split()
SPARK_WARMUP_PASSES = 8


def make_docs(n: int, seed: int = 0) -> list[str]:
    """n documents of WORDS_PER_DOC words with sentence punctuation."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        words = [rng.choice(VOCABULARY) for _ in range(WORDS_PER_DOC)]
        for i in range(12, WORDS_PER_DOC, 15):
            words[i] += "."
        docs.append(" ".join(words))
    return docs


def bench_plain(docs: list[str], model: str) -> dict[str, float]:
    """One document at a time, as a naive caller would; one batched call (the UDF's path); the
    batched path with the text functions as they were before their fast paths (benchmarks/reference.py);
    and each step of a document alone."""
    from benchmarks import reference
    from benchmarks.machine import best_rate
    from leakwatch.udfs.classifier import classifier_text, predict_llm

    n = len(docs)

    def loop() -> None:
        for doc in docs:
            score_frame([doc], ["en"], [WORDS_PER_DOC], model)
            count_markers(doc)

    def batched() -> None:
        score_frame(docs, ["en"] * n, [WORDS_PER_DOC] * n, model)
        marker_frame(docs)

    fasttext_model = load_model(model)

    def before() -> None:
        fasttext_model.predict([reference.classifier_text(t) for t in docs], k=-1)
        [reference.count_markers(t) for t in docs]

    forms = [classifier_text(t) for t in docs]
    shipped = scorer(model)
    return {
        "loop_docs_per_s": best_rate(n, loop),
        "batched_docs_per_s": best_rate(n, batched),
        "before_fast_paths_batched_docs_per_s": best_rate(n, before),
        "batched_docs_per_cpu_s": best_rate(n, batched, clock=time.process_time),
        "before_fast_paths_batched_docs_per_cpu_s": best_rate(n, before, clock=time.process_time),
        "step_classifier_text_docs_per_s": best_rate(n, lambda: [classifier_text(t) for t in docs]),
        "step_markers_docs_per_s": best_rate(n, lambda: [count_markers(t) for t in docs]),
        "step_fasttext_predict_docs_per_s": best_rate(n, lambda: fasttext_model.predict(forms, k=-1)),
        "step_predict_llm_docs_per_s": best_rate(n, lambda: predict_llm(fasttext_model, docs)),
        "step_p_llm_docs_per_s": best_rate(n, lambda: shipped.p_llm(forms)),
    }


def child_cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far of this process's descendants by command name: the
    Spark JVM (`java`) and its Python workers (`python`)."""
    stats = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                comm, rest = fh.read().split(" (", 1)[1].rsplit(") ", 1)
        except (OSError, ValueError, IndexError):
            continue  # gone since listdir
        fields = rest.split()
        stats[int(entry)] = (comm, int(fields[1]), sum(int(v) for v in fields[11:13]))
    mine, grew = {os.getpid()}, True
    while grew:
        kids = {pid for pid, (_, parent, _) in stats.items() if parent in mine} - mine
        mine |= kids
        grew = bool(kids)
    mine.discard(os.getpid())
    out: dict[str, float] = {}
    for pid in mine:
        comm, _, ticks = stats[pid]
        out[comm] = out.get(comm, 0.0) + ticks / os.sysconf("SC_CLK_TCK")
    return out


def bench_spark(docs: list[str], model_paths: list[str]) -> dict[str, dict[str, float]]:
    """Per model: docs/s of the classify job's UDF on Spark local[1] (one core) once the JVM is warm, and CPU
    microseconds per document of the JVM and of the Python worker over the timed runs. The models take
    turns pass by pass, so the machine's load falls on both alike."""
    from leakwatch.jobs.classify import score_documents, ship_model
    from leakwatch.jobs.spark import SparkOptions, get_spark

    spark = get_spark(SparkOptions(master="local[1]", driver_memory="2g"))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1024")
    rows = [(i, "CC-MAIN-2024-10", "en", WORDS_PER_DOC, doc) for i, doc in enumerate(docs)]
    frame = spark.createDataFrame(rows, "doc_id long, crawl string, language string, n_words int, text string")
    # localCheckpoint, not cache: a cached frame keeps the local rows in its lineage, so every pass
    # shipped them again in a 10 MB task. This times the scoring alone, not reading the documents.
    frame = frame.localCheckpoint()
    jobs = {}
    for path in model_paths:
        mid = model_id(path)
        jobs[path] = score_documents(frame, ship_model(spark, Path(path), mid), mid, "bench")
    # Warm-up: worker start, model load, and the JIT: the JVM's CPU per document fell ~2x over the
    # first ~10 passes of 2,000 documents when measured.
    for _ in range(SPARK_WARMUP_PASSES):
        for scored in jobs.values():
            scored.write.format("noop").mode("overwrite").save()
    best = dict.fromkeys(model_paths, float("inf"))
    cpu = {path: {} for path in model_paths}
    repeats = 3
    for _ in range(repeats):
        for path, scored in jobs.items():
            before = child_cpu_seconds()
            start = time.perf_counter()
            scored.write.format("noop").mode("overwrite").save()
            best[path] = min(best[path], time.perf_counter() - start)
            after = child_cpu_seconds()
            for comm in after:
                cpu[path][comm] = cpu[path].get(comm, 0.0) + after[comm] - before.get(comm, 0.0)
    spark.stop()
    out = {}
    for path in model_paths:
        per_doc = {comm: 1e6 * seconds / (repeats * len(docs)) for comm, seconds in cpu[path].items()}
        out[path] = {"docs_per_s": len(docs) / best[path], "jvm_cpu_us_per_doc": per_doc.get("java", 0.0),
                     "python_worker_cpu_us_per_doc": per_doc.get("python", 0.0)}
    return out


BASELINE = Path(__file__).resolve().parent.parent / "models" / "leakwatch-llm-v1.ftz"


def model_results(path: str, plain: dict[str, float], spark: dict[str, float], load_s: float) -> dict:
    """The JSON record of one model."""
    return {
        "model": os.path.basename(path), "model_id": model_id(path), "model_bytes": os.path.getsize(path),
        "model_load_seconds": round(load_s, 4),
        "plain_loop_docs_per_s": round(plain["loop_docs_per_s"], 1),
        "plain_batched_docs_per_s": round(plain["batched_docs_per_s"], 1),
        **{k: round(v, 1) for k, v in plain.items() if k.startswith(("before", "step", "batched_docs_per_cpu"))},
        "spark_local1_docs_per_s_per_core": round(spark["docs_per_s"], 1),
        "spark_jvm_cpu_us_per_doc": round(spark["jvm_cpu_us_per_doc"], 1),
        "spark_python_worker_cpu_us_per_doc": round(spark["python_worker_cpu_us_per_doc"], 1),
        "spark_docs_per_cpu_s": round(1e6 / (spark["jvm_cpu_us_per_doc"] + spark["python_worker_cpu_us_per_doc"]), 1),
    }


def _row(name: str, values: list[str]) -> str:
    return f"| {name} | " + " | ".join(values) + " |"


def main() -> None:
    """Run the benchmark and print the BENCHMARKS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--baseline", default=str(BASELINE), help="the model measured beside it ('' for none)")
    parser.add_argument("--record-card", action="store_true", help="write the figures into the model's card")
    args = parser.parse_args()
    import fasttext

    paths = [args.model] + ([args.baseline] if args.baseline and args.baseline != args.model else [])
    load_s = {}
    for path in paths:
        start = time.perf_counter()
        fasttext.load_model(path)
        load_s[path] = time.perf_counter() - start
        load_model(path)
    docs = make_docs(args.docs)
    with MachineLoad() as load:
        plain = {path: bench_plain(docs, path) for path in paths}
        spark = bench_spark(docs, paths)
    models = [model_results(p, plain[p], spark[p], load_s[p]) for p in paths]
    results = {"docs": args.docs, "words_per_doc": WORDS_PER_DOC, "models": models, "cpu_count": os.cpu_count(),
               "machine": load.as_dict()}
    out = Path(__file__).parent / "out" / "classify.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    if args.record_card:
        from leakwatch.training.card import record_throughput
        from leakwatch.udfs.scoring import card_path

        record_throughput(card_path(args.model), results, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    lines = [
        "## Classifier scoring (benchmarks/bench_classify.py)", "",
        f"{args.docs} synthetic English documents of {WORDS_PER_DOC} words; each gets P(llm) (the model reads",
        "its first 512 tokens) and marker counts over the whole text. One core throughout; the models in the",
        f"same run. Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs while measured, "
        f"Python {platform.python_version()}.", "",
        "| measure | " + " | ".join(f"`{m['model']}`" for m in models) + " |",
        "|---|" + "---|" * len(models),
        _row("model id", [m["model_id"] for m in models]),
        _row("model size", [f"{m['model_bytes'] / 1e6:.2f} MB" for m in models]),
        _row("model load time", [f"{m['model_load_seconds'] * 1000:.0f} ms" for m in models]),
        _row("plain Python loop, one doc per call", [f"{m['plain_loop_docs_per_s']:.0f} docs/s" for m in models]),
        _row("plain Python, one batched call", [f"{m['plain_batched_docs_per_s']:.0f} docs/s" for m in models]),
        _row("same, per CPU-second", [f"{m['batched_docs_per_cpu_s']:.0f} docs" for m in models]),
        _row("scoring step alone (text form done)", [f"{m['step_p_llm_docs_per_s']:.0f} docs/s" for m in models]),
        _row("Spark local[1], pandas UDF (1,024-row batches), warm JVM",
             [f"**{m['spark_local1_docs_per_s_per_core']:.0f}** docs/s per core" for m in models]),
        _row("same, CPU per document: JVM + Python worker",
             [f"{m['spark_jvm_cpu_us_per_doc']:.0f} + {m['spark_python_worker_cpu_us_per_doc']:.0f} us "
              f"({m['spark_docs_per_cpu_s']:.0f} docs per CPU-second)" for m in models]),
        "| target | 2,000 docs/s per core |" + " |" * (len(models) - 1), "",
        f"Steps alone (docs/s, first model): classifier_text {models[0]['step_classifier_text_docs_per_s']:.0f}, "
        f"markers {models[0]['step_markers_docs_per_s']:.0f}. Load average {load.load_start:.1f} -> "
        f"{load.load_end:.1f}, steal {load.steal:.1%}.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
