"""One batch of an embeddings task: plan it from the change feed, then write it in one transaction.

Planning extracts and chunks each changed document and hashes every chunk; the worker then fills
in vectors from the cache or the provider. Writing stores, in the caller's single transaction,
each document's task section with its vector attachments, the new cache entries and the sliding
extension of the reused ones. A crash before commit leaves nothing behind, so the batch is simply
redone.

The sections' merge (about a quarter of a commit's time) can be worked out before the transaction
(``prepare_sections``), from the embeddings documents as committed then, pausing for requests between
documents; the transaction reuses each prepared write whose document and vectors are still those it
was made from, and works out the others again, so what is written is the same either way. What
stays in the transaction (stamping the rows, hashing the attachments: some 30 ms of Python for 128
documents) is stored in parts, with a pause for requests between them where the caller allows one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import orjson

from rookdb.ai.embeddings.cache import CachedVector, EmbeddingsCache
from rookdb.ai.embeddings.claims import Claim
from rookdb.ai.embeddings.extraction import Extractor
from rookdb.ai.embeddings.failure_policy import Step
from rookdb.ai.embeddings.generations import Generation, sections_write
from rookdb.ai.embeddings.layout import QUANTIZATION_KEY, embeddings_document_id, generation_of, task_sections
from rookdb.ai.quantization import VectorEmbeddingType, encode, text_hash, vector_hash
from rookdb.errors import InvalidVectorError, RookError
from rookdb.storage.base import Change, DocumentStorage, DocumentWrite, StoredDocument, WriteTransaction

__all__ = ["BatchPlan", "DocumentPlan", "PreparedSections", "plan_batch", "prepare_sections", "write_batch"]

PREPARE_PAUSE_DOCUMENTS = 16
"""Documents whose sections are worked out between two pauses for requests (about 1 ms of Python)."""
WRITE_PAUSE_WRITES = 32
"""Writes (cache entries, embeddings documents) stored between two pauses inside the transaction
(about 4 ms of Python: stamping the rows and hashing the attachments)."""


@dataclass
class DocumentPlan:
    """What to do for one changed source document."""

    source_id: str
    etag: int = 0
    """The change's position in the feed."""
    deleted: bool = False
    fields: dict[str, list[str]] = field(default_factory=dict)
    """Field → chunk text hashes, in chunk order."""
    error: tuple[Step, str] | None = None
    """Set when the document is skipped (an item error)."""


@dataclass
class BatchPlan:
    """A batch from planning to commit; ``vectors`` is filled by the worker before writing."""

    last_etag: int
    documents: list[DocumentPlan]
    texts: dict[str, str]
    """Chunk hash → the text sent to the provider (document prompt + chunk), for every chunk."""
    hits: dict[str, CachedVector] = field(default_factory=dict)
    """Chunks found in the cache."""
    reused: set[str] = field(default_factory=set)
    """Chunks not in the cache yet but embedded by an earlier batch still being written."""
    vectors: dict[str, bytes] = field(default_factory=dict)
    """Chunk hash → stored vector bytes (from the cache, an earlier batch or the provider)."""
    provider_calls: int = 0
    tokens: int = 0
    """Input tokens of the provider calls, as reported or counted (``estimated_tokens`` of them estimated)."""
    estimated_tokens: int = 0
    claim: Claim | None = None
    """The claim on the feed the batch was read under, when several nodes share the task."""

    @property
    def misses(self) -> list[str]:
        """Chunks the cache does not hold: this batch writes their cache entries."""
        return [digest for digest in self.texts if digest not in self.hits]

    @property
    def to_embed(self) -> list[str]:
        """Chunks the provider must embed."""
        return [digest for digest in self.texts if digest not in self.hits and digest not in self.reused]

    def fail_document(self, source_id: str, step: Step, message: str) -> None:
        for plan in self.documents:
            if plan.source_id == source_id:
                plan.error = (step, message)
                plan.fields = {}

    def fail_chunk(self, digest: str, step: Step, message: str) -> None:
        """An item error for every document holding the chunk ``digest``."""
        for plan in self.documents:
            if any(digest in hashes for hashes in plan.fields.values()):
                self.fail_document(plan.source_id, step, message)

    def store_vector(self, digest: str, vector: Sequence[float], kind: VectorEmbeddingType) -> None:
        """Keep the provider's vector for ``digest`` in its stored form.

        A vector that cannot be stored (NaN, infinity, out of range) is an item error for the documents
        holding that chunk: the rest of the batch goes on, and nothing of it reaches the cache.
        """
        try:
            self.vectors[digest] = encode(vector, kind)
        except InvalidVectorError as error:
            self.fail_chunk(digest, Step.MODEL_INFERENCE,
                            f"The provider returned an unusable vector for the text of this document ({error.message})")

    def served_texts(self) -> list[str]:
        """The text of every chunk the cache (or an earlier batch) served, once per use."""
        return [self.texts[digest] for plan in self.documents for hashes in plan.fields.values()
                for digest in hashes if digest in self.hits or digest in self.reused]

    def prefix(self, count: int) -> BatchPlan:
        """The plan of its first ``count`` documents only (a daily token budget cuts a batch short)."""
        documents = self.documents[:count]
        used = {digest for plan in documents for hashes in plan.fields.values() for digest in hashes}
        return BatchPlan(
            documents[-1].etag if documents else 0, documents,
            {digest: text for digest, text in self.texts.items() if digest in used},
            {digest: hit for digest, hit in self.hits.items() if digest in used},
            self.reused & used,
            {digest: data for digest, data in self.vectors.items() if digest in used}, claim=self.claim)

    def without(self, source_ids: set[str]) -> BatchPlan:
        """The plan without the documents ``source_ids`` (changed again since: a later batch has them)."""
        if not source_ids:
            return self
        return replace(self, documents=[document for document in self.documents
                                                    if document.source_id not in source_ids])

    @property
    def chunk_count(self) -> int:
        return sum(len(hashes) for plan in self.documents for hashes in plan.fields.values())

    @property
    def cache_hit_count(self) -> int:
        return sum(1 for plan in self.documents for hashes in plan.fields.values()
                   for digest in hashes if digest in self.hits or digest in self.reused)


def plan_batch(changes: Sequence[Change], extractor: Extractor, prompt: str = "") -> BatchPlan:
    """Extract and chunk every changed document; a document that cannot be read becomes an item error.

    Each chunk is embedded as ``prompt + chunk`` (the connection string's document prompt), and that
    text is what the cache key hashes.
    """
    documents: list[DocumentPlan] = []
    texts: dict[str, str] = {}
    readable: list[tuple[DocumentPlan, Any]] = []
    for change in changes:
        if change.document is None:
            documents.append(DocumentPlan(change.id, change.etag, deleted=True))
            continue
        plan = DocumentPlan(change.document.id, change.etag)
        documents.append(plan)
        try:
            readable.append((plan, orjson.loads(change.document.body)))
        except orjson.JSONDecodeError as error:
            plan.error = (Step.EXTRACTION, f"the document is not valid JSON: {error}")
    extracted = extractor.extract_many([body for _, body in readable])
    for (plan, _), fields in zip(readable, extracted, strict=True):
        if isinstance(fields, RookError):
            plan.error = (extractor.step, fields.message)
            continue
        for name, chunks in fields.items():
            hashes = []
            for piece in chunks:
                text = prompt + piece
                digest = text_hash(text)
                texts.setdefault(digest, text)
                hashes.append(digest)
            plan.fields[name] = hashes
    return BatchPlan(changes[-1].etag if changes else 0, documents, texts)


@dataclass(frozen=True)
class _Target:
    """Where a batch is written: the task's section name, collections and cache settings."""

    task_identifier: str
    source_collection: str
    connection_string_identifier: str
    quantization: VectorEmbeddingType
    cache_period: timedelta
    generation: Generation

    @property
    def section(self) -> str:
        return self.generation.section(self.task_identifier)


@dataclass
class PreparedSections:
    """Section writes worked out before the transaction: by embeddings document id, the etag it had
    then (None: absent), the vector bytes used and the write (None: nothing to write)."""

    etags: dict[str, int | None] = field(default_factory=dict)
    vectors: dict[str, bytes] = field(default_factory=dict)
    writes: dict[str, DocumentWrite | None] = field(default_factory=dict)

    def reusable(self, doc_id: str, existing: StoredDocument | None, document: DocumentPlan,
                 stored: dict[str, bytes]) -> bool:
        """Whether the write prepared for ``doc_id`` is the one ``existing`` and ``stored`` give now."""
        if doc_id not in self.writes or self.etags[doc_id] != (existing.etag if existing is not None else None):
            return False
        return all(stored.get(digest) == self.vectors.get(digest)
                   for hashes in document.fields.values() for digest in hashes)


def prepare_sections(
    storage: DocumentStorage,
    plan: BatchPlan,
    *,
    task_identifier: str,
    source_collection: str,
    quantization: VectorEmbeddingType,
    generation: Generation = Generation(),
    pause: Callable[[], None] | None = None,
) -> PreparedSections:
    """The batch's section writes from the embeddings documents as committed now, outside any write
    transaction; ``pause`` is called every ``PREPARE_PAUSE_DOCUMENTS`` documents (to let requests run).
    A document whose vectors are not all known yet, or listed twice, is left to the transaction."""
    target = _Target(task_identifier, source_collection, "", quantization, timedelta(0), generation)
    prepared = PreparedSections(vectors=dict(plan.vectors))
    documents = [document for document in plan.documents if document.error is None]
    ids = [embeddings_document_id(document.source_id) for document in documents]
    once = {doc_id for doc_id, count in Counter(ids).items() if count == 1}
    done = 0
    for document, doc_id, existing in zip(documents, ids, storage.get_many(ids) if ids else [], strict=True):
        if doc_id not in once or any(digest not in prepared.vectors
                                     for hashes in document.fields.values() for digest in hashes):
            continue
        if pause is not None and done and done % PREPARE_PAUSE_DOCUMENTS == 0:
            pause()
        done += 1
        prepared.etags[doc_id] = existing.etag if existing is not None else None
        prepared.writes[doc_id] = _document_write(target, doc_id, existing, document, prepared.vectors)
    return prepared


def write_batch(
    tx: WriteTransaction,
    cache: EmbeddingsCache,
    plan: BatchPlan,
    *,
    task_identifier: str,
    source_collection: str,
    connection_string_identifier: str,
    quantization: VectorEmbeddingType,
    cache_period: timedelta,
    generation: Generation = Generation(),
    prepared: PreparedSections | None = None,
    pause: Callable[[], None] | None = None,
) -> None:
    """Store the batch's cache entries and sections inside ``tx`` (the caller adds position and stats);
    the sections are those of ``generation`` of the task, ``prepared`` ones reused where still valid.
    ``pause`` is called between parts of ``WRITE_PAUSE_WRITES`` writes (stored in order: the same
    rows, etags and attachments as in one part); it runs inside the transaction."""
    target = _Target(task_identifier, source_collection, connection_string_identifier, quantization, cache_period,
                     generation)
    # Everything is read at once and written with one write_many: a few statements per batch, not a
    # dozen per document (each a round trip under the database's single write lock on PostgreSQL).
    stored = dict(plan.vectors)
    cached, writes = cache.entries_in(tx, connection_string_identifier, quantization,
                                      {digest: stored[digest] for digest in plan.misses if digest in stored},
                                      cache_period)
    stored.update(cached)
    used = {digest for document in plan.documents if document.error is None and not document.deleted
            for hashes in document.fields.values() for digest in hashes}
    # A changed source document keeps its cache entries alive (RavenDB's sliding rule).
    writes += cache.extensions_in(tx, connection_string_identifier, quantization,
                                  {digest: plan.hits[digest] for digest in used & plan.hits.keys()}, cache_period)
    documents = [document for document in plan.documents if document.error is None]
    ids = [embeddings_document_id(document.source_id) for document in documents]
    for document, doc_id, existing in zip(documents, ids, tx.get_many(ids) if ids else [], strict=True):
        if prepared is not None and prepared.reusable(doc_id, existing, document, stored):
            write = prepared.writes[doc_id]
        else:
            write = _document_write(target, doc_id, existing, document, stored)
        if write is not None:
            writes.append(write)
    if pause is None:
        tx.write_many(writes)
        return
    for start in range(0, len(writes), WRITE_PAUSE_WRITES):
        if start:
            pause()
        tx.write_many(writes[start:start + WRITE_PAUSE_WRITES])


def _document_write(target: _Target, doc_id: str, existing: StoredDocument | None, document: DocumentPlan,
                    stored: dict[str, bytes]) -> DocumentWrite | None:
    fields = {name: [vector_hash(stored[digest]) for digest in hashes] for name, hashes in document.fields.items()}
    attachments = {vector_hash(stored[digest]): stored[digest]
                   for hashes in document.fields.values() for digest in hashes}
    return _section_write(target, doc_id, existing, fields, attachments)


def _section_write(target: _Target, doc_id: str, existing: StoredDocument | None, fields: dict[str, list[str]],
                   attachments: dict[str, bytes]) -> DocumentWrite | None:
    before: dict[str, Any] = orjson.loads(existing.body) if existing is not None else {}
    body = dict(before)
    generation = target.generation
    for key, section in task_sections(before, target.task_identifier).items():
        # A copy of this generation under its other name (staged before a swap) gives way.
        if key != target.section and generation_of(section) == generation.number:
            body.pop(key)
    if fields:
        body[target.section] = {QUANTIZATION_KEY: target.quantization.value, **generation.marker(), **fields}
    else:
        body.pop(target.section, None)
    return sections_write(doc_id, target.source_collection, existing, before, body, attachments)
