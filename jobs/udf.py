"""Every pandas function Spark runs in its Python workers, in one place: classify's scoring UDF,
dedup's MinHash signatures (mapInPandas) and stats' bootstrap per row (applyInPandas). Each wraps
plain functions of udfs/ and leakwatch.estimators around Arrow batches; the jobs call these.
"""

from __future__ import annotations

import hashlib

import pandas as pd
from pyspark import SparkFiles
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.group import GroupedData

from leakwatch.estimators.base import estimator_class
from leakwatch.estimators.calibration import ResolvedCalibration
from leakwatch.estimators.options import StatsOptions
from leakwatch.schemas.tables import BOOTSTRAP_ROWS, SCORES_UDF, SCORES_UDF_COLUMNS, SIGNATURE_DDL, STATS_KEY
from leakwatch.schemas.values import LEXICON_NAMES
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
    """(doc_id, n_shingles, signature, band_hashes) of documents (doc_id, text), per Arrow batch in numpy."""
    return docs.mapInPandas(lambda frames: signature_frames(frames, options), SIGNATURE_DDL)


def row_seed(seed: int, key: tuple) -> int:
    """A 64-bit seed from the run's seed and a row's key: the same row gets the same draws on any cluster."""
    return int.from_bytes(hashlib.sha256(repr((seed, *key)).encode("utf-8")).digest()[:8], "big")


def bootstrap_rows(calibration: ResolvedCalibration, options: StatsOptions):
    """The applyInPandas function: one row key's domains -> that row's totals, estimate and CI."""
    estimator = estimator_class(options.estimator)(calibration.counts, options.replicates, options.level)
    seed = options.bootstrap_seed

    def one_row(domains: pd.DataFrame) -> pd.DataFrame:
        # Rows arrive in partition order; sorting makes each domain's bootstrap weights reproducible.
        domains = domains.sort_values("domain_key", kind="stable")
        key = tuple(domains[k].iloc[0] for k in STATS_KEY)
        est = estimator.estimate(domains["scored"].to_numpy(), domains["flagged"].to_numpy(), row_seed(seed, key))
        n_scored = int(domains["scored"].sum())
        out = dict(zip(STATS_KEY, key, strict=True))
        out.update({
            "n_docs": int(domains["n_docs"].sum()), "n_domains": len(domains), "n_scored": n_scored,
            "n_flagged": int(domains["flagged"].sum()),
            **{n: int(domains[n].sum()) for n in ("n_sites", "llm_sites", "near_dup", "n_words", *LEXICON_NAMES)},
            "mean_p_llm": float(domains["p_llm"].sum()) / n_scored if n_scored else None,
            **({"raw_share": est.raw_share, "prevalence": est.prevalence, "ci_low": est.ci_low, "ci_high": est.ci_high}
               if n_scored else dict.fromkeys(("raw_share", "prevalence", "ci_low", "ci_high"))),
        })
        return pd.DataFrame([out], columns=BOOTSTRAP_ROWS.fieldNames())

    return one_row


def bootstrap(grouped: GroupedData, calibration: ResolvedCalibration, options: StatsOptions) -> DataFrame:
    """One BOOTSTRAP_ROWS row per stats row key, from its groups of per-domain totals."""
    return grouped.applyInPandas(bootstrap_rows(calibration, options), BOOTSTRAP_ROWS)
