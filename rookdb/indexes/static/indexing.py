"""Applying a batch of changes to a static index: which documents to map, mapping them in batches, and
the related documents they loaded.

A document is mapped again when it changes, and when a document it loaded (``LoadDocument``) changes
or goes: the ``refs`` table remembers who loaded what, and the index follows the loaded documents'
collections. Map indexes store each document's entries; map-reduce indexes hand the outputs to the
reduction (``rookdb.indexes.static.reduction``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from rookdb.indexes.definitions import IndexBatch, latest_changes
from rookdb.indexes.static import vectors
from rookdb.indexes.static.mapping import MapFailure, settle_missing
from rookdb.storage.base import Change, DocumentStorage

if TYPE_CHECKING:
    from rookdb.indexes.static.definition import StaticIndexDefinition

__all__ = ["DocumentToMap", "RelatedDocuments", "index_changes", "schema"]

_IN_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS refs (source TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (source, target))
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refs_by_target ON refs (target);
"""


def schema(definition: StaticIndexDefinition) -> str:
    """The tables a static index keeps besides its entries."""
    if definition.reduce is None:
        return _SCHEMA + vectors.SCHEMA
    from rookdb.indexes.static.reduction import SCHEMA

    return _SCHEMA + SCHEMA


class DocumentToMap:
    """A document a batch maps: its number (the etag of the version mapped), id, collection and body."""

    __slots__ = ("body", "collection", "doc_id", "number")

    def __init__(self, number: int, doc_id: str, collection: str, body: dict[str, Any]) -> None:
        self.number = number
        self.doc_id = doc_id
        self.collection = collection
        self.body = body


class RelatedDocuments:
    """The ``MapScope`` of a batch: loads documents (once per batch) and notes who loaded what."""

    def __init__(self, storage: DocumentStorage | None) -> None:
        self._storage = storage
        self._cache: dict[str, dict[str, Any] | None] = {}
        self.current: str | None = None
        self.loaded: dict[str, set[str]] = {}

    def load(self, doc_id: str, collection: str | None) -> dict[str, Any] | None:
        lower = doc_id.lower()
        if self.current is not None:
            self.loaded.setdefault(self.current, set()).add(lower)
        if lower not in self._cache:
            stored = self._storage.get(doc_id) if self._storage is not None else None
            self._cache[lower] = None if stored is None else orjson.loads(stored.body)
        return self._cache[lower]

    def prefetch(self, documents: dict[str, dict[str, Any] | None]) -> None:
        self._cache.update(documents)


def index_changes(definition: StaticIndexDefinition, changes: Sequence[Change], batch: IndexBatch) -> None:
    """Map what the batch changed, and what loaded a changed document."""
    gone, documents = _documents_to_map(definition, changes, batch)
    related = RelatedDocuments(batch.storage)
    outputs = _map(definition, documents, related, batch)
    if not definition.indexes_empty_entries:  # RavenDB leaves out an entry without a field
        outputs = {lower: [output for output in produced if output] for lower, produced in outputs.items()}
    mapped_vectors = _split_vectors(definition, documents, outputs, related) if definition.has_vectors else []
    _write_references(batch, [*gone, *(document.doc_id for document in documents)], related.loaded)
    if definition.reduce is not None:
        from rookdb.indexes.static.reduction import reduce_changes

        reduce_changes(definition, batch, gone, documents, outputs)
        return
    if definition.has_vectors:
        definition.vectors.apply(batch.db, _file_of(batch), gone, mapped_vectors, definition.vector_sources,
                                 lambda doc_id: _collection_of(batch, doc_id), batch.fail)
    for doc_id in gone:
        batch.remove(doc_id)
    for document in documents:
        batch.remove(document.doc_id)
        produced = outputs.get(document.doc_id.lower())
        if not produced:
            continue
        entries, stored = definition.entries(produced)
        batch.add(document.number, document.doc_id, entries, stored or None)


def _documents_to_map(definition: StaticIndexDefinition, changes: Sequence[Change], batch: IndexBatch,
                      ) -> tuple[list[str], list[DocumentToMap]]:
    """Ids of mapped documents that are gone, and the documents to map (changed or loading a changed one)."""
    mapped = {collection.lower() for collection in definition.map_collections() if collection is not None}
    everything = None in definition.map_collections()
    gone: list[str] = []
    documents: dict[str, DocumentToMap] = {}
    changed: list[str] = []
    for lower, change in latest_changes(changes).items():
        changed.append(lower)
        if not everything and change.collection.lower() not in mapped:
            continue
        if change.document is None:
            gone.append(change.id)
        else:
            documents[lower] = DocumentToMap(change.etag, change.id, change.collection,
                                             orjson.loads(change.document.body))
    loaders = [source for source in _sources_of(batch, changed) if source not in documents]
    if loaders and batch.storage is not None:
        for stored in batch.storage.get_many(loaders):
            if stored is None or stored.id.lower() in documents:
                continue
            if everything or stored.collection.lower() in mapped:
                documents[stored.id.lower()] = DocumentToMap(stored.etag, stored.id, stored.collection,
                                                             orjson.loads(stored.body))
    return gone, list(documents.values())


def _sources_of(batch: IndexBatch, targets: list[str]) -> list[str]:
    """The documents that loaded any of ``targets`` (lower-cased ids)."""
    found: dict[str, None] = {}
    for offset in range(0, len(targets), _IN_CHUNK):
        chunk = targets[offset : offset + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        for (source,) in batch.db.execute(f"SELECT DISTINCT source FROM refs WHERE target IN ({marks})", chunk):
            found.setdefault(source)
    return list(found)


def _map(definition: StaticIndexDefinition, documents: list[DocumentToMap], related: RelatedDocuments,
         batch: IndexBatch) -> dict[str, list[dict[str, Any]]]:
    """Each mapped document's outputs by lower-cased id; failures are recorded in the batch."""
    by_map: dict[int, tuple[Any, list[DocumentToMap]]] = {}
    for document in documents:
        for compiled in definition.maps_for(document.collection):
            by_map.setdefault(id(compiled), (compiled, []))[1].append(document)
    outputs: dict[str, list[dict[str, Any]]] = {}
    failed: set[str] = set()
    for compiled, group in by_map.values():
        scope = _TrackingScope(related, group)
        results = compiled.run([document.body for document in group], scope)
        for document, result in zip(group, results, strict=True):
            lower = document.doc_id.lower()
            if isinstance(result, MapFailure):
                failed.add(lower)
                batch.fail(document.doc_id, str(result))
                continue
            outputs.setdefault(lower, []).extend(settle_missing(result, definition.missing_fields_as_null))
    for document in documents:
        lower = document.doc_id.lower()
        if lower in failed:
            outputs.pop(lower, None)
        else:
            outputs.setdefault(lower, [])
    batch.mapped(len(documents) - len(failed))
    return outputs


class _TrackingScope:
    """The scope of one map's run: loads are attributed to the document the map says it is on."""

    def __init__(self, related: RelatedDocuments, group: list[DocumentToMap]) -> None:
        self._related = related
        self._order = [document.doc_id.lower() for document in group]

    def start(self, position: int) -> None:
        self._related.current = self._order[position]

    def load(self, doc_id: str, collection: str | None) -> dict[str, Any] | None:
        return self._related.load(doc_id, collection)


def _split_vectors(definition: StaticIndexDefinition, documents: list[DocumentToMap],
                   outputs: dict[str, list[dict[str, Any]]], related: RelatedDocuments,
                   ) -> list[vectors.DocumentVectors]:
    """Take the vector values out of each document's outputs; ``LoadVector`` counts as loading the
    document that holds the task's embeddings (a new embedding maps the document again)."""
    found: list[vectors.DocumentVectors] = []
    for document in documents:
        lower = document.doc_id.lower()
        produced = outputs.get(lower)
        if produced is None:  # its map failed: it keeps no vectors either
            found.append(vectors.DocumentVectors(document.doc_id, document.collection))
            continue
        outputs[lower], inputs = definition.vectors.split(produced)
        for given in (given for values in inputs.values() for given in values):
            if given.task is not None and given.source_id is not None:
                related.loaded.setdefault(lower, set()).add(vectors.embeddings_target(given.source_id))
        found.append(vectors.DocumentVectors(document.doc_id, document.collection, inputs))
    return found


def _file_of(batch: IndexBatch) -> Path:
    return Path(batch.db.execute("PRAGMA database_list").fetchone()[2])


def _collection_of(batch: IndexBatch, doc_id: str) -> str | None:
    stored = batch.storage.get(doc_id) if batch.storage is not None else None
    return None if stored is None else stored.collection


def _write_references(batch: IndexBatch, sources: list[str], loaded: dict[str, set[str]]) -> None:
    lowered = [source.lower() for source in sources]
    for offset in range(0, len(lowered), _IN_CHUNK):
        chunk = lowered[offset : offset + _IN_CHUNK]
        batch.db.execute(f"DELETE FROM refs WHERE source IN ({','.join('?' * len(chunk))})", chunk)
    rows = [(source, target) for source, targets in loaded.items() for target in targets]
    batch.db.executemany("INSERT OR IGNORE INTO refs VALUES (?, ?)", rows)
