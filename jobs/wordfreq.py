"""The word-frequency estimator's two passes over page text (Spark): the human reference's occurrence
rates of the candidate words, and every scored page's word score (leakwatch.estimators.wordfreq).

Weights are fitted on fold 0 of the pre-ChatGPT pages (domain buckets of even number) and of the LLM
texts (by sibling group); the means the estimator compares come from fold 1 (cross-fitting).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from leakwatch.estimators.components import ScoredTexts
from leakwatch.estimators.wordfreq import WordModel, candidates, llm_rates
from leakwatch.jobs.udf import DOCUMENTS_WORD, word_document_counts, word_scores


def fit_word_model(documents: DataFrame, joined: DataFrame, llm: ScoredTexts,
                   pre_crawls: tuple[str, ...]) -> WordModel | None:
    """The word model: LLM rates from fold 0 of the LLM texts, human rates from the scored pages of the
    pre-ChatGPT crawls in fold 0 of the domain buckets; None when either side is empty. `documents` are
    the valid documents with their text (jobs.warehouse.read_documents)."""
    rates = llm_rates(llm.fold_texts(True, 0))
    words = candidates(rates)
    if not words or not pre_crawls:
        return None
    reference = joined.where(F.col("crawl").isin(list(pre_crawls)) & F.col("scored") & (F.col("bucket") % 2 == 0))
    texts = documents.where(F.col("crawl").isin(list(pre_crawls))).select("doc_id", "crawl", "text")
    pages = texts.join(reference.select("doc_id", "crawl"), ["doc_id", "crawl"], "left_semi")
    counts = {r["word"]: int(r["n"]) for r in word_document_counts(pages, words).collect()}
    n_human = counts.pop(DOCUMENTS_WORD, 0)
    if not n_human:
        return None
    model = WordModel.fit(rates, counts, n_human)
    return model if model.weights else None


def with_word_scores(documents: DataFrame, joined: DataFrame, model: WordModel | None) -> DataFrame:
    """`joined` with a `word_score` column: the page's word score when it is scored and there is a model."""
    if model is None:
        return joined.withColumn("word_score", F.lit(None).cast("double"))
    texts = documents.select("doc_id", "crawl", "text")
    scored = joined.where(F.col("scored")).select("doc_id", "crawl")
    scores = texts.join(scored, ["doc_id", "crawl"], "left_semi").select(
        "doc_id", "crawl", word_scores(model)("text").alias("word_score"))
    return joined.join(scores, ["doc_id", "crawl"], "left")
