"""Vector search: a persistent HNSW index per index field, exact search, RavenDB's scoring rules."""

from rookdb.indexes.vector.exact import top_cosine, top_hamming
from rookdb.indexes.vector.index import SearchHit, VectorIndex
from rookdb.indexes.vector.kinds import (
    DEFAULT_MINIMUM_SIMILARITY,
    DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING,
    DEFAULT_NUMBER_OF_CANDIDATES_FOR_QUERYING,
    DEFAULT_NUMBER_OF_EDGES,
    DEFAULT_SCANNING_THRESHOLD,
    DEFAULT_TUNING,
    GraphTuning,
    ScoreSpace,
    VectorKind,
    minimum_score,
)

__all__ = [
    "DEFAULT_MINIMUM_SIMILARITY",
    "DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING",
    "DEFAULT_NUMBER_OF_CANDIDATES_FOR_QUERYING",
    "DEFAULT_NUMBER_OF_EDGES",
    "DEFAULT_SCANNING_THRESHOLD",
    "DEFAULT_TUNING",
    "GraphTuning",
    "ScoreSpace",
    "SearchHit",
    "VectorIndex",
    "VectorKind",
    "minimum_score",
    "top_cosine",
    "top_hamming",
]
