"""Vectors out of JSON: document field values and ``vector.search`` query values.

Accepted forms (RavenDB's data types for vector search), for both sides:

* an array of numbers, or ``{"@vector": [...]}`` (``RavenVector``), or an array of those;
* a Base64 string of the raw bytes, or an array of them;
* text, for ``embedding.text*`` fields only (documents: a string or strings; queries: the search term).

Numbers are read by the field's source type: ``Single`` as float32; ``Int8`` as the official client's
``VectorQuantizer.to_int8`` output, signed bytes followed by the 4 bytes of the float32 scale (the
scale is dropped: cosine similarity does not depend on it); ``Binary`` as packed bits, one byte
(0-255) per 8 dimensions. Float vectors come back as float32 rows, Binary ones as uint8 rows.
Problems raise ``BadRequestError`` with a message naming what was wrong.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rookdb.errors import BadRequestError
from rookdb.indexes.values import values_at
from rookdb.indexes.vector.fields import SourceType

__all__ = ["INT8_SCALE_BYTES", "QueryInput", "document_texts", "document_vectors", "query_input"]

INT8_SCALE_BYTES = 4
_VECTOR_KEY = "@vector"
_INT8_RANGE = (-128, 127)
_BYTE_RANGE = (0, 255)
_FLOAT32_BYTES = 4

Vector = npt.NDArray[Any]


@dataclass
class QueryInput:
    """What a query value asks for: texts to embed, vectors to search with, or both."""

    texts: list[str] = field(default_factory=list)
    vectors: list[Vector] = field(default_factory=list)


def document_texts(document: Any, path: tuple[str, ...]) -> list[str]:
    """The non-empty strings at ``path`` (arrays contribute every string they hold)."""
    return [value for value in values_at(document, path) if isinstance(value, str) and value.strip()]


def document_vectors(document: Any, path: tuple[str, ...], source: SourceType) -> list[Vector]:
    """The vectors stored at ``path``: none when the field is missing or null."""
    vectors: list[Vector] = []
    for value in values_at(document, path, flatten=False):
        vectors.extend(_decode(value, source, "the field value"))
    return vectors


def query_input(value: Any, source: SourceType) -> QueryInput:
    """Read a query value for a field of ``source`` type; strings are search terms only for text fields."""
    if source is SourceType.TEXT:
        if isinstance(value, str):
            if not value.strip():
                raise BadRequestError("The search text is empty")
            return QueryInput(texts=[value])
        if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
            return QueryInput(texts=[item for item in value if item.strip()])
        # A text field also accepts a vector made by the same model.
        return QueryInput(vectors=_decode(value, SourceType.SINGLE, "the query value", required=True))
    return QueryInput(vectors=_decode(value, source, "the query value", required=True))


def _decode(value: Any, source: SourceType, what: str, *, required: bool = False) -> list[Vector]:
    if value is None:
        if required:
            raise BadRequestError(f"{_capital(what)} is null; a vector query needs a vector or text")
        return []
    if isinstance(value, dict):
        if _VECTOR_KEY not in value:
            raise BadRequestError(f"{_capital(what)} is an object without '@vector'; expected {_FORMS}")
        return _decode(value[_VECTOR_KEY], source, what, required=required)
    if isinstance(value, str):
        return [_from_bytes(_base64(value, what), source, what)]
    if isinstance(value, list):
        if not value:
            if required:
                raise BadRequestError(f"{_capital(what)} is an empty array")
            return []
        if _numbers_only(value):
            return [_from_numbers(value, source, what)]
        vectors: list[Vector] = []
        for item in value:
            if _is_number(item):
                raise BadRequestError(f"{_capital(what)} mixes numbers with other values; expected {_FORMS}")
            vectors.extend(_decode(item, source, what, required=required))
        return vectors
    raise BadRequestError(f"{_capital(what)} is {_describe(value)}; expected {_FORMS}")


_FORMS = "an array of numbers, {\"@vector\": [...]} or a Base64 string"


def _from_numbers(numbers: list[Any], source: SourceType, what: str) -> Vector:
    if source is SourceType.SINGLE or source is SourceType.TEXT:
        vector = np.asarray(numbers, dtype=np.float64)
        if not np.isfinite(vector).all():
            raise BadRequestError(f"{_capital(what)} holds NaN or infinite components")
        return vector.astype(np.float32)
    low, high = _INT8_RANGE if source is SourceType.INT8 else _BYTE_RANGE
    if not all(isinstance(n, int) and low <= n <= high for n in numbers):
        kind = "Int8 vector (signed bytes)" if source is SourceType.INT8 else "Binary vector (bytes 0-255)"
        raise BadRequestError(
            f"{_capital(what)} is not an {kind}; quantize float vectors with VectorQuantizer, or search "
            "the field with embedding.f32_i8 / embedding.f32_i1")
    raw = np.asarray(numbers, dtype=np.int64)
    if source is SourceType.INT8:
        return _int8_values(raw.astype(np.int8), what)
    return raw.astype(np.uint8)


def _from_bytes(data: bytes, source: SourceType, what: str) -> Vector:
    if source is SourceType.SINGLE or source is SourceType.TEXT:
        if len(data) % _FLOAT32_BYTES or not data:
            raise BadRequestError(
                f"{_capital(what)} decodes to {len(data)} bytes, not a float32 vector (4 bytes per dimension)")
        vector = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if not np.isfinite(vector).all():
            raise BadRequestError(f"{_capital(what)} holds NaN or infinite components")
        return vector
    if source is SourceType.INT8:
        return _int8_values(np.frombuffer(data, dtype=np.int8), what)
    if not data:
        raise BadRequestError(f"{_capital(what)} decodes to no bytes")
    return np.frombuffer(data, dtype=np.uint8).copy()


def _int8_values(values: npt.NDArray[np.int8], what: str) -> Vector:
    if len(values) <= INT8_SCALE_BYTES:
        raise BadRequestError(
            f"{_capital(what)} has {len(values)} values; an Int8 vector is VectorQuantizer.to_int8 output, the "
            f"quantized values followed by {INT8_SCALE_BYTES} scale bytes")
    return values[:-INT8_SCALE_BYTES].astype(np.float32)


def _base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequestError(
            f"{_capital(what)} is a string but not valid Base64 ({error}); to search by text, use "
            "embedding.text(Field) or embedding.text($text, ai.task('task-id'))") from error


def _numbers_only(values: list[Any]) -> bool:
    # Collecting the element types runs in C: ~15x faster than _is_number per element, and a bool
    # (an int subclass) still stands out as its own type.
    return set(map(type, values)) <= _NUMBER_TYPES


_NUMBER_TYPES = frozenset({int, float})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
