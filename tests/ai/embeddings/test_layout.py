"""Embeddings and cache document layout: ids, sections, @expires, vector decoding, task_vectors."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from ravendb.documents.queries.vector import VectorQuantizer

from rookdb.ai.embeddings.layout import (
    VECTOR_CONTENT_TYPE,
    cache_document_body,
    cache_document_id,
    decode_vector,
    embeddings_collection,
    embeddings_document_id,
    section_fields,
    section_hashes,
    sections_of,
    task_vectors,
)
from rookdb.ai.quantization import VectorEmbeddingType, encode, vector_hash
from rookdb.storage.sqlite import SqliteStorage


def test_embeddings_document_names_follow_ravendb() -> None:
    assert embeddings_collection("Categories") == "@embeddings/Categories"
    assert embeddings_document_id("categories/1-A") == "embeddings/categories/1-A"


@pytest.mark.parametrize(("kind", "expected"), [
    (VectorEmbeddingType.SINGLE, "embeddings-cache/hf/abc"),
    (VectorEmbeddingType.INT8, "embeddings-cache/hf/abc/Int8"),
    (VectorEmbeddingType.BINARY, "embeddings-cache/hf/abc/Binary"),
])
def test_cache_ids_append_the_quantization_when_quantized(kind: VectorEmbeddingType, expected: str) -> None:
    assert cache_document_id("hf", "abc", kind) == expected


def test_cache_body_carries_collection_and_expires() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    body = cache_document_body("hf", VectorEmbeddingType.INT8, moment)
    assert body["@metadata"] == {"@collection": "@embeddings-cache", "@expires": "2026-03-01T12:30:15.1234560Z"}
    assert body["Quantization"] == "Int8"


def test_sections_skip_metadata_and_fields_skip_quantization() -> None:
    body = {"task-a": {"@quantization": "Single", "Name": ["h1", "h2"], "Notes": ["h2"]},
            "@metadata": {"@collection": "@embeddings/Products"}}
    sections = sections_of(body)
    assert list(sections) == ["task-a"]
    assert section_fields(sections["task-a"]) == {"Name": ["h1", "h2"], "Notes": ["h2"]}
    assert section_hashes(sections["task-a"]) == {"h1", "h2"}


def test_decode_int8_uses_the_stored_scale_and_matches_the_client() -> None:
    vector = [0.5, -0.25, 0.125, -1.0]
    data = encode(vector, VectorEmbeddingType.INT8)
    client = VectorQuantizer.to_int8(vector)
    assert list(np.frombuffer(data, dtype=np.int8)) == client
    decoded = decode_vector(data, VectorEmbeddingType.INT8)
    assert decoded.dtype == np.float32
    assert np.allclose(decoded, vector, atol=1.0 / 127)


def test_decode_binary_gives_plus_minus_one_per_bit() -> None:
    vector = [0.3, -0.1, 0.0, -2.0, 1.0, 1.0, -1.0, 0.5]
    decoded = decode_vector(encode(vector, VectorEmbeddingType.BINARY), VectorEmbeddingType.BINARY)
    assert decoded.tolist() == [1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0]


def test_decode_single_is_the_float32_vector() -> None:
    vector = np.array([0.1, 0.2, -0.3], dtype=np.float32)
    assert np.array_equal(decode_vector(encode(vector, VectorEmbeddingType.SINGLE), VectorEmbeddingType.SINGLE),
                          vector)


def _store(storage: SqliteStorage, kind: VectorEmbeddingType, vectors: dict[str, list[list[float]]]) -> None:
    section: dict[str, object] = {"@quantization": kind.value}
    with storage.write() as tx:
        for field, field_vectors in vectors.items():
            hashes = []
            for vector in field_vectors:
                data = encode(vector, kind)
                hashes.append(vector_hash(data))
                tx.put_attachment("embeddings/products/1-A", hashes[-1], VECTOR_CONTENT_TYPE, data,
                                  touch_document=False)
            section[field] = hashes
        tx.put("embeddings/products/1-A", "@embeddings/Products",
               {"my-task": section, "@metadata": {"@collection": "@embeddings/Products"}})


def test_task_vectors_reads_each_field_in_order(storage: SqliteStorage) -> None:
    _store(storage, VectorEmbeddingType.SINGLE, {"Name": [[1.0, 0.0], [0.0, 1.0]], "Notes": [[0.5, 0.5]]})
    pairs = task_vectors(storage, "Products", "my-task", "products/1-A")
    assert [(field, vector.tolist()) for field, vector in pairs] == [
        ("Name", [1.0, 0.0]), ("Name", [0.0, 1.0]), ("Notes", [0.5, 0.5])]
    assert [field for field, _ in task_vectors(storage, "Products", "my-task", "products/1-A", "Notes")] == ["Notes"]


def test_task_vectors_dequantizes_int8(storage: SqliteStorage) -> None:
    _store(storage, VectorEmbeddingType.INT8, {"Name": [[0.9, -0.45, 0.1]]})
    [(field, vector)] = task_vectors(storage, "Products", "my-task", "products/1-A")
    assert field == "Name" and vector.dtype == np.float32
    assert np.allclose(vector, [0.9, -0.45, 0.1], atol=0.9 / 127)


@pytest.mark.parametrize(("collection", "task", "doc"), [
    ("Orders", "my-task", "products/1-A"),
    ("Products", "other-task", "products/1-A"),
    ("Products", "my-task", "products/2-A"),
])
def test_task_vectors_is_empty_when_nothing_matches(storage: SqliteStorage, collection: str, task: str,
                                                    doc: str) -> None:
    _store(storage, VectorEmbeddingType.SINGLE, {"Name": [[1.0, 0.0]]})
    assert task_vectors(storage, collection, task, doc) == []
