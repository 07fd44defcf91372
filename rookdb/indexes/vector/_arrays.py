"""An append-only numpy array with amortised growth (capacity doubles, rows never move otherwise)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["GrowableArray"]

_INITIAL_CAPACITY = 1024


class GrowableArray:
    """Rows of a fixed shape and dtype; ``append`` is amortised O(rows appended)."""

    def __init__(self, row_shape: tuple[int, ...], dtype: npt.DTypeLike, initial: npt.NDArray[Any] | None = None):
        self._dtype = np.dtype(dtype)
        self._row_shape = row_shape
        if initial is None:
            self._data = np.empty((0, *row_shape), dtype=self._dtype)
            self._size = 0
        else:
            self._data = np.ascontiguousarray(initial, dtype=self._dtype)
            self._size = len(initial)

    def __len__(self) -> int:
        return self._size

    @property
    def view(self) -> npt.NDArray[Any]:
        """The filled rows (a view: later appends may reallocate, so don't keep it across writes)."""
        return self._data[: self._size]

    def append(self, rows: npt.NDArray[Any]) -> int:
        """Append ``rows`` and return the index of the first one."""
        start = self._size
        end = start + len(rows)
        if end > len(self._data):
            capacity = max(_INITIAL_CAPACITY, len(self._data) * 2, end)
            grown = np.empty((capacity, *self._row_shape), dtype=self._dtype)
            grown[:start] = self._data[:start]
            self._data = grown
        self._data[start:end] = rows
        self._size = end
        return start
