"""Table schemas: the one place where a column of a leakwatch table is declared."""

from leakwatch.schemas.tables import (
    CLUSTERS,
    DOCUMENTS,
    INGEST_LOG,
    LSH_INDEX,
    LSH_SIGNATURES,
    SCHEMA_VERSIONS,
    SCORES,
    SKIP_REASONS,
    STATS,
    URL_HISTORY,
)

__all__ = [
    "CLUSTERS",
    "DOCUMENTS",
    "INGEST_LOG",
    "LSH_INDEX",
    "LSH_SIGNATURES",
    "SCHEMA_VERSIONS",
    "SCORES",
    "SKIP_REASONS",
    "STATS",
    "URL_HISTORY",
]
