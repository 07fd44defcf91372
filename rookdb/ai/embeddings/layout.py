"""Where embeddings live, laid out as RavenDB lays them out.

Embeddings documents: one per source document, in the collection ``@embeddings/<Collection>``, id
``embeddings/<source id>``. Each task that embedded the document owns one section named by its
identifier::

    {"<task identifier>": {"@quantization": "Single", "<Field>": ["<vector hash>", ...]}, ...}

Each vector is an attachment of that document named by its vector hash (``vector_hash`` of the
stored bytes), so two chunks with equal vectors share one attachment.

Cache documents: ``embeddings-cache/<connection-string identifier>/<text hash>`` in the collection
``@embeddings-cache``, with ``/<quantization>`` appended for Int8 and Binary. The vector is an
attachment named by the text hash and the document carries ``@metadata.@expires``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from rookdb.ai.quantization import INT8_SCALE_BYTES, VectorEmbeddingType
from rookdb.storage.base import DocumentStorage
from rookdb.wire import EXPIRES, format_timestamp

__all__ = [
    "CACHE_COLLECTION",
    "CACHE_ID_PREFIX",
    "EMBEDDINGS_COLLECTION_PREFIX",
    "EMBEDDINGS_ID_PREFIX",
    "GENERATION_KEY",
    "QUANTIZATION_KEY",
    "STAGED_SEPARATOR",
    "VECTOR_CONTENT_TYPE",
    "cache_document_body",
    "cache_document_id",
    "decode_vector",
    "embeddings_collection",
    "embeddings_document_id",
    "find_section",
    "generation_of",
    "section_fields",
    "section_fingerprint",
    "section_hashes",
    "sections_of",
    "task_sections",
    "task_vectors",
]

EMBEDDINGS_COLLECTION_PREFIX = "@embeddings/"
EMBEDDINGS_ID_PREFIX = "embeddings/"
CACHE_COLLECTION = "@embeddings-cache"
CACHE_ID_PREFIX = "embeddings-cache/"
QUANTIZATION_KEY = "@quantization"
GENERATION_KEY = "@generation"
"""Sections of generation 1 or later carry their number (see ``generations``)."""
STAGED_SEPARATOR = "@"
VECTOR_CONTENT_TYPE = "application/octet-stream"
_INT8_RANGE = 127.0


def embeddings_collection(source_collection: str) -> str:
    """``@embeddings/Products`` for ``Products``."""
    return EMBEDDINGS_COLLECTION_PREFIX + source_collection


def embeddings_document_id(source_id: str) -> str:
    """``embeddings/products/1-A`` for ``products/1-A``."""
    return EMBEDDINGS_ID_PREFIX + source_id


def cache_document_id(connection_string_identifier: str, chunk_hash: str, quantization: VectorEmbeddingType) -> str:
    """``embeddings-cache/<connection string>/<text hash>``, plus ``/Int8`` or ``/Binary`` when quantized."""
    base = f"{CACHE_ID_PREFIX}{connection_string_identifier}/{chunk_hash}"
    return base if quantization is VectorEmbeddingType.SINGLE else f"{base}/{quantization.value}"


def cache_document_body(
    connection_string_identifier: str, quantization: VectorEmbeddingType, expires: datetime | str
) -> dict[str, Any]:
    """The body of a cache document (the vector itself is its attachment); ``expires`` may be given
    formatted already (a batch's entries share one expiry: formatting it is most of building a body)."""
    return {
        "ConnectionStringIdentifier": connection_string_identifier,
        "Quantization": quantization.value,
        "@metadata": {"@collection": CACHE_COLLECTION,
                      EXPIRES: expires if isinstance(expires, str) else format_timestamp(expires)},
    }


def sections_of(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Task identifier → section of an embeddings document (identifiers never start with ``@``)."""
    return {key: value for key, value in body.items() if not key.startswith("@") and isinstance(value, dict)}


def section_fields(section: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field → vector hashes of one section."""
    return {
        key: [str(item) for item in value]
        for key, value in section.items()
        if not key.startswith("@") and isinstance(value, list)
    }


def section_hashes(section: Mapping[str, Any]) -> set[str]:
    """Every vector hash a section references."""
    return {digest for hashes in section_fields(section).values() for digest in hashes}


def generation_of(section: Mapping[str, Any]) -> int:
    value = section.get(GENERATION_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def task_sections(body: Mapping[str, Any], identifier: str) -> dict[str, dict[str, Any]]:
    """Section name → section of every generation of task ``identifier`` in an embeddings document."""
    staged = identifier + STAGED_SEPARATOR
    return {key: section for key, section in sections_of(body).items()
            if key == identifier or key.startswith(staged)}


def find_section(body: Mapping[str, Any], identifier: str, generation: int) -> dict[str, Any] | None:
    """The section of generation ``generation`` of task ``identifier``, whatever its name."""
    for section in task_sections(body, identifier).values():
        if generation_of(section) == generation:
            return section
    return None


def section_fingerprint(body: bytes, task_identifier: str, generation: int, field: str) -> int | None:
    """A 64-bit fingerprint of what generation ``generation`` of a task keeps for ``field`` in an
    embeddings document's ``body``: its quantization and its vectors' hashes in order (a vector's hash
    names its content). None when it keeps no vector of that field."""
    section = find_section(orjson.loads(body), task_identifier, generation)
    hashes = section_fields(section).get(field) if section is not None else None
    if not hashes:
        return None
    assert section is not None
    described = "\n".join([str(section.get(QUANTIZATION_KEY) or VectorEmbeddingType.SINGLE.value), *hashes])
    return int.from_bytes(hashlib.blake2b(described.encode(), digest_size=8).digest(), "little", signed=True)


def decode_vector(data: bytes, kind: VectorEmbeddingType) -> npt.NDArray[np.float32]:
    """Stored vector bytes → float32. Int8 is dequantized with its stored scale (``q * max / 127``);
    Binary becomes ±1.0 per bit (1 → +1, 0 → -1), eight per byte, padding bits included."""
    if kind is VectorEmbeddingType.SINGLE:
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    if kind is VectorEmbeddingType.INT8:
        if len(data) < INT8_SCALE_BYTES:
            raise ValueError(f"an Int8 vector ends with {INT8_SCALE_BYTES} scale bytes; got {len(data)} bytes")
        scale = float(np.frombuffer(data[-INT8_SCALE_BYTES:], dtype="<f4")[0])
        values = np.frombuffer(data[:-INT8_SCALE_BYTES], dtype=np.int8).astype(np.float32)
        return values * np.float32(scale / _INT8_RANGE)
    if kind is VectorEmbeddingType.BINARY:
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="big")
        return np.where(bits == 1, np.float32(1.0), np.float32(-1.0)).astype(np.float32)
    raise ValueError(f"vectors are never stored as {kind.value}")


def _fields_in_order(fields: Mapping[str, Sequence[str]], field: str | None) -> Iterator[tuple[str, str]]:
    for name, hashes in fields.items():
        if field is None or name == field:
            for digest in hashes:
                yield name, digest


def task_vectors(
    storage: DocumentStorage,
    source_collection: str,
    task_identifier: str,
    source_id: str,
    field: str | None = None,
    generation: int = 0,
) -> list[tuple[str, npt.NDArray[np.float32]]]:
    """The vectors task ``task_identifier`` stored for ``source_id``, as (field, float32 vector) pairs.

    Contract (for vector search): pairs come field by field in the order the task wrote them, and
    chunk by chunk within a field; ``field`` keeps one field. Empty when the document has no
    embeddings from that task (not processed yet, no text, or another collection). Vectors are
    float32: Single as stored, Int8 dequantized with its stored scale, Binary as ±1.0 per bit
    (``8 * bytes`` components, so padding bits appear when the dimension is not a multiple of 8).
    ``generation`` picks the generation of the task's embeddings (see ``generations``).
    Reads committed data only; safe from any thread.
    """
    document = storage.get(embeddings_document_id(source_id))
    if document is None or document.collection.lower() != embeddings_collection(source_collection).lower():
        return []
    section = find_section(orjson.loads(document.body), task_identifier, generation)
    if section is None:
        return []
    kind = VectorEmbeddingType(section.get(QUANTIZATION_KEY) or VectorEmbeddingType.SINGLE)
    vectors: list[tuple[str, npt.NDArray[np.float32]]] = []
    for name, digest in _fields_in_order(section_fields(section), field):
        found = storage.attachment_content(document.id, digest)
        if found is not None:
            vectors.append((name, decode_vector(found[1], kind)))
    return vectors
