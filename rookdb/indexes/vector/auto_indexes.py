"""Auto-indexes for vector queries: created by the first query that needs one, kept current after.

A dynamic query with ``vector.search`` gets the auto-index RavenDB would create, named after every
field it uses (``Auto/Products/ByPricePerUnitAndVector.search(embedding.text(Name))``; the query
layer names it and lists its fields). Its vector
fields are ``FieldIndex`` es shared by every auto-index that searches the same field, so a vector is
computed once however many queries combine it with other filters. The ordinary fields are matched
by the executor's scan; they are recorded for the index listing.

Definitions are kept in ``auto-indexes.json`` and field indexes in files beside it; an indexing
thread (owned by the database) calls :meth:`AutoIndexes.index_step` and :meth:`AutoIndexes.save`.

A task's field has one index per live generation of the task's embeddings (``generations`` says which:
the serving one first, then the one a migration builds). Queries search the serving one; the other
is built side by side, and an index whose generation is no longer live is dropped with its files.
The side-by-side build yields to queries: it is fed in small batches, calling ``pace`` before each,
and saved rarely (a crash only makes it read the change feed again).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rookdb.errors import InvalidQueryError, RookError, StorageError
from rookdb.indexes.vector.field_index import FieldIndex, GraphSettings, Vectorizer
from rookdb.indexes.vector.fields import SourceType, VectorFieldSpec
from rookdb.inline import acquire, refuse_to_wait
from rookdb.storage.base import DocumentStorage

TaskGenerations = Callable[[str], tuple[int, ...]]
"""Task identifier → the live generations of its embeddings, the serving one first."""

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BUILDING_BATCH_SIZE",
    "DEFAULT_BUILDING_SAVE_INTERVAL_SECONDS",
    "DEFAULT_ERROR_BACKOFF_SECONDS",
    "DEFAULT_SAVE_INTERVAL_SECONDS",
    "DEFAULT_TEXT_BATCH_SIZE",
    "AutoIndexConfig",
    "AutoIndexDefinition",
    "AutoIndexes",
]

DEFAULT_BATCH_SIZE = 1024
# Embedding text costs milliseconds per document: smaller batches keep waiting queries informed.
DEFAULT_TEXT_BATCH_SIZE = 128
# Saving writes the whole graph; between saves a restart replays the change feed from the checkpoint.
DEFAULT_SAVE_INTERVAL_SECONDS = 30.0
# A generation built side by side: each batch is a unit of work queries may wait behind, and saving its
# whole graph again and again competes with them for nothing until it serves.
DEFAULT_BUILDING_BATCH_SIZE = 32
DEFAULT_BUILDING_SAVE_INTERVAL_SECONDS = 300.0
DEFAULT_ERROR_BACKOFF_SECONDS = 5.0
# A waiting query re-checks this often even without news from the indexing thread.
_WAIT_POLL_SECONDS = 0.25
_LISTED_ERRORS = 10
DEFINITIONS_FILE = "auto-indexes.json"

logger = logging.getLogger("rookdb.indexing")


@dataclass(frozen=True)
class AutoIndexConfig:
    """How auto-indexes are built and how often they are saved."""

    graph: GraphSettings
    batch_size: int = DEFAULT_BATCH_SIZE
    text_batch_size: int = DEFAULT_TEXT_BATCH_SIZE
    save_interval: float = DEFAULT_SAVE_INTERVAL_SECONDS
    error_backoff: float = DEFAULT_ERROR_BACKOFF_SECONDS
    building_batch_size: int = DEFAULT_BUILDING_BATCH_SIZE
    building_save_interval: float = DEFAULT_BUILDING_SAVE_INTERVAL_SECONDS


@dataclass(frozen=True)
class AutoIndexDefinition:
    """An auto-index: its RavenDB name, collection, every field in the name, and the vector fields."""

    name: str
    collection: str
    fields: tuple[str, ...]
    vector_fields: tuple[VectorFieldSpec, ...]

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Collection": self.collection, "Fields": list(self.fields),
                "VectorFields": [spec.to_json() for spec in self.vector_fields]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AutoIndexDefinition:
        return cls(str(data["Name"]), str(data["Collection"]), tuple(str(f) for f in data["Fields"]),
                   tuple(VectorFieldSpec.from_json(spec) for spec in data["VectorFields"]))


class AutoIndexes:
    """One database's vector auto-indexes. Thread-safe; one thread indexes, any thread queries."""

    def __init__(self, directory: Path, storage: DocumentStorage, vectorizer: Vectorizer, config: AutoIndexConfig,
                 wake: Callable[[], None] = lambda: None, generations: TaskGenerations = lambda task: (0,),
                 pace: Callable[[], None] = lambda: None) -> None:
        """Use :meth:`open`. ``wake`` nudges the indexing thread (new index, waiting query); ``pace`` is
        called before each batch of a generation built side by side (it may wait for queries)."""
        self._directory = directory
        self._pace = pace
        self._generations = generations
        self._storage = storage
        self._vectorizer = vectorizer
        self._config = config
        self._wake = wake
        self._definitions: dict[str, AutoIndexDefinition] = {}
        self._fields: dict[str, FieldIndex] = {}
        self._lock = threading.Lock()
        self._progress = threading.Condition()
        self._retry_at: dict[str, float] = {}
        self._saved_at: dict[str, float] = {}
        self._opened_at: dict[str, float] = {}

    @classmethod
    def open(cls, directory: Path, storage: DocumentStorage, vectorizer: Vectorizer, config: AutoIndexConfig,
             wake: Callable[[], None] = lambda: None, generations: TaskGenerations = lambda task: (0,),
             pace: Callable[[], None] = lambda: None) -> AutoIndexes:
        """Load the saved definitions and their field indexes (each resumes from its checkpoint)."""
        indexes = cls(directory, storage, vectorizer, config, wake, generations, pace)
        path = directory / DEFINITIONS_FILE
        if path.exists():
            try:
                saved = orjson.loads(path.read_bytes())
                definitions = [AutoIndexDefinition.from_json(item) for item in saved]
            except (OSError, ValueError, KeyError, TypeError) as error:
                # Queries recreate auto-indexes; a damaged list must not keep the database closed.
                logger.error("Ignoring unreadable %s (kept as %s.damaged): %s", path, path.name, error)
                path.replace(path.with_name(path.name + ".damaged"))
                definitions = []
            for definition in definitions:
                indexes._add(definition)
        return indexes

    # ---------------------------------------------------------------- definitions

    def ensure(self, wanted: AutoIndexDefinition) -> tuple[AutoIndexDefinition, bool]:
        """The auto-index of ``wanted``'s name, created when missing; True when it was just created."""
        with acquire(self._lock, "the vector indexes are being changed"):
            existing = self._definitions.get(wanted.name.lower())
            if existing is not None:
                return existing, False
            refuse_to_wait("creating a vector index")  # and waiting for it, as the query that creates one does
            self._add(wanted)
            self._persist()
        self._wake()
        return wanted, True

    def _add(self, definition: AutoIndexDefinition) -> None:
        self._definitions[definition.name.lower()] = definition
        for spec in definition.vector_fields:
            for generation in self._live(spec):
                self._open_field(spec, generation)

    def _live(self, spec: VectorFieldSpec) -> tuple[int, ...]:
        return (0,) if spec.task is None else self._generations(spec.task)

    def _building(self, field: FieldIndex) -> bool:
        """True for the index of a generation built side by side (not serving queries yet)."""
        return field.spec.task is not None and field.generation != self._live(field.spec)[0]

    def _open_field(self, spec: VectorFieldSpec, generation: int) -> None:
        key = FieldIndex.key_of(spec, generation)
        if key not in self._fields:
            self._fields[key] = FieldIndex.open(spec, self._directory, self._config.graph, generation)
            self._opened_at[key] = time.monotonic()

    def _follow_generations(self) -> None:
        """Open the index of each task field's new generations; drop (and delete) the swapped-out ones."""
        with self._lock:
            specs = {spec.key: spec for definition in self._definitions.values() for spec in definition.vector_fields
                     if spec.task is not None}
            live = {key: self._live(spec) for key, spec in specs.items()}
            dropped = [key for key, field in self._fields.items()
                       if field.spec.task is not None and field.generation not in live.get(field.spec.key, (0,))]
            for key, spec in specs.items():
                for generation in live[key]:
                    self._open_field(spec, generation)
            removed = [self._fields.pop(key) for key in dropped]
        for field in removed:
            # A query still holding it answers from memory; its files go now.
            field.delete()
            for times in (self._saved_at, self._opened_at, self._retry_at):
                times.pop(field.key, None)

    def generation_current(self, task: str, generation: int) -> bool:
        """True when every field of task ``task`` has indexed ``generation`` up to the end of the feed."""
        self._follow_generations()
        with self._lock:
            specs = [spec for definition in self._definitions.values() for spec in definition.vector_fields
                     if spec.task == task]
            fields = [self._fields.get(FieldIndex.key_of(spec, generation)) for spec in specs]
        if any(field is None for field in fields):
            return False
        return not any(field.is_stale(self._storage) for field in fields if field is not None)

    def _persist(self) -> None:
        path = self._directory / DEFINITIONS_FILE
        temporary = path.with_suffix(".tmp")
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as out:
                out.write(orjson.dumps([d.to_json() for d in self._definitions.values()], option=orjson.OPT_INDENT_2))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except OSError as error:
            raise StorageError(f"Cannot save the auto-index definitions: {error}") from error

    def definitions(self) -> list[AutoIndexDefinition]:
        with self._lock:
            return list(self._definitions.values())

    def field(self, spec: VectorFieldSpec, generation: int | None = None) -> FieldIndex:
        """The index of a field some auto-index declares (``ensure`` it first); for a task's field, the
        index of ``generation`` (default: the serving one)."""
        if generation is None:
            generation = self._live(spec)[0]
        # Opening a generation's index holds the lock for as long as loading its files takes.
        with acquire(self._lock, "a vector index is being opened"):
            found = self._fields.get(FieldIndex.key_of(spec, generation))
        if found is None:
            raise InvalidQueryError(f"There is no vector index for {spec.name} in {spec.collection}")
        return found

    # ---------------------------------------------------------------- staleness

    def is_stale(self, definition: AutoIndexDefinition, last_etag: int | None = None) -> bool:
        """True while some vector field of the index has changes left to apply (``last_etag``: the
        database's, when the caller has read it already)."""
        return any(self.field(spec).is_stale(self._storage, last_etag) for spec in definition.vector_fields)

    def wait_until_current(self, definition: AutoIndexDefinition, timeout: float) -> bool:
        """Block until every field of ``definition`` has applied every change, at most ``timeout``
        seconds; returns False when it is still stale."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while self.is_stale(definition):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake()
                self._progress.wait(min(remaining, _WAIT_POLL_SECONDS))
        return True

    # ---------------------------------------------------------------- indexing (one thread)

    def index_step(self) -> bool:
        """Apply one batch of changes to every field; True while some field has more waiting."""
        self._follow_generations()
        with self._lock:
            fields = list(self._fields.values())
        busy = False
        now = time.monotonic()
        for field in fields:
            if self._retry_at.get(field.key, 0.0) > now:
                busy = True
                continue
            limit = self._config.text_batch_size if field.spec.source is SourceType.TEXT else self._config.batch_size
            if self._building(field):
                limit = min(limit, self._config.building_batch_size)
                self._pace()
            try:
                busy = field.catch_up(self._storage, self._vectorizer, limit) or busy
            except RookError as error:
                # e.g. the embedding model failed: keep the position, retry the batch later.
                logger.warning("Indexing %s failed: %s", field.key, error.message)
                field.record_failure(error.message)
                self._retry_at[field.key] = now + self._config.error_backoff
                busy = True
        with self._progress:
            self._progress.notify_all()
        return busy

    def save(self, *, force: bool = False, idle: bool = False) -> None:
        """Save fields with unsaved progress: all with ``force``; else those not saved for ``save_interval``
        and, when the indexing thread is ``idle``, those not saved since they were opened (a fresh build).
        A generation built side by side is saved every ``building_save_interval`` only."""
        with self._lock:
            fields = list(self._fields.values())
        now = time.monotonic()
        for field in fields:
            key = field.key
            saved_at = self._saved_at.get(key)
            since = saved_at if saved_at is not None else self._opened_at.get(key, 0.0)
            if self._building(field):
                due = now - since >= self._config.building_save_interval
            else:
                due = (saved_at is None and idle) or now - since >= self._config.save_interval
            if field.dirty and (force or due):
                try:
                    field.save()
                except StorageError as error:
                    logger.error("Saving vector index %s failed: %s", key, error.message)
                    continue
                self._saved_at[key] = now

    # ---------------------------------------------------------------- listing

    def describe(self) -> list[dict[str, Any]]:
        """Every auto-index as ``GET /indexes`` lists it: an ``IndexDefinition`` the official client
        reads, plus its state (``IsStale``, ``EntriesCount``, vector options, indexing errors)."""
        return [self._describe(definition) for definition in self.definitions()]

    def _describe(self, definition: AutoIndexDefinition) -> dict[str, Any]:
        fields = {spec.key: self.field(spec) for spec in definition.vector_fields}
        entries: set[str] = set()
        for field in fields.values():
            entries |= field.document_ids()
        errors = [error for field in fields.values() for error in field.errors]
        described: dict[str, Any] = {}
        for name in definition.fields:
            described[name] = {"Indexing": "Default", "Storage": "No", "Vector": None}
        graph = self._config.graph
        for spec in definition.vector_fields:
            field = fields[spec.key]
            described[f"Vector.search({spec.name})"] = {"Indexing": "No", "Storage": "No", "Vector": {
                "SourceEmbeddingType": spec.source.value,
                "DestinationEmbeddingType": spec.destination.value,
                "Dimensions": field.dimensions,
                "NumberOfEdges": graph.m,
                "NumberOfCandidatesForIndexing": graph.ef_construction,
                "SourceFieldName": ".".join(spec.path),
                "TaskIdentifier": spec.task,
            }}
        return {
            "Name": definition.name,
            "Type": "AutoMap",
            "IndexType": "AutoMap",
            "SourceType": "Documents",
            "SearchEngineType": "Corax",
            "Collection": definition.collection,
            "Priority": "Normal",
            "State": "Normal",
            "LockMode": "Unlock",
            "Maps": [],
            "Reduce": None,
            "Fields": described,
            "Configuration": {},
            "AdditionalSources": {},
            "AdditionalAssemblies": [],
            "OutputReduceToCollection": None,
            "ReduceOutputIndex": None,
            "PatternForOutputReduceToCollectionReferences": None,
            "PatternReferencesCollectionName": None,
            "IsStale": self.is_stale(definition),
            "EntriesCount": len(entries),
            "LastIndexedEtag": min((field.position for field in fields.values()), default=0),
            "ErrorsCount": sum(field.error_count for field in fields.values()),
            "Errors": [error.to_json() for error in errors[-_LISTED_ERRORS:]],
        }

