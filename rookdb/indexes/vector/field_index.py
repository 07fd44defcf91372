"""The vector index of one field, kept current by following the storage change feed.

Documents are keyed in the graph by a 64-bit hash of their lower-cased id, so a document can be
removed or replaced knowing only its id; a ``<file>.ids.json`` beside the index maps keys back to
ids (as the documents spell them). It is written before every save of the index, so it always
covers what the saved index holds. The index is saved with the etag it has applied (its
checkpoint): after a restart it resumes from there instead of rebuilding (replaying a change twice
is harmless).

Task fields (``embedding.text(Name, ai.task('id'))``) follow two collections: the source documents,
and ``@embeddings/<Collection>`` where the task stores their vectors.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from rookdb.errors import RookError, StorageError, VectorDimensionMismatchError
from rookdb.indexes.vector.fields import VectorFieldSpec
from rookdb.indexes.vector.index import VectorIndex
from rookdb.indexes.vector.kinds import DEFAULT_TUNING, GraphTuning
from rookdb.storage.base import Change, DocumentStorage
from rookdb.wire import format_timestamp

__all__ = [
    "DEFAULT_MAX_ERRORS",
    "EMBEDDINGS_COLLECTION_PREFIX",
    "EMBEDDINGS_ID_PREFIX",
    "FieldIndex",
    "GraphSettings",
    "IndexingError",
    "Vectorizer",
    "document_key",
]

EMBEDDINGS_COLLECTION_PREFIX = "@embeddings/"
EMBEDDINGS_ID_PREFIX = "embeddings/"
DEFAULT_MAX_ERRORS = 100
_KEY_BYTES = 8

logger = logging.getLogger("rookdb.indexing")

Vector = npt.NDArray[Any]
Vectors = list[Vector] | RookError  # a document's vectors, or why it could not be indexed


def document_key(lower_id: str) -> int:
    """The graph key of a document: a stable signed 64-bit hash of its lower-cased id."""
    return int.from_bytes(hashlib.blake2b(lower_id.encode(), digest_size=_KEY_BYTES).digest(), "little", signed=True)


class Vectorizer(Protocol):
    """Turns changed documents into the vectors a field indexes (embedding text when it must)."""

    def from_documents(self, spec: VectorFieldSpec, documents: Sequence[dict[str, Any]]) -> list[Vectors]:
        """The vectors of each document's field, aligned with ``documents``."""
        ...

    def from_task(self, spec: VectorFieldSpec, source_ids: Sequence[str], generation: int = 0) -> list[Vectors]:
        """The vectors of generation ``generation`` of task ``spec.task`` for each source document,
        aligned with ``source_ids``."""
        ...

    def task_fingerprint(self, spec: VectorFieldSpec, embeddings_body: bytes, generation: int = 0) -> int | None:
        """A fingerprint of the vectors that an embeddings document's body holds for the field (equal
        fingerprints: equal vectors); None when it holds none, or when it cannot tell."""
        ...


@dataclass(frozen=True)
class GraphSettings:
    """HNSW parameters of new indexes (RavenDB's ``NumberOfEdges`` and ``NumberOfCandidatesForIndexing``)."""

    m: int
    ef_construction: int
    tuning: GraphTuning = DEFAULT_TUNING


@dataclass(frozen=True)
class IndexingError:
    """A document that could not be indexed (RavenDB's ``IndexingError``)."""

    document: str
    error: str
    timestamp: str

    def to_json(self) -> dict[str, Any]:
        return {"Document": self.document, "Error": self.error, "Timestamp": self.timestamp, "Action": "Map"}


class FieldIndex:
    """One field's vectors. A single indexing thread calls ``catch_up``/``save``; searches run alongside."""

    def __init__(self, spec: VectorFieldSpec, directory: Path, graph: GraphSettings, index: VectorIndex,
                 ids: dict[int, str], generation: int = 0) -> None:
        """Use :meth:`open`."""
        self.spec = spec
        self.generation = generation
        """For a task's field: the generation of the task's embeddings it indexes."""
        self._directory = directory
        self._graph = graph
        self._index = index
        self._ids = ids
        self._position = index.checkpoint
        self._saved_position = index.checkpoint
        self._errors: deque[IndexingError] = deque(maxlen=DEFAULT_MAX_ERRORS)
        self.error_count = 0
        self._lock = threading.Lock()  # guards _ids against concurrent readers copying it
        # Task fields: key → fingerprint of the task's vectors the index holds for it, as last read from
        # the document they came from (in memory only). A rewrite of an embeddings document that keeps
        # them (the next generation of a migration written beside them, the clean-up renaming a
        # section) is skipped without reading its vectors back.
        self._held_sections: dict[int, int] = {}

    @staticmethod
    def file_name(spec: VectorFieldSpec, generation: int = 0) -> str:
        return spec.file_name if generation == 0 else f"{spec.file_name}-g{generation}"

    @staticmethod
    def key_of(spec: VectorFieldSpec, generation: int = 0) -> str:
        """A field index's identity: the field's, with the task generation it indexes after the first."""
        return spec.key if generation == 0 else f"{spec.key}#g{generation}"

    @property
    def key(self) -> str:
        return self.key_of(self.spec, self.generation)

    @classmethod
    def open(cls, spec: VectorFieldSpec, directory: Path, graph: GraphSettings, generation: int = 0) -> FieldIndex:
        """Load the saved index of ``spec`` (of the task's ``generation``), or start an empty one;
        unusable files are rebuilt."""
        name = cls.file_name(spec, generation)
        try:
            index = VectorIndex.open(directory, name, kind=spec.destination, m=graph.m,
                                     ef_construction=graph.ef_construction, tuning=graph.tuning)
            ids = _read_ids(directory / f"{name}.ids.json")
        except (ValueError, StorageError) as error:
            # Built with other graph settings, or damaged: the change feed can rebuild it.
            logger.warning("Rebuilding vector index %s (%s): %s", spec.key, name, error)
            VectorIndex.delete(directory, name)
            index = VectorIndex.open(directory, name, kind=spec.destination, m=graph.m,
                                     ef_construction=graph.ef_construction, tuning=graph.tuning)
            ids = {}
        return cls(spec, directory, graph, index, ids, generation)

    def delete(self) -> None:
        """Remove its files (a task generation that was swapped out or dropped)."""
        name = self.file_name(self.spec, self.generation)
        VectorIndex.delete(self._directory, name)
        (self._directory / f"{name}.ids.json").unlink(missing_ok=True)

    # ---------------------------------------------------------------- state

    @property
    def position(self) -> int:
        """The etag of the last change applied."""
        return self._position

    @property
    def dirty(self) -> bool:
        return self._position != self._saved_position

    @property
    def document_count(self) -> int:
        return self._index.document_count

    @property
    def dimensions(self) -> int | None:
        return self._index.dimensions

    @property
    def errors(self) -> list[IndexingError]:
        return list(self._errors)

    def collections(self) -> list[str]:
        """The collections whose changes this field follows."""
        if self.spec.task is None:
            return [self.spec.collection]
        return [self.spec.collection, EMBEDDINGS_COLLECTION_PREFIX + self.spec.collection]

    def is_stale(self, storage: DocumentStorage, last_etag: int | None = None) -> bool:
        """True while a change to a followed collection has not been applied yet (``last_etag``: the
        database's, when the caller has read it already)."""
        if self._position >= (storage.last_etag() if last_etag is None else last_etag):
            return False
        return any(storage.changes_since(self._position, 1, collection) for collection in self.collections())

    # ---------------------------------------------------------------- indexing

    def catch_up(self, storage: DocumentStorage, vectorizer: Vectorizer, limit: int) -> bool:
        """Apply up to ``limit`` changes per followed collection; True if more are waiting."""
        snapshot = storage.last_etag()
        if self._position >= snapshot:
            return False
        changes: list[Change] = []
        bound: int | None = None
        for collection in self.collections():
            batch = storage.changes_since(self._position, limit, collection)
            changes.extend(batch)
            if len(batch) >= limit:  # truncated: only changes up to its last etag are complete
                bound = batch[-1].etag if bound is None else min(bound, batch[-1].etag)
        if bound is not None:
            changes = [change for change in changes if change.etag <= bound]
        changes.sort(key=lambda change: change.etag)
        if changes:
            self._apply(storage, changes, vectorizer, snapshot)
        # Without truncation everything up to the snapshot has been seen.
        self._position = bound if bound is not None else max(snapshot, self._position)
        return bound is not None

    def _apply(self, storage: DocumentStorage, changes: list[Change], vectorizer: Vectorizer, snapshot: int) -> None:
        latest: dict[str, tuple[str, Change]] = {}  # lower source id → (id, its last change)
        sources_changed: set[str] = set()
        for change in changes:
            source_id = change.id
            if change.collection.lower() != self.spec.collection.lower():
                source_id = change.id[len(EMBEDDINGS_ID_PREFIX):] if change.id.lower().startswith(
                    EMBEDDINGS_ID_PREFIX) else change.id
            else:
                sources_changed.add(source_id.lower())
            latest[source_id.lower()] = (source_id, change)
        if self.spec.task is None:
            puts = [(doc_id, change) for doc_id, change in latest.values() if change.document is not None]
            bodies = [orjson.loads(change.document.body) for _, change in puts if change.document is not None]
            results = vectorizer.from_documents(self.spec, bodies) if bodies else []
            found = {doc_id.lower(): (doc_id, vectors) for (doc_id, _), vectors in zip(puts, results, strict=True)}
            self._write(latest, found)
            return
        rewritten = self._rewritten_sections(latest, vectorizer)
        for lower_id, (fingerprint, _) in list(rewritten.items()):
            if (fingerprint is not None and lower_id not in sources_changed
                    and self._held_sections.get(document_key(lower_id)) == fingerprint):
                del latest[lower_id]  # the vectors held are those it keeps: nothing to read or redo
                del rewritten[lower_id]
        # The task's vectors are read now, whichever collection changed; a deleted source drops out.
        wanted = [doc_id for doc_id, _ in latest.values()]
        existing = storage.get_many(wanted)
        alive = [doc_id for doc_id, doc in zip(wanted, existing, strict=True) if doc is not None
                 and doc.collection.lower() == self.spec.collection.lower()]
        results = vectorizer.from_task(self.spec, alive, self.generation) if alive else []
        found = {doc_id.lower(): (doc_id, vectors) for doc_id, vectors in zip(alive, results, strict=True)}
        self._write(latest, found)
        self._hold_sections(storage, latest, found, rewritten, snapshot)

    def _rewritten_sections(self, latest: dict[str, tuple[str, Change]],
                            vectorizer: Vectorizer) -> dict[str, tuple[int | None, Change]]:
        """Lower source id → (fingerprint of the field's vectors its embeddings document holds, that
        change), for the sources whose last change is a write of their embeddings document."""
        return {lower_id: (vectorizer.task_fingerprint(self.spec, change.document.body, self.generation), change)
                for lower_id, (_, change) in latest.items()
                if change.document is not None and change.collection.lower() != self.spec.collection.lower()}

    def _hold_sections(self, storage: DocumentStorage, latest: dict[str, tuple[str, Change]],
                       found: dict[str, tuple[str, Vectors]], rewritten: dict[str, tuple[int | None, Change]],
                       snapshot: int) -> None:
        """Remember what the index now holds for each document just indexed from its embeddings
        document, when the vectors read came from the version in the change: nothing was written
        since the feed was read, or the document is still at the change's etag."""
        for lower_id in latest:
            self._held_sections.pop(document_key(lower_id), None)
        held = {lower_id: (fingerprint, change) for lower_id, (fingerprint, change) in rewritten.items()
                if fingerprint is not None and not isinstance(found.get(lower_id, (None, []))[1], RookError)
                and found.get(lower_id, (None, []))[1]}
        if not held:
            return
        if storage.last_etag() != snapshot:
            current = storage.get_many([change.id for _, change in held.values()])
            held = {lower_id: entry for (lower_id, entry), document in zip(held.items(), current, strict=True)
                    if document is not None and document.etag == entry[1].etag}
        for lower_id, (fingerprint, _) in held.items():
            assert fingerprint is not None
            self._held_sections[document_key(lower_id)] = fingerprint

    def _write(self, latest: dict[str, tuple[str, Change]], found: dict[str, tuple[str, Vectors]]) -> None:
        keys: list[int] = []
        rows: list[Vector] = []
        names: dict[int, str] = {}
        width = self._expected_width()
        for lower_id, (doc_id, _) in latest.items():
            key = document_key(lower_id)
            vectors = found.get(lower_id, (doc_id, []))[1]
            if isinstance(vectors, RookError):
                self._record(doc_id, vectors.message)
                vectors = []
            if vectors:
                stacked = _stack(vectors)
                if stacked is None:
                    self._record(doc_id, "its vectors have different lengths")
                    vectors = []
                elif width is not None and stacked.shape[1] != width:
                    self._record(doc_id, VectorDimensionMismatchError(
                        self._dimensions_of(width), self._dimensions_of(stacked.shape[1]),
                        field=self.spec.name).message)
                    vectors = []
                elif self._index.holds(key, stacked):
                    # e.g. its embeddings document was rewritten for another generation: nothing to redo
                    continue
                else:
                    width = stacked.shape[1]
                    keys.extend([key] * len(stacked))
                    rows.append(stacked)
                    names[key] = doc_id
            if not vectors:
                self._index.remove(key)
                with self._lock:
                    self._ids.pop(key, None)
        if rows:
            matrix = np.concatenate(rows) if len(rows) > 1 else rows[0]
            self._index.add_many(keys, matrix)
            with self._lock:
                self._ids.update(names)

    def _expected_width(self) -> int | None:
        dimensions = self._index.dimensions
        if dimensions is None:
            return None
        return (dimensions + 7) // 8 if self._packed() else dimensions

    def _dimensions_of(self, width: int) -> int:
        return width * 8 if self._packed() else width

    def _packed(self) -> bool:
        return self.spec.kind == "i1"

    def _record(self, doc_id: str, message: str) -> None:
        self.error_count += 1
        stamp = format_timestamp()
        self._errors.append(IndexingError(doc_id, message, stamp))

    def record_failure(self, message: str) -> None:
        """Note a failure of the whole batch (e.g. the embedding model); the batch is retried."""
        self._record("", message)

    def save(self) -> None:
        """Persist ids, then the index with its checkpoint (the ids file always covers the index)."""
        position = self._position
        with self._lock:
            ids = dict(self._ids)
        _write_ids(self._directory / f"{self.file_name(self.spec, self.generation)}.ids.json", ids)
        self._index.save(checkpoint=position)
        self._saved_position = position

    # ---------------------------------------------------------------- searching

    def search(
        self,
        queries: Sequence[Vector],
        *,
        minimum_similarity: float,
        number_of_candidates: int,
        exact: bool,
        allowed_ids: Sequence[str] | None,
        scanning_threshold: int,
    ) -> dict[str, float]:
        """``{id: best similarity}`` over every query vector (a document's best vector counts).

        ``allowed_ids`` are compared case-insensitively.
        """
        allowed = None if allowed_ids is None else {document_key(doc_id.lower()) for doc_id in allowed_ids}
        best: dict[str, float] = {}
        for query in queries:
            try:
                hits = self._index.search(query, minimum_similarity=minimum_similarity,
                                          number_of_candidates=number_of_candidates, exact=exact,
                                          allowed_keys=allowed, scanning_threshold=scanning_threshold)
            except VectorDimensionMismatchError as error:  # named after the index file: name the field
                raise VectorDimensionMismatchError(error.expected, error.actual, field=self.spec.name) from error
            for key, score in hits:
                doc_id = self._ids.get(key)
                if doc_id is not None and score > best.get(doc_id, -np.inf):
                    best[doc_id] = score
        return dict(sorted(best.items(), key=lambda item: -item[1]))

    def vectors_of(self, doc_id: str) -> list[Vector]:
        """The indexed vectors of one document (``embedding.forDoc``); empty if it has none."""
        rows = self._index.vectors_of(document_key(doc_id.lower()))
        return [row for row in rows] if rows.size else []

    def document_ids(self) -> set[str]:
        with self._lock:
            return set(self._ids.values())


def _stack(vectors: list[Vector]) -> Vector | None:
    if len({(v.shape[0], v.dtype) for v in vectors}) != 1:
        return None
    return np.stack(vectors)


def _read_ids(path: Path) -> dict[int, str]:
    if not path.exists():
        return {}
    try:
        listed = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise StorageError(f"Cannot read {path.name}: {error}") from error
    if not isinstance(listed, list):
        raise StorageError(f"{path.name} is not a list of document ids")
    return {document_key(str(doc_id).lower()): str(doc_id) for doc_id in listed}


def _write_ids(path: Path, ids: dict[int, str]) -> None:
    temporary = path.with_suffix(".tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(orjson.dumps(sorted(ids.values())))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise StorageError(f"Cannot save {path.name}: {error}") from error
