"""The shape of vector input: rows of a matrix, and rows of packed bits (one byte per 8 dimensions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rookdb.errors import BadRequestError

__all__ = ["as_matrix", "dimensions_of", "same_dimensions"]


def as_matrix(vectors: npt.ArrayLike) -> npt.NDArray[Any]:
    """One vector or a list of them as a 2-D numeric matrix (a document without vectors: an empty 0 by 0 one)."""
    matrix = np.asarray(vectors)
    if matrix.ndim == 1 and matrix.size == 0:
        return np.empty((0, 0), dtype=np.float32)  # a document without vectors
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or (matrix.shape[0] and not matrix.shape[1]):
        raise BadRequestError(f"Expected a vector or a list of vectors, got an array of shape {matrix.shape}")
    # Real numbers: numpy's np.number but not complex (timedelta64 counts as an integer there), by kind
    # rather than two issubdtype walks of the type tree per query.
    if matrix.dtype.kind not in _REAL_NUMBER_KINDS:
        raise BadRequestError(f"Vector components must be numbers, got {matrix.dtype}")
    return matrix


_REAL_NUMBER_KINDS = frozenset("iufm")


def dimensions_of(rows: npt.NDArray[Any], packed: bool) -> int:
    return int(rows.shape[1]) * (8 if packed else 1)


def same_dimensions(expected: int, actual: int, packed: bool) -> bool:
    # Packed bits come in whole bytes: 380 declared dimensions arrive as 48 bytes = 384 bits.
    return actual == expected or (packed and expected <= actual < expected + 8)
