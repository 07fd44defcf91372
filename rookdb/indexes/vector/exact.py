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
    scores = (matrix[rows] if rows is not None else matrix) @ query
    return _best(rows, scores.astype(np.float32, copy=False), count, alive)


def top_hamming(
    packed: npt.NDArray[np.uint8],
    query: npt.NDArray[np.uint8],
    count: int,
    *,
    rows: RowIds | None = None,
    alive: npt.NDArray[np.bool_] | None = None,
) -> tuple[RowIds, Scores]:
    """Best ``count`` rows by Hamming similarity ``1 - differing bits / bits`` of packed bit rows."""
    subset = packed[rows] if rows is not None else packed
    differing = np.bitwise_count(subset ^ query).sum(axis=1, dtype=np.int64)
    scores = 1.0 - differing.astype(np.float32) / np.float32(8 * packed.shape[1])
    return _best(rows, scores.astype(np.float32, copy=False), count, alive)


def _best(
    rows: RowIds | None, scores: Scores, count: int, alive: npt.NDArray[np.bool_] | None
) -> tuple[RowIds, Scores]:
    """Winners among ``scores`` (one per row of ``rows``, or per matrix row when ``rows`` is None)."""
    positions: RowIds | None = None
    if alive is not None:
        live = alive[rows] if rows is not None else alive
        if not live.all():
            positions = np.flatnonzero(live)
            scores = scores[positions]
    if count < len(scores):
        # argpartition is O(n); only the winners get sorted.
        top = np.argpartition(-scores, count - 1)[:count]
        positions = top if positions is None else positions[top]
        scores = scores[top]
    elif positions is None:
        positions = np.arange(len(scores), dtype=np.int64)
    winners = positions if rows is None else rows[positions]
    order = np.lexsort((winners, -scores))  # equal scores: the older row first, deterministically
    return winners[order].astype(np.int64, copy=False), scores[order]
