"""A database's indexes as a background service: the registry of its index files and the thread
that keeps them current from the change feed.

Static index definitions live in the database record (``Indexes``, as in RavenDB's record); the index
files are derived from them. At start the registry is brought in line with the record: a definition
without its file gets one, a file without its definition is deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from rookdb.ai.scripting.index_engine import LABEL as INDEX_SCRIPT_LABEL
from rookdb.ai.scripting.script import HostedScript
from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, LoopingService
from rookdb.documents.database import Database
from rookdb.errors import AuthorizationError, BadRequestError, IndexNotFoundError, RookError
from rookdb.indexes.describe import definition_json, errors_json, stats_json
from rookdb.indexes.index import Index, IndexRetiredError
from rookdb.indexes.registry import IndexingConfig, IndexRegistry
from rookdb.indexes.static.definition import StaticIndexDefinition, normalize_definition
from rookdb.indexes.static.javascript import compiler as javascript
from rookdb.indexes.static.vectors import VectorSources
from rookdb.query.prepared import PreparedQueries

__all__ = ["DEFAULT_IDLE_INTERVAL_SECONDS", "INDEXES_FOLDER", "RECORD_INDEXES", "IndexingService"]

INDEXES_FOLDER = "indexes"
"""Index files live in this folder of the database's folder (node-local, beside the vector indexes)."""
RECORD_INDEXES = "Indexes"
"""The database record's static index definitions, by name."""
DEFAULT_IDLE_INTERVAL_SECONDS = 5.0
"""With nothing to index, the thread still looks this often (retries after an error's backoff)."""

_Read = TypeVar("_Read")

logger = logging.getLogger("rookdb.indexing")


def _index_script_host(script: str) -> HostedScript:
    """JavaScript indexes run in the task scripts' host, with its index engine and the same limits."""
    return HostedScript(script, time_limit_ms=javascript.TIME_LIMIT_MS,
                        memory_limit_bytes=javascript.MEMORY_LIMIT_BYTES, engine="index", label=INDEX_SCRIPT_LABEL)


javascript.register_script_hosts(_index_script_host)


class IndexingService:
    """The database's ``IndexRegistry`` and its indexing thread (a ``BackgroundService``)."""

    def __init__(self, database: Database, vector_sources: VectorSources | None = None) -> None:
        """``vector_sources`` (the embedded model, the tasks' embeddings) serve static indexes' vector fields."""
        self._database = database
        self._vector_sources = vector_sources
        self._config = IndexingConfig(batch_size=int(database.settings["Indexing.MapBatchSize"]))
        self._registry: IndexRegistry | None = None
        self._prepared: PreparedQueries | None = None
        # A record change and its application to the registry happen as one, and a reconcile reads the
        # record inside it: an older read (another node's change arriving twice) never undoes a newer one.
        self._definitions = threading.RLock()
        self._loop = LoopingService(f"rookdb-indexing-{database.name}", self._step,
                                    idle_interval=DEFAULT_IDLE_INTERVAL_SECONDS, log=logger)

    @property
    def name(self) -> str:
        return f"indexing of {self._database.name}"

    @property
    def registry(self) -> IndexRegistry:
        """The indexes (opened by ``start``)."""
        if self._registry is None:
            raise RookError(f"The indexes of database '{self._database.name}' are not open")
        return self._registry

    @property
    def prepared(self) -> PreparedQueries:
        """The plans of the plain queries these indexes answer (``rookdb.query.prepared``)."""
        registry = self.registry
        prepared = self._prepared
        if prepared is None or prepared.registry is not registry:  # reopened: the plans name the old indexes
            prepared = self._prepared = PreparedQueries(registry)
        return prepared

    def start(self) -> None:
        """Open every index file (each resumes from its checkpoint) and start following the change feed."""
        if self._registry is None:
            self._registry = IndexRegistry.open(self._database.directory / INDEXES_FOLDER, self._database.storage,
                                                self._config, self._vector_sources)
            self._registry.refresh = self.reconcile
            self.reconcile()
        self._loop.start()

    def reconcile(self) -> None:
        """Bring the index files in line with the record's static definitions (at start, and when
        another node changed them)."""
        if self._registry is None:
            return
        with self._definitions:
            record, _ = self._database.record()
            wanted = record.get(RECORD_INDEXES) or {}
            for name, wire in wanted.items():
                try:
                    definition = StaticIndexDefinition.compile(wire)
                except RookError as error:  # e.g. written by a version that understood more
                    logger.error("Index %s cannot be compiled and is not served: %s", name, error.message)
                    continue
                self.registry.put(definition)
                self.registry.set_state(definition.name, _state(definition))
            known = {name.lower() for name in wanted}
            for name in self.registry.static_definitions():
                if name.lower() not in known:
                    logger.info("Deleting index %s: the database record no longer defines it", name)
                    self.registry.delete(name)

    def wake(self) -> None:
        self._loop.wake()

    # ---------------------------------------------------------------- embeddings migrations

    def follow_migrations(self, building: Mapping[str, int], serving: Mapping[str, int]) -> None:
        """Static indexes that load a migrating task's embeddings are built again side by side from its
        new generation (``SideBySide.follow_migrations``)."""
        if self._registry is not None:
            with self._definitions:
                self._registry.side_by_side.follow_migrations(building, serving)
            self.wake()

    def staged_ready(self, task: str, generation: int) -> bool:
        """True when the static indexes loading task ``task`` have caught up on ``generation``."""
        if self._registry is None:
            return False
        with self._definitions:
            return self._registry.side_by_side.staged_ready(task, generation)

    def promote_staged(self, task: str, generation: int) -> None:
        """The task swapped to ``generation``: its static indexes' side-by-side builds take over."""
        if self._registry is not None:
            with self._definitions:
                self._registry.side_by_side.promote_staged(task, generation)

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop after the batch in flight (it commits with its checkpoint), then close the files."""
        stopped = self._loop.stop(drain=drain, timeout=timeout)
        if stopped and self._registry is not None:
            self._registry.close()
            self._registry = None
        return stopped

    def _step(self) -> bool:
        return self.registry.step()

    # ---------------------------------------------------------------- what clients read and do

    def put_indexes(self, definitions: Sequence[Any], *, javascript_only: bool = False) -> list[dict[str, Any]]:
        """Define static indexes (``PutIndexesOperation``): all compile or none is applied; each is then
        created, left as it is (identical), updated in place or rebuilt side by side. ``javascript_only``:
        a non-admin's request, where C# indexes are refused (RavenDB's rule: C# is compiled code)."""
        if javascript_only:
            for item in definitions:
                wire = normalize_definition(item)
                if not str(wire["Type"]).startswith("JavaScript"):
                    raise AuthorizationError(f"Index {wire['Name']} is a C# index but was sent through a "
                                             "non-admin endpoint using REST api, this is not allowed.")
        compiled = [StaticIndexDefinition.compile(item) for item in definitions]
        names = [definition.name.lower() for definition in compiled]
        if len(set(names)) != len(names):
            raise BadRequestError("The same index is defined twice in one request")
        changed = []
        for definition in compiled:
            existing = self.registry.get(definition.name)
            if existing is None:
                changed.append(definition.name)
            elif not isinstance(existing.definition, StaticIndexDefinition):
                raise BadRequestError(f"Index '{definition.name}' is an auto-index and cannot be redefined")
            elif existing.definition.differs_from(definition.wire):
                changed.append(definition.name)

        def change(record: dict[str, Any]) -> None:
            indexes = record.setdefault(RECORD_INDEXES, {})
            for definition in compiled:
                for key in [key for key in indexes if key.lower() == definition.name.lower()]:
                    del indexes[key]
                indexes[definition.name] = definition.wire

        with self._definitions:
            _, etag = self._database.update_record(change)
            for definition in compiled:
                self.registry.put(definition)
                self.registry.set_state(definition.name, _state(definition))
        for name in changed:
            self._notify(name, "IndexAdded")
        self.wake()
        return [{"Index": definition.name, "RaftCommandIndex": etag} for definition in compiled]

    def has_changed(self, data: Any) -> bool:
        """``IndexHasChangedOperation``: would putting this definition change the index?"""
        wire = normalize_definition(data)
        existing = self.registry.get(str(wire["Name"]))
        if existing is None or not isinstance(existing.definition, StaticIndexDefinition):
            return True
        return existing.definition.differs_from(wire)

    def set_state(self, name: str, state: str) -> None:
        """``Normal`` (enable) or ``Disabled`` (disable), kept in the record for static indexes."""
        self._update_static(name, "State", state)
        self.registry.set_state(name, state)
        if state == "Disabled":
            self._notify(name, "IndexDemotedToDisabled")
        self.wake()

    def set_lock_mode(self, names: Sequence[str], mode: str) -> None:
        for name in names:
            self._update_static(name, "LockMode", mode)
            self._notify(name, "LockModeChanged")

    def set_priority(self, names: Sequence[str], priority: str) -> None:
        for name in names:
            self._update_static(name, "Priority", priority)
            self._notify(name, "PriorityChanged")

    def _update_static(self, name: str, key: str, value: str) -> None:
        index = self._named(name)
        definition = index.definition
        if not isinstance(definition, StaticIndexDefinition):
            return
        wire = {**definition.wire, key: value}

        def change(record: dict[str, Any]) -> None:
            indexes = record.setdefault(RECORD_INDEXES, {})
            for known in [known for known in indexes if known.lower() == definition.name.lower()]:
                del indexes[known]
            indexes[definition.name] = wire

        with self._definitions:
            self._database.update_record(change)
            self.registry.put(StaticIndexDefinition(wire, definition.maps, definition.reduce))

    def pause(self, name: str | None) -> None:
        """``StopIndexingOperation`` (every index) or ``StopIndexOperation`` (one); not kept across restarts."""
        paused = [self._named(name).name] if name is not None else [known for known, _ in self.registry.named_indexes()]
        self.registry.pause(name)
        for known in paused:
            self._notify(known, "IndexPaused")

    def resume(self, name: str | None) -> None:
        if name is not None:
            self._named(name)
        self.registry.resume(name)
        self.wake()

    def status(self) -> dict[str, Any]:
        """``GetIndexingStatusOperation``."""
        registry = self.registry
        indexes = [{"Name": name, "Status": "Disabled" if index.store.state == "Disabled"
                    else "Running" if registry.running(index) else "Paused"}
                   for name, index in registry.named_indexes()]
        return {"Status": "Paused" if registry.all_paused else "Running", "Indexes": indexes}

    def listing(self, vector_fields: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        """Every index as ``GET /indexes`` lists it. ``vector_fields`` are the vector service's listing:
        an auto-index with vector fields takes their options, staleness and errors from it."""
        vectors = {entry["Name"].lower(): entry for entry in vector_fields}
        listed = []
        storage = self._database.storage
        for index, described in self._read_each(self.registry.named_indexes(),
                                                lambda index, name: definition_json(index, storage, name)):
            extra = vectors.get(index.name.lower())
            if extra is not None:
                described["Fields"].update({name: options for name, options in extra["Fields"].items()
                                            if options.get("Vector") is not None})
                described["IsStale"] = described["IsStale"] or extra["IsStale"]
                described["ErrorsCount"] += extra["ErrorsCount"]
                described["Errors"] += extra["Errors"]
            listed.append(described)
        return listed

    def statistics(self, name: str | None) -> list[dict[str, Any]]:
        """``IndexStats`` of one index, or of every index."""
        named = [(name, self._named(name))] if name is not None else self.registry.named_indexes()
        storage = self._database.storage
        return [stats for _, stats in self._read_each(named, lambda index, listed: stats_json(index, storage, listed))]

    def errors(self, names: Sequence[str], vector_fields: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        """``IndexErrors`` of the named indexes (every index when ``names`` is empty)."""
        named = [(name, self._named(name)) for name in names] if names else self.registry.named_indexes()
        vectors = {entry["Name"].lower(): entry for entry in vector_fields}
        found = []
        for index, listed in self._read_each(named, errors_json):
            listed["Errors"] += vectors.get(index.name.lower(), {}).get("Errors", [])
            found.append(listed)
        return found

    def _read_each(self, named: Sequence[tuple[str, Index]], read: Callable[[Index, str], _Read]
                   ) -> list[tuple[Index, _Read]]:
        """``read(index, listed name)`` of each index while it is held open. An index retired meanwhile
        (a caught-up side-by-side build took its place, or it was deleted) is read again as the registry
        has it under that name now, or left out once it is gone."""
        found: list[tuple[Index, _Read]] = []
        for listed, first in named:
            index: Index | None = first
            while index is not None:
                try:
                    with index.in_use():
                        found.append((index, read(index, listed)))
                    break
                except IndexRetiredError:
                    index = self.registry.successor(listed, index)
        return found

    def terms(self, name: str, field: str, after: str, limit: int) -> list[str]:
        """``GetTermsOperation``: the distinct terms of one field of the index called ``name``."""

        def read(index: Index, _: str) -> list[str]:
            with index.store.reader() as reader:
                return reader.field_terms(field, after, limit)

        found = self._read_each([(name, self._named(name))], read)
        if not found:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
        return found[0][1]

    def clear_errors(self, names: Sequence[str]) -> None:
        for index in [self._named(name) for name in names] if names else self.registry.indexes():
            index.store.clear_errors()

    def delete(self, name: str) -> None:
        """Delete an index (``IndexNotFoundError`` when there is none), and its definition from the record."""

        def change(record: dict[str, Any]) -> bool:
            indexes = record.get(RECORD_INDEXES) or {}
            doomed = [key for key in indexes if key.lower() == name.lower()]
            for key in doomed:
                del indexes[key]
            return bool(doomed)

        with self._definitions:
            existing = self.registry.get(name)
            if existing is not None and isinstance(existing.definition, StaticIndexDefinition):
                self._database.update_record(change)
            if not self.registry.delete(name):
                raise IndexNotFoundError(f"Index '{name}' does not exist.")
        self._notify(existing.name if existing is not None else name, "IndexRemoved")

    def reset(self, name: str) -> None:
        """Rebuild an index from the start of the change feed."""
        if self.registry.reset(name) is None:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
        self.wake()

    def _notify(self, name: str, kind: str) -> None:
        """Tell the changes API's index watchers (RavenDB's ``IndexChangeTypes``)."""
        self._database.changes.index_changed(name, kind)

    def _named(self, name: str) -> Index:
        """The index called ``name`` (``IndexNotFoundError`` when there is none)."""
        index = self.registry.get(name)
        if index is None:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
        return index


def _state(definition: StaticIndexDefinition) -> str:
    return "Disabled" if definition.wire.get("State") == "Disabled" else "Normal"
