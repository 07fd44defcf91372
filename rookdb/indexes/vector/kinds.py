"""What a vector index stores, how it scores, its defaults (RavenDB's) and rookdb's graph tuning.

A kind is RavenDB's destination quantization (``VectorEmbeddingType`` without ``Text``): ``Single``
and ``Int8`` score by cosine similarity, ``Binary`` by Hamming similarity, except that rookdb
rescores quantized candidates with the float vectors when it has them, and then reports their cosine.
Scores follow Voron's HNSW (``Hnsw.SearchState.DistanceToScore`` / ``MinimumSimilarityToDistance``):

* cosine: the score is ``1 - cosine distance``, i.e. the cosine similarity itself (-1..1; 0..1 for
  typical embeddings). A minimum similarity ``s`` keeps vectors whose cosine distance is at most
  ``2 * (1 - s)``, i.e. whose cosine similarity is at least ``2 * s - 1`` (``s`` lives on the
  ``(1 + cos) / 2`` scale, so 0 filters nothing and 1 keeps only identical directions);
* Hamming: the score is ``1 - hamming / bits`` with ``bits`` the packed width (bytes * 8), and a
  minimum similarity ``s`` keeps scores ``>= s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from rookdb.settings import Settings

__all__ = [
    "DEFAULT_MINIMUM_SIMILARITY",
    "DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING",
    "DEFAULT_NUMBER_OF_CANDIDATES_FOR_QUERYING",
    "DEFAULT_NUMBER_OF_EDGES",
    "DEFAULT_SCANNING_THRESHOLD",
    "DEFAULT_TUNING",
    "GraphTuning",
    "ScoreSpace",
    "VectorKind",
    "minimum_score",
    "normalize_rows",
    "quantize_int8_rows",
    "sign_bits",
]

# Defaults of the `Indexing.Corax.VectorSearch.*` settings, as declared there (for callers without settings).
_DEFAULTS = Settings(environ={})
DEFAULT_NUMBER_OF_EDGES = _DEFAULTS["Indexing.Corax.VectorSearch.DefaultNumberOfEdges"]
DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING = (
    _DEFAULTS["Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForIndexing"])
DEFAULT_NUMBER_OF_CANDIDATES_FOR_QUERYING = (
    _DEFAULTS["Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForQuerying"])
DEFAULT_MINIMUM_SIMILARITY = _DEFAULTS["Indexing.Corax.VectorSearch.DefaultMinimumSimilarity"]
DEFAULT_SCANNING_THRESHOLD = _DEFAULTS["Indexing.Corax.VectorSearch.VectorSearchScanningThreshold"]

# Float rounding (f32 dot products, i8 rescoring) must not drop a vector sitting exactly on the
# threshold, e.g. a minimum similarity of 1.0 against an identical vector.
_SCORE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class GraphTuning:
    """How RavenDB's HNSW parameters map onto usearch, and how far quantized searches over-fetch."""

    min_expansion_add: int = 64
    """Floor for the build candidate list (efConstruction). usearch keeps 2·M edges on its base
    layer, which a 16-candidate pool cannot even fill."""
    min_expansion_search: int = 64
    """Floor for the search candidate list (efSearch); the number of vectors returned stays
    ``number_of_candidates``."""
    int8_oversampling: int = 6
    """Int8 graph candidates fetched per wanted vector before f32 rescoring (6: recall@10 0.995 at 100k,
    still faster than the f32 graph)."""
    binary_oversampling: int = 8
    """Binary graph candidates fetched per wanted vector before f32 rescoring."""
    add_threads: int = 1
    """usearch threads for one ``add_many`` call (keep low: the server shares its cores)."""


DEFAULT_TUNING = GraphTuning()


class VectorKind(StrEnum):
    """How vectors are stored in the graph; values are RavenDB's ``VectorEmbeddingType`` names."""

    SINGLE = "Single"
    INT8 = "Int8"
    BINARY = "Binary"


class ScoreSpace(StrEnum):
    """The similarity an index reports: cosine for full-precision data, Hamming for bits only."""

    COSINE = "cosine"
    HAMMING = "hamming"


def minimum_score(space: ScoreSpace, minimum_similarity: float) -> float:
    """The lowest score a result may have under RavenDB's ``minimumSimilarity`` rule."""
    if space is ScoreSpace.COSINE:
        return 2.0 * minimum_similarity - 1.0 - _SCORE_TOLERANCE
    return minimum_similarity - _SCORE_TOLERANCE


def normalize_rows(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Unit-length copies of ``rows`` (zero rows stay zero, so they score 0 against anything)."""
    # np.linalg.norm's own sum for real rows, without its checks and dispatch (a query normalises one row)
    norms = np.sqrt(np.add.reduce(rows * rows, axis=1, keepdims=True))
    np.maximum(norms, np.finfo(np.float32).tiny, out=norms)
    unit: npt.NDArray[np.float32] = (rows / norms).astype(np.float32, copy=False)
    return unit


def quantize_int8_rows(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    """Per-row symmetric int8 quantization (largest component → ±127), as RavenDB's ``ToInt8``.

    Cosine is scale-invariant, so scaling each row to the full int8 range keeps far more precision
    than usearch's own f32→i8 cast of unit vectors (whose components are mostly below 0.1).
    """
    peaks = np.abs(rows).max(axis=1, keepdims=True)
    np.maximum(peaks, np.finfo(np.float32).tiny, out=peaks)
    quantized: npt.NDArray[np.int8] = np.clip(np.rint(rows * (127.0 / peaks)), -127, 127).astype(np.int8)
    return quantized


def sign_bits(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """One bit per component, set when the component is ``>= 0``, most significant bit first.

    The same packing as RavenDB's ``VectorQuantizer.ToInt1``, so pre-quantized and server-quantized
    binary vectors compare alike.
    """
    return np.packbits(rows >= 0, axis=1)
