"""The vector fields of a static index: what ``CreateVector`` and ``LoadVector`` produce, kept and searched.

A map's ``VectorInput`` values are turned into vectors after each batch is mapped: text is embedded by
the embedded model (one call per batch), numeric arrays and Base64 strings are decoded by the field's
``SourceEmbeddingType``, and ``LoadVector`` reads the embeddings a task stored for the document (or a
related one). The vectors are kept in the index file (table ``vectors``, written in the batch's
transaction, so they are never ahead of or behind the checkpoint), and searched through one HNSW graph
per field (``VectorIndex``) held in memory and kept in step by every batch (replaying a batch after a
failed commit is harmless: a document's vectors replace its previous ones).

Each batch that changes vectors also moves the file's vector version (``meta.vector_version``). The
graphs are saved in the index file's companion folder as the auto vector indexes save theirs
(``VectorIndex.save``), with that version as their checkpoint, when the index is idle and when it is
closed. The first use after a start loads them if their version is the file's; otherwise (never
saved, or saved before later batches, e.g. before a crash) they are rebuilt from the ``vectors`` table.

A field's options are its ``Fields[name].Vector`` (RavenDB's ``VectorOptions``); without them the first
value decides, as RavenDB does: text is ``Text`` (embedded), anything else ``Single``. ``Dimensions``, when
given, is enforced per document: a vector of another length is an indexing error of that document.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rookdb.errors import BadRequestError, StorageError, VectorDimensionMismatchError
from rookdb.indexes.files import companion_directory
from rookdb.indexes.static.fields import VectorOptions
from rookdb.indexes.static.mapping import VectorInput
from rookdb.indexes.vector import (
    DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING,
    DEFAULT_NUMBER_OF_EDGES,
    VectorIndex,
    VectorKind,
)
from rookdb.indexes.vector.field_index import document_key
from rookdb.indexes.vector.fields import SourceType
from rookdb.indexes.vector.values import document_vectors
from rookdb.indexes.vector.vectorizer import GenerationVectorReader, TaskVectorReader, TextEmbedder

__all__ = ["SCHEMA", "DocumentVectors", "VectorField", "VectorFields", "VectorSources", "embeddings_target"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (field TEXT NOT NULL, lower_id TEXT NOT NULL, id TEXT NOT NULL,
                                    source TEXT NOT NULL, task TEXT, dtype TEXT NOT NULL, width INTEGER NOT NULL,
                                    rows BLOB NOT NULL, PRIMARY KEY (field, lower_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vectors_by_doc ON vectors (lower_id);
"""

_IN_CHUNK = 500
_VERSION_KEY = "vector_version"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_EMBEDDINGS_ID_PREFIX = "embeddings/"

Vector = npt.NDArray[Any]


def embeddings_target(source_id: str) -> str:
    """The (lower-cased) id of the document holding a task's embeddings of ``source_id``: a map that
    ``LoadVector``-s it is mapped again when that document changes."""
    return (_EMBEDDINGS_ID_PREFIX + source_id).lower()


@dataclass(frozen=True)
class VectorSources:
    """What vector fields need from outside the index: the embedded model, and a task's stored embeddings
    (``(source collection, task, source id, field)`` → vectors of the generation serving queries;
    ``generation_vectors`` reads any generation)."""

    embed_texts: TextEmbedder
    task_vectors: TaskVectorReader
    generation_vectors: GenerationVectorReader | None = None

    def staged(self, identifier: str, generation: int) -> VectorSources:
        """These sources with task ``identifier`` read at ``generation`` (a migration's side-by-side build)."""
        reader = self.generation_vectors
        if reader is None:
            raise ValueError("these vector sources cannot read a task's other generations")
        serving = self.task_vectors

        def task_vectors(collection: str, task: str, source_id: str, field_name: str) -> list[Vector]:
            if task.lower() == identifier.lower():
                return reader(collection, task, generation, source_id, field_name)
            return serving(collection, task, source_id, field_name)

        return VectorSources(self.embed_texts, task_vectors, reader)


@dataclass
class DocumentVectors:
    """One mapped document's vector inputs, by field; ``collection`` is its own collection and
    ``collection_of`` finds the collection of a related document (``LoadVector(field, task, related)``)."""

    doc_id: str
    collection: str
    inputs: dict[str, list[VectorInput]] = field(default_factory=dict)


class VectorField:
    """One vector field of an index: its options, its source, its graph and the ids of its documents."""

    def __init__(self, name: str, options: VectorOptions | None, source: str, task: str | None,
                 directory: Path) -> None:
        """The field's graph as saved in ``directory`` (an empty one when none was, or the saved one was
        built with other options)."""
        self.name = name
        self.options = options or VectorOptions(source=source)
        self.source = SourceType(source)
        self.task = task
        self.directory = directory
        slug = _UNSAFE.sub("_", name).strip("_.-")[:40] or "field"
        self.graph_name = f"{slug}-{hashlib.blake2b(name.encode(), digest_size=6).hexdigest()}"
        try:
            self.graph = self._open_graph()
        except (ValueError, StorageError, VectorDimensionMismatchError):  # saved with other options: rebuild
            VectorIndex.delete(directory, self.graph_name)
            self.graph = self._open_graph()
        self.ids: dict[int, str] = {}

    def _open_graph(self) -> VectorIndex:
        candidates = self.options.candidates or DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING
        return VectorIndex.open(self.directory, self.graph_name, kind=VectorKind(self.options.destination),
                                dimensions=None if self.source is SourceType.TEXT else self.options.dimensions,
                                m=self.options.edges or DEFAULT_NUMBER_OF_EDGES, ef_construction=candidates)

    def clear(self) -> None:
        """Drop the graph (and its saved files) to build it again."""
        VectorIndex.delete(self.directory, self.graph_name)
        self.graph = self._open_graph()
        self.ids.clear()

    @property
    def numeric(self) -> bool:
        """True when the field holds the documents' own numbers (searched by vector, or by text through a
        task's model), not text embedded by the index or a task's embeddings."""
        return self.source is not SourceType.TEXT and self.task is None

    @property
    def width(self) -> int | None:
        dimensions = self.graph.dimensions
        if dimensions is None:
            return None
        return (dimensions + 7) // 8 if self.source is SourceType.BINARY else dimensions

    def replace(self, rows: Mapping[str, tuple[str, Vector | None]]) -> None:
        """Put each document's rows (None: it has none any more) in the graph."""
        keys: list[int] = []
        matrices: list[Vector] = []
        for lower_id, (doc_id, matrix) in rows.items():
            key = document_key(lower_id)
            if matrix is None or not len(matrix):
                self.graph.remove(key)
                self.ids.pop(key, None)
                continue
            keys.extend([key] * len(matrix))
            matrices.append(matrix)
            self.ids[key] = doc_id
        if matrices:
            self.graph.add_many(keys, np.concatenate(matrices) if len(matrices) > 1 else matrices[0])

    def search(self, queries: Sequence[Vector], *, minimum_similarity: float, number_of_candidates: int,
               exact: bool, allowed_ids: Sequence[str] | None, scanning_threshold: int) -> dict[str, float]:
        """``{id: best similarity}`` over every query vector, best first."""
        allowed = None if allowed_ids is None else {document_key(doc_id.lower()) for doc_id in allowed_ids}
        best: dict[str, float] = {}
        for query in queries:
            try:
                hits = self.graph.search(query, minimum_similarity=minimum_similarity,
                                         number_of_candidates=number_of_candidates, exact=exact,
                                         allowed_keys=allowed, scanning_threshold=scanning_threshold)
            except VectorDimensionMismatchError as error:  # the graph is named after a file: name the field
                raise VectorDimensionMismatchError(error.expected, error.actual, field=self.name) from error
            for key, score in hits:
                doc_id = self.ids.get(key)
                if doc_id is not None and score > best.get(doc_id, -np.inf):
                    best[doc_id] = score
        return dict(sorted(best.items(), key=lambda item: -item[1]))

    def vectors_of(self, doc_id: str) -> list[Vector]:
        """The indexed vectors of one document (``embedding.forDoc``)."""
        rows = self.graph.vectors_of(document_key(doc_id.lower()))
        return list(rows) if rows.size else []


class VectorFields:
    """The vector fields of one static index (one per compiled definition)."""

    def __init__(self, options: Callable[[str], VectorOptions | None]) -> None:
        self._options = options
        self._fields: dict[str, VectorField] = {}
        self._path: Path | None = None
        self._loaded = False
        self._lock = threading.Lock()
        self._version = 0
        """The vector version the graphs hold (the file's, unless a batch failed to commit)."""
        self._saved_version: int | None = None
        self._saved_at = 0.0
        self.rebuilds = 0
        """Fields whose graph was built from the index file, not loaded as saved (none saved, or stale)."""

    def field(self, name: str) -> VectorField | None:
        return self._fields.get(name)

    def names(self) -> list[str]:
        return list(self._fields)

    def tasks(self) -> set[str]:
        """The (lower-cased) identifiers of the tasks whose embeddings the fields load (``LoadVector``)."""
        return {each.task.lower() for each in self._fields.values() if each.task}

    @staticmethod
    def split(outputs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[VectorInput]]]:
        """A document's outputs without their vector values, and those values by field."""
        inputs: dict[str, list[VectorInput]] = {}
        kept: list[dict[str, Any]] = []
        for output in outputs:
            if not any(isinstance(value, VectorInput) or _vector_list(value) for value in output.values()):
                kept.append(output)
                continue
            plain = {}
            for name, value in output.items():
                if isinstance(value, VectorInput):
                    inputs.setdefault(name, []).append(value)
                elif _vector_list(value):
                    inputs.setdefault(name, []).extend(value)
                else:
                    plain[name] = value
            kept.append(plain)
        return kept, inputs

    # ---------------------------------------------------------------- loading and saving

    def ensure_loaded(self, path: Path, connect: Callable[[], sqlite3.Connection] | None = None) -> None:
        """Load the graphs saved for the index file at ``path``, or build them from it, once (queries and
        batches both call this; ``connect``: the batch's connection)."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            if connect is not None:
                self._load(path, connect())
            else:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    db.execute("BEGIN")  # the version and the rows of one state
                    self._load(path, db)
                finally:
                    db.close()
            self._loaded = True

    def _load(self, path: Path, db: sqlite3.Connection) -> None:
        self._path = path
        self._version = _version_of(db)
        directory = companion_directory(path)
        for name, source, task in db.execute("SELECT field, min(source), min(task) FROM vectors GROUP BY field"):
            self._field(name, source, task)
        saved = {name for name, each in self._fields.items() if each.graph.checkpoint == self._version}
        for name, lower_id, doc_id in db.execute("SELECT field, lower_id, id FROM vectors"):
            if name in saved:
                self._fields[name].ids[document_key(lower_id)] = doc_id
        stale = set(self._fields) - saved
        for name in stale:
            self._fields[name].clear()
        grouped: dict[str, dict[str, tuple[str, Vector | None]]] = {}
        for name, lower_id, doc_id, dtype, width, blob in db.execute(
                "SELECT field, lower_id, id, dtype, width, rows FROM vectors ORDER BY field"):
            if name in stale:
                matrix = np.frombuffer(blob, dtype=np.dtype(dtype)).reshape(-1, width)
                grouped.setdefault(name, {})[lower_id] = (doc_id, matrix)
        for name, rows in grouped.items():
            self._fields[name].replace(rows)
        self.rebuilds += len(stale)
        self._saved_version = None if stale else self._version
        known = {each.graph_name for each in self._fields.values()}
        for manifest in directory.glob("*.manifest.json") if directory.is_dir() else ():
            if manifest.name.removesuffix(".manifest.json") not in known:  # a field no document has any more
                VectorIndex.delete(directory, manifest.name.removesuffix(".manifest.json"))

    def _field(self, name: str, source: str, task: str | None) -> VectorField:
        found = self._fields.get(name)
        if found is None:
            assert self._path is not None
            found = VectorField(name, self._options(name), source, task, companion_directory(self._path))
            self._fields[name] = found
        return found

    def save(self, db: sqlite3.Connection, *, older_than: float = 0.0) -> None:
        """Save the graphs changed since the last save (if that was at least ``older_than`` seconds ago)
        under the file's vector version; ``db`` is the index file's writer, between batches. Graphs
        holding a batch that failed to commit are not saved: the next start rebuilds them."""
        with self._lock:
            if not self._loaded or self._saved_version == self._version \
                    or time.monotonic() - self._saved_at < older_than:
                return
            if _version_of(db) != self._version:
                return
            for each in self._fields.values():
                each.directory.mkdir(parents=True, exist_ok=True)
                each.graph.save(checkpoint=self._version)
            self._saved_version = self._version
            self._saved_at = time.monotonic()

    # ---------------------------------------------------------------- indexing

    def apply(self, db: sqlite3.Connection, path: Path, removed: Iterable[str], mapped: Sequence[DocumentVectors],
              sources: VectorSources | None, collection_of: Callable[[str], str | None],
              fail: Callable[[str, str], None]) -> None:
        """Replace the vectors of ``mapped`` documents and drop those of ``removed`` ones (ids), in the
        batch's transaction ``db``; a document whose vectors cannot be made gets an indexing error."""
        self.ensure_loaded(path, lambda: db)
        resolved = self._resolve(mapped, sources, collection_of, fail)
        lowered = [doc_id.lower() for doc_id in removed] + [document.doc_id.lower() for document in mapped]
        for offset in range(0, len(lowered), _IN_CHUNK):
            chunk = lowered[offset: offset + _IN_CHUNK]
            db.execute(f"DELETE FROM vectors WHERE lower_id IN ({','.join('?' * len(chunk))})", chunk)
        by_field: dict[str, dict[str, tuple[str, Vector | None]]] = {name: {} for name in self._fields}
        for name in by_field:
            for lower_id in lowered:
                by_field[name][lower_id] = ("", None)
        rows = []
        with self._lock:
            for (doc_id, name), (source, task, matrix) in resolved.items():
                vector_field = self._field(name, source, task)
                problem = self._check(vector_field, matrix)
                if problem is not None:
                    fail(doc_id, problem)
                    continue
                by_field.setdefault(name, {})[doc_id.lower()] = (doc_id, matrix)
                rows.append((name, doc_id.lower(), doc_id, source, task, matrix.dtype.str, matrix.shape[1],
                             matrix.tobytes()))
            for name, changed in by_field.items():
                self._fields[name].replace(changed)
        db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if lowered or rows:
            with self._lock:
                self._version += 1
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_VERSION_KEY, self._version))

    def _check(self, vector_field: VectorField, matrix: Vector) -> str | None:
        expected = vector_field.width
        declared = vector_field.options.dimensions
        if expected is None and declared is not None and vector_field.source is not SourceType.TEXT:
            expected = (declared + 7) // 8 if vector_field.source is SourceType.BINARY else declared
        if expected is not None and matrix.shape[1] != expected:
            scale = 8 if vector_field.source is SourceType.BINARY else 1
            return VectorDimensionMismatchError(expected * scale, matrix.shape[1] * scale,
                                                field=vector_field.name).message
        return None

    def _resolve(self, mapped: Sequence[DocumentVectors], sources: VectorSources | None,
                 collection_of: Callable[[str], str | None], fail: Callable[[str, str], None],
                 ) -> dict[tuple[str, str], tuple[str, str | None, Vector]]:
        """Each (document, field)'s rows with the field's source and task; texts embedded in one call."""
        pending_texts: list[str] = []
        text_slots: list[tuple[str, str, int]] = []
        decoded: dict[tuple[str, str], list[Vector]] = {}
        kinds: dict[tuple[str, str], tuple[str, str | None]] = {}
        failed: set[str] = set()
        for document in mapped:
            for name, inputs in document.inputs.items():
                key = (document.doc_id, name)
                for given in inputs:
                    try:
                        if given.task is not None:
                            kinds[key] = ("Single", given.task)
                            decoded.setdefault(key, []).extend(
                                self._task_rows(given, document, sources, collection_of))
                            continue
                        source = self._source_of(name, given.value)
                        kinds[key] = (source, None)
                        if source == "Text":
                            texts = _texts(given.value, name)
                            pending_texts.extend(texts)
                            text_slots.extend((document.doc_id, name, 0) for _ in texts)
                            decoded.setdefault(key, [])
                        else:
                            decoded.setdefault(key, []).extend(
                                document_vectors({"v": given.value}, ("v",), SourceType(source)))
                    except BadRequestError as error:
                        fail(document.doc_id, f"Field '{name}': {error.message}")
                        failed.add(document.doc_id)
        if pending_texts:
            if sources is None:
                raise BadRequestError("Vector fields from text need the embedded model, which this index was "
                                      "opened without")
            embedded = sources.embed_texts(pending_texts)
            for (doc_id, name, _), row in zip(text_slots, embedded, strict=True):
                decoded[(doc_id, name)].append(row)
        resolved: dict[tuple[str, str], tuple[str, str | None, Vector]] = {}
        for key, vectors in decoded.items():
            if key[0] in failed or not vectors:
                continue
            if len({(vector.shape[0], vector.dtype) for vector in vectors}) != 1:
                fail(key[0], f"Field '{key[1]}': its vectors have different lengths")
                continue
            source, task = kinds[key]
            resolved[key] = (source, task, np.stack(vectors))
        return resolved

    def _source_of(self, name: str, value: Any) -> str:
        options = self._options(name)
        if options is not None:
            return options.source
        known = self._fields.get(name)
        if known is not None:
            return known.source.value
        return "Text" if _is_text(value) else "Single"

    @staticmethod
    def _task_rows(given: VectorInput, document: DocumentVectors, sources: VectorSources | None,
                   collection_of: Callable[[str], str | None]) -> list[Vector]:
        if given.source_id is None:
            return []
        if sources is None:
            raise BadRequestError("LoadVector needs the embeddings tasks' stored embeddings, which this index "
                                  "was opened without")
        own = given.source_id.lower() == document.doc_id.lower()
        collection = document.collection if own else collection_of(given.source_id)
        if collection is None:
            return []
        return list(sources.task_vectors(collection, str(given.task), given.source_id, str(given.value)))


def _version_of(db: sqlite3.Connection) -> int:
    """The file's vector version: how many batches changed its vectors."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_VERSION_KEY,)).fetchone()
    return 0 if row is None else int(row[0])


def _vector_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, VectorInput) for item in value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and bool(value)
                                      and all(isinstance(item, str) for item in value))


def _texts(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list) and all(isinstance(item, str) or item is None for item in value):
        return [item for item in value if item is not None and item.strip()]
    raise BadRequestError(f"a Text vector field takes a string or strings, not {type(value).__name__}")
