"""Validation of the vectors a provider answers with (``as_vectors``), shared by every connector."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.ai.providers.base import as_vectors
from rookdb.errors import AiResponseShapeError


@pytest.mark.parametrize(("rows", "expected"), [
    ([[0.5, -1.0], [2.0, 3.25]], [[0.5, -1.0], [2.0, 3.25]]),  # floats only: the rows as sent
    ([[1, 2.5], [0, 1.0]], [[1.0, 2.5], [0.0, 1.0]]),  # integers among them become floats
])
def test_numeric_rows_come_back_as_float_lists(rows: list[list[Any]], expected: list[list[float]]) -> None:
    vectors = as_vectors(rows, 2, "data")
    assert vectors == expected
    assert all(type(x) is float for row in vectors for x in row)


@pytest.mark.parametrize(("rows", "count", "fragment"), [
    ([[1.0, True]], 1, "numeric vectors"),
    ([[1.0, "2"]], 1, "numeric vectors"),
    ([[1.0, None]], 1, "numeric vectors"),
    ([[]], 1, "numeric vectors"),
    ([(1.0, 2.0)], 1, "numeric vectors"),
    ([[1.0, 2.0], [3.0]], 2, "different lengths"),
    ([[1.0]], 2, "Expected 2 vectors"),
    ({"data": []}, 1, "a list of 1 vectors"),
])
def test_anything_else_is_refused_with_its_shape(rows: Any, count: int, fragment: str) -> None:
    with pytest.raises(AiResponseShapeError, match=fragment):
        as_vectors(rows, count, "data")
