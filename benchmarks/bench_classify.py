"""Classifier throughput: docs/s per core scoring 1,000-word documents (P(llm) + marker counts)
in a plain Python loop, in one batched call (also with the text functions as they were before their
fast paths, as the in-run baseline), per step, and in Spark local[1]; model load time and size.

Run: PYSPARK_PYTHON=.venv/bin/python .venv/bin/python -m benchmarks.bench_classify [--docs N]
Writes benchmarks/out/classify.json and prints a Markdown section for BENCHMARKS.md.
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
from leakwatch.udfs.classifier import default_model_path, load_model, model_id, score_frame
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


def bench_spark(docs: list[str], model_path: str) -> dict[str, float]:
    """docs/s of the classify job's UDF on Spark local[1] (one core) once the JVM is warm, and CPU
    microseconds per document of the JVM and of the Python worker over the timed runs."""
    from benchmarks.machine import best_rate
    from leakwatch.jobs.classify import score_documents, ship_model
    from leakwatch.jobs.spark import SparkOptions, get_spark

    spark = get_spark(SparkOptions(master="local[1]", driver_memory="2g"))
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1024")
    mid = model_id(model_path)
    name = ship_model(spark, Path(model_path), mid)
    rows = [(i, "CC-MAIN-2024-10", "en", WORDS_PER_DOC, doc) for i, doc in enumerate(docs)]
    frame = spark.createDataFrame(rows, "doc_id long, crawl string, language string, n_words int, text string")
    # localCheckpoint, not cache: a cached frame keeps the local rows in its lineage, so every pass
    # shipped them again in a 10 MB task. This times the scoring alone, not reading the documents.
    frame = frame.localCheckpoint()
    scored = score_documents(frame, name, mid, "bench")
    # Warm-up: worker start, model load, and the JIT: the JVM's CPU per document fell ~2x over the
    # first ~10 passes of 2,000 documents when measured.
    for _ in range(SPARK_WARMUP_PASSES):
        scored.write.format("noop").mode("overwrite").save()
    repeats = 3
    before = child_cpu_seconds()
    rate = best_rate(len(docs), lambda: scored.write.format("noop").mode("overwrite").save(), repeats=repeats)
    after = child_cpu_seconds()
    spark.stop()
    per_doc = {comm: 1e6 * (after[comm] - before.get(comm, 0.0)) / (repeats * len(docs)) for comm in after}
    return {"docs_per_s": rate, "jvm_cpu_us_per_doc": per_doc.get("java", 0.0),
            "python_worker_cpu_us_per_doc": per_doc.get("python", 0.0)}


def main() -> None:
    """Run the benchmark and print the BENCHMARKS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--model", default=str(default_model_path()))
    args = parser.parse_args()
    import fasttext

    start = time.perf_counter()
    fasttext.load_model(args.model)
    load_s = time.perf_counter() - start
    load_model(args.model)
    docs = make_docs(args.docs)
    with MachineLoad() as load:
        plain = bench_plain(docs, args.model)
        spark = bench_spark(docs, args.model)
    size = os.path.getsize(args.model)
    results = {
        "docs": args.docs, "words_per_doc": WORDS_PER_DOC, "model_id": model_id(args.model),
        "model_bytes": size, "model_load_seconds": round(load_s, 4),
        "plain_loop_docs_per_s": round(plain["loop_docs_per_s"], 1),
        "plain_batched_docs_per_s": round(plain["batched_docs_per_s"], 1),
        **{k: round(v, 1) for k, v in plain.items() if k.startswith(("before", "step", "batched_docs_per_cpu"))},
        "spark_local1_docs_per_s_per_core": round(spark["docs_per_s"], 1),
        "spark_jvm_cpu_us_per_doc": round(spark["jvm_cpu_us_per_doc"], 1),
        "spark_python_worker_cpu_us_per_doc": round(spark["python_worker_cpu_us_per_doc"], 1),
        "spark_docs_per_cpu_s": round(1e6 / (spark["jvm_cpu_us_per_doc"] + spark["python_worker_cpu_us_per_doc"]), 1),
        "cpu_count": os.cpu_count(),
        "machine": load.as_dict(),
    }
    out = Path(__file__).parent / "out" / "classify.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"""## Classifier scoring (benchmarks/bench_classify.py)

{args.docs} synthetic English documents of {WORDS_PER_DOC} words; each gets P(llm) (the model reads
its first 512 tokens) and marker counts over the whole text. One core throughout. Machine:
{platform.machine()}, {os.cpu_count()} cores shared with other jobs while measured, Python
{platform.python_version()}.

| measure | value |
|---|---|
| model | `{os.path.basename(args.model)}` ({model_id(args.model)}) |
| model size | {size / 1e6:.2f} MB |
| model load time | {load_s * 1000:.0f} ms |
| plain Python loop, one doc per call | {plain['loop_docs_per_s']:.0f} docs/s |
| plain Python, one batched call | {plain['batched_docs_per_s']:.0f} docs/s |
| same, text functions before their fast paths | {plain['before_fast_paths_batched_docs_per_s']:.0f} docs/s |
| batched, per CPU-second: now / before the fast paths | {plain['batched_docs_per_cpu_s']:.0f} / \
{plain['before_fast_paths_batched_docs_per_cpu_s']:.0f} docs |
| Spark local[1], pandas UDF (1,024-row batches), warm JVM | {spark['docs_per_s']:.0f} docs/s per core |
| same, CPU per document: JVM + Python worker | {spark['jvm_cpu_us_per_doc']:.0f} + \
{spark['python_worker_cpu_us_per_doc']:.0f} us ({results['spark_docs_per_cpu_s']:.0f} docs per CPU-second) |
| target | 2,000 docs/s per core |

Steps alone (docs/s): classifier_text {plain['step_classifier_text_docs_per_s']:.0f}, markers \
{plain['step_markers_docs_per_s']:.0f}, fasttext predict {plain['step_fasttext_predict_docs_per_s']:.0f}, \
predict_llm (text form + predict) {plain['step_predict_llm_docs_per_s']:.0f}. Load average \
{load.load_start:.1f} -> {load.load_end:.1f}, steal {load.steal:.1%}.
""")


if __name__ == "__main__":
    main()
