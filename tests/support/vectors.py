"""A clustered synthetic embedding set and its exact answers.

Gaussian clusters on the unit sphere, like real embeddings; uniform random vectors would be a
pathological case for any graph index (see the dependency measurements).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DIMENSIONS = 384
DOCUMENTS = 6000
QUERIES = 100
CLUSTERS = 120


@dataclass(frozen=True)
class Dataset:
    vectors: npt.NDArray[np.float32]  # unit rows; row i belongs to document key i
    queries: npt.NDArray[np.float32]
    truth: npt.NDArray[np.int64]  # exact top-10 document keys per query

    def recall_at_10(self, results: list[list[tuple[int, float]]]) -> float:
        found = [len({key for key, _ in hits[:10]} & set(self.truth[i].tolist())) for i, hits in enumerate(results)]
        return float(np.mean(found)) / 10


def clustered(rng: np.random.Generator, count: int, dimensions: int, clusters: int) -> npt.NDArray[np.float32]:
    """Unit vectors around random unit centres; the noise is as long as a centre."""
    centres = rng.standard_normal((clusters, dimensions)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((count, dimensions)).astype(np.float32) / np.sqrt(dimensions)
    points = centres[rng.integers(0, clusters, count)] + noise
    unit: npt.NDArray[np.float32] = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    return unit


def build_dataset() -> Dataset:
    """The seeded set the vector index tests share (see the ``dataset`` fixture)."""
    rng = np.random.default_rng(20261124)
    everything = clustered(rng, DOCUMENTS + QUERIES, DIMENSIONS, CLUSTERS)
    vectors, queries = everything[:DOCUMENTS], everything[DOCUMENTS:]
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10].astype(np.int64)
    return Dataset(vectors, queries, truth)
