"""Vectors out of JSON: every accepted form, and a message a user can act on for the rest."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
from ravendb.documents.queries.vector import VectorQuantizer

from rookdb.errors import BadRequestError
from rookdb.indexes.vector.fields import SourceType
from rookdb.indexes.vector.values import document_texts, document_vectors, query_input


def b64(values: list[float], dtype: str = "<f4") -> str:
    return base64.b64encode(np.asarray(values, dtype=dtype).tobytes()).decode()


INT8 = VectorQuantizer.to_int8([0.1, -0.2, 0.3])  # three values plus four scale bytes


@pytest.mark.parametrize(("value", "source", "expected"), [
    ([1, 2.5], SourceType.SINGLE, [[1.0, 2.5]]),
    ({"@vector": [0.5, 0.25]}, SourceType.SINGLE, [[0.5, 0.25]]),
    ([[1, 0], [0, 1]], SourceType.SINGLE, [[1.0, 0.0], [0.0, 1.0]]),
    ([{"@vector": [1, 0]}, {"@vector": [0, 1]}], SourceType.SINGLE, [[1.0, 0.0], [0.0, 1.0]]),
    (b64([0.5, -1.5]), SourceType.SINGLE, [[0.5, -1.5]]),
    ([b64([1, 2]), b64([3, 4])], SourceType.SINGLE, [[1.0, 2.0], [3.0, 4.0]]),
    (INT8, SourceType.INT8, [INT8[:3]]),
    (base64.b64encode(np.asarray(INT8, dtype=np.int8).tobytes()).decode(), SourceType.INT8, [INT8[:3]]),
    ([255, 0, 7], SourceType.BINARY, [[255, 0, 7]]),
    (base64.b64encode(bytes([1, 2])).decode(), SourceType.BINARY, [[1, 2]]),
    (None, SourceType.SINGLE, []),
    ([], SourceType.SINGLE, []),
])
def test_document_vector_forms(value: Any, source: SourceType, expected: list[list[float]]) -> None:
    vectors = document_vectors({"V": value}, ("V",), source)
    assert len(vectors) == len(expected)
    for vector, wanted in zip(vectors, expected, strict=True):
        np.testing.assert_allclose(vector, wanted, rtol=1e-6)
    if vectors:
        assert vectors[0].dtype == (np.uint8 if source is SourceType.BINARY else np.float32)


def test_missing_field_has_no_vectors() -> None:
    assert document_vectors({"Other": [1.0]}, ("V",), SourceType.SINGLE) == []


def test_vectors_found_across_arrays_in_the_path() -> None:
    doc = {"Lines": [{"E": [1, 0]}, {"E": [0, 1]}, {"F": 1}]}
    assert [v.tolist() for v in document_vectors(doc, ("Lines", "E"), SourceType.SINGLE)] == [[1, 0], [0, 1]]


@pytest.mark.parametrize(("value", "source", "message"), [
    (True, SourceType.SINGLE, "is a boolean"),
    ({"x": 1}, SourceType.SINGLE, "without '@vector'"),
    ("not base64!", SourceType.SINGLE, "not valid Base64"),
    (base64.b64encode(b"abc").decode(), SourceType.SINGLE, "4 bytes per dimension"),
    ([1.5, 2.5, 3.5, 4.5, 5.5], SourceType.INT8, "not an Int8 vector"),
    ([300, 1], SourceType.BINARY, "not an Binary vector"),
    ([1, 2, 3], SourceType.INT8, "4 scale bytes"),
    ([1.0, float("nan")], SourceType.SINGLE, "NaN"),
    ([1.0, [2.0]], SourceType.SINGLE, "mixes numbers"),
])
def test_document_value_errors(value: Any, source: SourceType, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        document_vectors({"V": value}, ("V",), source)


def test_texts_are_the_non_empty_strings() -> None:
    doc = {"Tags": ["red wine", "", 5, None, "cheese"], "Name": "Chai"}
    assert document_texts(doc, ("Tags",)) == ["red wine", "cheese"]
    assert document_texts(doc, ("Name",)) == ["Chai"]


def test_query_text_for_text_fields_and_base64_for_the_others() -> None:
    assert query_input("italian food", SourceType.TEXT).texts == ["italian food"]
    assert query_input(["a", "b"], SourceType.TEXT).texts == ["a", "b"]
    as_vector = query_input([0.1, 0.2], SourceType.TEXT)
    assert as_vector.texts == [] and as_vector.vectors[0].tolist() == pytest.approx([0.1, 0.2])
    assert query_input(b64([1, 2]), SourceType.SINGLE).vectors[0].tolist() == [1.0, 2.0]
    with pytest.raises(BadRequestError, match=r"use embedding\.text"):
        query_input("italian food", SourceType.SINGLE)


@pytest.mark.parametrize(("value", "message"), [
    (None, "is null"),
    ([], "empty array"),
    ("   ", "empty"),
    (42, "is a number"),
])
def test_query_value_errors(value: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        query_input(value, SourceType.TEXT)
