"""Exact (full-scan) nearest-vector search with numpy: the ground truth and the filtered path.

Both functions score a set of stored rows against one query and return the best ``count`` as
``(rows, scores)`` sorted by descending score. ``rows=None`` scans the whole matrix; ``alive`` masks
out soft-deleted rows. The cost is one matrix-vector product plus an ``argpartition``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["top_cosine", "top_hamming"]

RowIds = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]


def top_cosine(
    matrix: npt.NDArray[np.float32],
    query: npt.NDArray[np.float32],
    count: int,
    *,
    rows: RowIds | None = None,
    alive: npt.NDArray[np.bool_] | None = None,
) -> tuple[RowIds, Scores]:
    """Best ``count`` rows by cosine similarity; ``matrix`` rows and ``query`` are unit length."""
    candidates = rows if rows is not None else np.arange(len(matrix), dtype=np.int64)
    scores = (matrix[rows] if rows is not None else matrix) @ query
    return _best(candidates, scores.astype(np.float32, copy=False), count, alive)


def top_hamming(
    packed: npt.NDArray[np.uint8],
    query: npt.NDArray[np.uint8],
    count: int,
    *,
    rows: RowIds | None = None,
    alive: npt.NDArray[np.bool_] | None = None,
) -> tuple[RowIds, Scores]:
    """Best ``count`` rows by Hamming similarity ``1 - differing bits / bits`` of packed bit rows."""
    candidates = rows if rows is not None else np.arange(len(packed), dtype=np.int64)
    subset = packed[rows] if rows is not None else packed
    differing = np.bitwise_count(subset ^ query).sum(axis=1, dtype=np.int64)
    scores = 1.0 - differing.astype(np.float32) / np.float32(8 * packed.shape[1])
    return _best(candidates, scores.astype(np.float32, copy=False), count, alive)


def _best(candidates: RowIds, scores: Scores, count: int, alive: npt.NDArray[np.bool_] | None) -> tuple[RowIds, Scores]:
    if alive is not None:
        live = alive[candidates]
        if not live.all():
            candidates, scores = candidates[live], scores[live]
    if count < len(scores):
        # argpartition is O(n); only the winners get sorted.
        top = np.argpartition(-scores, count - 1)[:count]
        candidates, scores = candidates[top], scores[top]
    order = np.lexsort((candidates, -scores))  # equal scores: the older row first, deterministically
    return candidates[order], scores[order]
