"""The embeddings cache (``@embeddings-cache``): one document per (connection string, chunk text,
quantization), so the same text is never paid for twice.

Expiration slides: a cache document used again (its source document changed, or a query hit it)
is pushed to ``now + period`` once less than half of ``period`` remains. Waiting for the half
mark keeps reuse from costing a write every time while an entry in use never expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
from rookdb.storage.base import DocumentStorage, DocumentWrite, WriteTransaction
from rookdb.wire import EXPIRES, format_timestamp, parse_timestamp

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
        cached, writes = self.entries_in(tx, connection_string_identifier, kind, {chunk_hash: data}, period)
        tx.write_many(writes)
        return cached[chunk_hash]

    def entries_in(
        self,
        tx: WriteTransaction,
        connection_string_identifier: str,
        kind: VectorEmbeddingType,
        vectors: Mapping[str, bytes],
        period: timedelta,
    ) -> tuple[dict[str, bytes], list[DocumentWrite]]:
        """``put_in`` for many chunk hashes at once: the bytes now cached for each, and the writes that
        store the new entries (for ``tx.write_many``, in the order of ``vectors``)."""
        ids = [cache_document_id(connection_string_identifier, digest, kind) for digest in vectors]
        cached: dict[str, bytes] = {}
        writes: list[DocumentWrite] = []
        expires = format_timestamp(self.clock() + period)
        for (digest, data), doc_id, existing in zip(vectors.items(), ids, tx.get_many(ids) if ids else [], strict=True):
            if existing is not None:
                # Rare: another writer cached this text since the lookup; one read each.
                committed = self._storage.attachment_content(doc_id, digest)
                if committed is not None:
                    cached[digest] = committed[1]
                    continue
            cached[digest] = data
            writes.append(DocumentWrite(doc_id, CACHE_COLLECTION,
                                        cache_document_body(connection_string_identifier, kind, expires),
                                        {digest: (VECTOR_CONTENT_TYPE, data)}))
        return cached, writes

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
        writes = self.extensions_in(tx, connection_string_identifier, kind, {chunk_hash: cached}, period)
        tx.write_many(writes)
        return bool(writes)

    def extensions_in(
        self,
        tx: WriteTransaction,
        connection_string_identifier: str,
        kind: VectorEmbeddingType,
        cached: Mapping[str, CachedVector],
        period: timedelta,
    ) -> list[DocumentWrite]:
        """``extend_in`` for many entries at once: the writes that slide those that need it (for
        ``tx.write_many``, in the order of ``cached``). An entry deleted since the lookup (expired) is
        left to the next miss, which recreates it."""
        now = self.clock()
        due = [digest for digest, entry in cached.items() if needs_extension(entry.expires, period, now)]
        ids = [cache_document_id(connection_string_identifier, digest, kind) for digest in due]
        expires = format_timestamp(now + period)
        return [DocumentWrite(doc_id, CACHE_COLLECTION, cache_document_body(connection_string_identifier, kind,
                                                                            expires))
                for doc_id, existing in zip(ids, tx.get_many(ids) if ids else [], strict=True) if existing is not None]
