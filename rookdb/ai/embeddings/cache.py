"""The embeddings cache (``@embeddings-cache``): one document per (connection string, chunk text,
quantization), so the same text is never paid for twice.

Expiration slides: a cache document used again (its source document changed, or a query hit it)
is pushed to ``now + period`` once less than half of ``period`` remains. Waiting for the half
mark keeps reuse from costing a write every time while an entry in use never expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from rookdb.ai.embeddings.layout import (
    CACHE_COLLECTION,
    VECTOR_CONTENT_TYPE,
    cache_document_body,
    cache_document_id,
)
from rookdb.ai.quantization import VectorEmbeddingType
from rookdb.storage.base import DocumentStorage, WriteTransaction
from rookdb.wire import EXPIRES, parse_timestamp

__all__ = ["CachedVector", "Clock", "EmbeddingsCache", "needs_extension", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CachedVector:
    """A cached vector: its stored bytes (already quantized as the cache id says) and expiry."""

    data: bytes
    expires: datetime | None


def needs_extension(expires: datetime | None, period: timedelta, now: datetime) -> bool:
    """True when less than half of ``period`` remains (RavenDB's sliding rule)."""
    return expires is None or expires - now < period / 2


class EmbeddingsCache:
    """Reads committed cache entries and writes new or extended ones inside a caller's transaction."""

    def __init__(self, storage: DocumentStorage, clock: Clock = utc_now) -> None:
        self._storage = storage
        self.clock = clock

    def lookup(
        self, connection_string_identifier: str, chunk_hashes: Iterable[str], kind: VectorEmbeddingType
    ) -> dict[str, CachedVector]:
        """Chunk hash → cached vector, for the hashes that are cached."""
        hashes = list(dict.fromkeys(chunk_hashes))
        ids = [cache_document_id(connection_string_identifier, digest, kind) for digest in hashes]
        found: dict[str, CachedVector] = {}
        for digest, document in zip(hashes, self._storage.get_many(ids), strict=True):
            if document is None:
                continue
            attachment = self._storage.attachment_content(document.id, digest)
            if attachment is None:
                continue
            metadata = orjson.loads(document.body).get("@metadata") or {}
            found[digest] = CachedVector(attachment[1], parse_timestamp(metadata.get(EXPIRES)))
        return found

    def put_in(
        self,
        tx: WriteTransaction,
        connection_string_identifier: str,
        chunk_hash: str,
        kind: VectorEmbeddingType,
        data: bytes,
        period: timedelta,
    ) -> bytes:
        """Store ``data`` for ``chunk_hash`` unless a committed entry already holds a vector.

        Returns the bytes now cached: an entry another writer committed since ``lookup`` wins, so
        that everything stored for one text refers to one vector.
        """
        doc_id = cache_document_id(connection_string_identifier, chunk_hash, kind)
        if tx.get(doc_id) is not None:
            existing = self._storage.attachment_content(doc_id, chunk_hash)
            if existing is not None:
                return existing[1]
        tx.put_attachment(doc_id, chunk_hash, VECTOR_CONTENT_TYPE, data, touch_document=False)
        tx.put(doc_id, CACHE_COLLECTION,
               cache_document_body(connection_string_identifier, kind, self.clock() + period))
        return data

    def extend_in(
        self,
        tx: WriteTransaction,
        connection_string_identifier: str,
        chunk_hash: str,
        kind: VectorEmbeddingType,
        cached: CachedVector,
        period: timedelta,
    ) -> bool:
        """Slide the entry's expiry to ``now + period`` if less than half of ``period`` remains."""
        now = self.clock()
        if not needs_extension(cached.expires, period, now):
            return False
        doc_id = cache_document_id(connection_string_identifier, chunk_hash, kind)
        if tx.get(doc_id) is None:
            return False  # expired and deleted since the lookup; the next miss recreates it
        tx.put(doc_id, CACHE_COLLECTION, cache_document_body(connection_string_identifier, kind, now + period))
        return True
