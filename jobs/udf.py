"""Every pandas function Spark runs in its Python workers, in one place: classify's scoring UDF,
dedup's MinHash signatures (mapInPandas), stats' estimation per slice (applyInPandas) and the
word-frequency estimator's counts and page scores. Each wraps plain functions of udfs/ and
leakwatch.estimators around Arrow batches; the jobs call these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import pandas as pd
from pyspark import SparkFiles
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType

from leakwatch.estimators.rows import SliceContext, estimate_slice
from leakwatch.estimators.wordfreq import WordModel, distinct_words
from leakwatch.schemas.tables import ESTIMATE_ROWS, SCORES_UDF, SCORES_UDF_COLUMNS, SIGNATURE_DDL
from leakwatch.udfs.classifier import score_frame
from leakwatch.udfs.markers import marker_frame
from leakwatch.udfs.minhash import DedupOptions, signature_frames


def scores_udf(model_file: str):
    """The pandas UDF (text, language, n_words) -> struct of SCORES_UDF, reading the shipped model."""

    @F.pandas_udf(SCORES_UDF)
    def score(text: pd.Series, language: pd.Series, n_words: pd.Series) -> pd.DataFrame:
        frame = score_frame(text.tolist(), language.tolist(), n_words.tolist(), SparkFiles.get(model_file))
        return pd.concat([frame, marker_frame(text.tolist())], axis=1)[list(SCORES_UDF_COLUMNS)]

    return score


def signatures(docs: DataFrame, options: DedupOptions) -> DataFrame:
    """(doc_id, n_shingles, signature, band_hashes) of documents (doc_id, text, template: their host's template
    line keys or null), per Arrow batch in numpy."""
    return docs.mapInPandas(lambda frames: signature_frames(frames, options), SIGNATURE_DDL)


def estimates(cells: DataFrame, context: SliceContext) -> DataFrame:
    """One ESTIMATE_ROWS row per row key, from the cells of each slice (view x dimension x value)."""
    columns = ESTIMATE_ROWS.fieldNames()

    # Cells arrive in partition order; estimate_slice sorts them first.
    return cells.groupBy("view", "dimension", "value").applyInPandas(
        lambda frame: estimate_slice(frame, context, columns), ESTIMATE_ROWS)


DOCUMENTS_WORD = ""  # the row of word_document_counts that counts the documents themselves


def word_document_counts(docs: DataFrame, candidates: Sequence[str]) -> DataFrame:
    """(word, n): how many documents of `docs` (a `text` column) hold each candidate word, and under the
    word DOCUMENTS_WORD how many documents there are; counted per Arrow batch, summed by Spark."""
    wanted = frozenset(candidates)

    def count(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            counts: Counter = Counter({DOCUMENTS_WORD: len(frame)})
            for text in frame["text"]:
                counts.update(distinct_words(text) & wanted)
            yield pd.DataFrame({"word": list(counts), "n": list(counts.values())})

    return docs.select("text").mapInPandas(count, "word string, n long").groupBy("word").agg(F.sum("n").alias("n"))


def word_scores(model: WordModel):
    """The pandas UDF text -> the page's word score under `model`."""

    @F.pandas_udf(DoubleType())
    def score(text: pd.Series) -> pd.Series:
        return pd.Series([model.score(t) for t in text], dtype=float)

    return score
