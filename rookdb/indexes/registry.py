"""A database's indexes: one file each under its ``indexes`` folder, found, created, merged and retired.

Dynamic queries find their auto-index as RavenDB's matcher does: an index of the collection that
covers every field the query uses (the most up to date, then the widest). When none does, a new
auto-index is made over the union of the query's fields and those of the collection's other
auto-indexes; once it has caught up, the indexes it covers are deleted (RavenDB's side-by-side
merge). Auto-indexes that also hold vector fields (``extra_names``) are matched by exact name only
and never merged, as RavenDB keeps vector auto-indexes apart from the others.

Static indexes are defined by name (:meth:`IndexRegistry.put`). Redefining one builds the new version
side by side, as ``ReplacementOf/<name>`` in a file of that name, and swaps it in once it has caught
up: the file is renamed to the index's own and the old one deleted (RavenDB's side-by-side indexing;
``side_by_side.py``, which also builds the indexes an embeddings task's migration needs).
A definition that gives the same entries (lock mode, priority, state changed) updates the index in place.

The background service calls :meth:`IndexRegistry.step`: one batch per index, then swaps and
retirements. Disabled indexes are not fed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rookdb.errors import IndexNotFoundError, RookError, StorageError
from rookdb.indexes.auto_map_reduce import Aggregation, AutoMapReduceDefinition, GroupByField
from rookdb.indexes.auto_matching import auto_map, auto_map_reduce, auto_maps_of, best_covering
from rookdb.indexes.definitions import AutoIndexField, AutoMapDefinition, IndexDefinition, definition_from_json
from rookdb.indexes.files import COMPANION_SUFFIX, remove_files
from rookdb.indexes.index import DEFAULT_BATCH_SIZE, Index, IndexRetiredError, IndexSnapshot
from rookdb.indexes.side_by_side import REPLACEMENT_PREFIX, SideBySide
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.indexes.static.vectors import VectorSources
from rookdb.indexes.store import IndexStore
from rookdb.indexes.vector.auto_indexes import DEFAULT_SAVE_INTERVAL_SECONDS
from rookdb.inline import refuse_to_wait
from rookdb.storage.base import DocumentStorage

__all__ = [
    "DEFAULT_ERROR_BACKOFF_SECONDS",
    "DEFAULT_INLINE_CATCH_UP",
    "DEFAULT_NEW_INDEX_WAIT_SECONDS",
    "INDEX_FILE_SUFFIX",
    "IndexRegistry",
    "IndexingConfig",
    "QueryIndex",
]

INDEX_FILE_SUFFIX = ".index.sqlite3"
DISABLED = "Disabled"
DEFAULT_NEW_INDEX_WAIT_SECONDS = 15.0
"""How long the query that creates an auto-index waits for it (RavenDB waits for new auto-indexes too)."""
DEFAULT_INLINE_CATCH_UP = 1024
"""A query applies at most this many pending changes itself, so a client reads its own writes."""
DEFAULT_ERROR_BACKOFF_SECONDS = 5.0

_COMPLETE_CACHE_SIZE = 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SLUG_LENGTH = 48

logger = logging.getLogger("rookdb.indexing")


@dataclass(frozen=True)
class IndexingConfig:
    """How indexes are fed and how long queries wait for them."""

    batch_size: int = DEFAULT_BATCH_SIZE
    inline_catch_up: int = DEFAULT_INLINE_CATCH_UP
    new_index_wait: float = DEFAULT_NEW_INDEX_WAIT_SECONDS
    error_backoff: float = DEFAULT_ERROR_BACKOFF_SECONDS
    save_interval: float = DEFAULT_SAVE_INTERVAL_SECONDS
    """How often an idle index saves what it keeps in memory (static vector graphs; closing saves too)."""


@dataclass(frozen=True)
class QueryIndex:
    """The index a query reads, whether the query created it, and whether it is current: None when
    the query's snapshot decides, applying up to ``lag`` changes of ``storage`` (``Index.snapshot``)."""

    index: Index
    created: bool
    stale: bool | None
    storage: DocumentStorage | None = None
    lag: int = 0

    def snapshot(self) -> AbstractContextManager[IndexSnapshot]:
        """The query's snapshot of the index, and where it stands."""
        if self.stale is None:
            return self.index.snapshot(self.storage, self.lag)
        return self.index.snapshot(stale=self.stale)


class _IndexTable(dict[str, Index]):
    """The registry's indexes by lower-cased name, counting its changes (``version``): what a query
    learnt from the table (``IndexRegistry._complete``) holds while the version is the same."""

    version = 0

    def __setitem__(self, key: str, value: Index) -> None:
        self.version += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.version += 1
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.version += 1
        return super().pop(key, *default)

    def clear(self) -> None:
        self.version += 1
        super().clear()

    def setdefault(self, key: str, default: Index) -> Index:
        self.version += 1
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.version += 1
        super().update(*args, **kwargs)

    def popitem(self) -> tuple[str, Index]:
        self.version += 1
        return super().popitem()


def index_file_name(name: str) -> str:
    """A file-system-safe file name, unique per index name (case-insensitively)."""
    slug = _UNSAFE.sub("_", name).strip("_.-")[:_SLUG_LENGTH]
    digest = hashlib.blake2b(name.lower().encode(), digest_size=6).hexdigest()
    return f"{slug or 'index'}-{digest}{INDEX_FILE_SUFFIX}"


class IndexRegistry:
    """The indexes of one database. Thread-safe."""

    def __init__(self, directory: Path, storage: DocumentStorage, config: IndexingConfig | None = None,
                 vector_sources: VectorSources | None = None) -> None:
        """Use :meth:`open`. ``vector_sources`` serve static indexes' vector fields."""
        self.directory = directory
        self._storage = storage
        self.config = config or IndexingConfig()
        self._vector_sources = vector_sources
        self._indexes = _IndexTable()
        # A dynamic query's auto-indexes that cover it, by collection and fields, with the table's version
        # they were found at: a repeated query shape skips the matching while no index came or went.
        self._complete: dict[tuple[str | None, tuple[AutoIndexField, ...]], tuple[int, list[Index]]] = {}
        self._lock = threading.RLock()
        self._retry_at: dict[str, float] = {}
        self._paused: set[str] = set()
        self._all_paused = False
        self.side_by_side = SideBySide(self._indexes, self._lock, storage, self._index,
                                       lambda name: directory / index_file_name(name))
        """Redefinitions and embeddings migrations built beside the indexes they replace."""
        self.refresh: Callable[[], None] | None = None
        """Set by the owner: bring the static definitions in line with the database record."""

    @classmethod
    def open(cls, directory: Path, storage: DocumentStorage, config: IndexingConfig | None = None,
             vector_sources: VectorSources | None = None) -> IndexRegistry:
        """Open every index file in ``directory``; each resumes from its checkpoint. Files that cannot
        be read (an interrupted creation, damage) are removed: auto-indexes are recreated on demand."""
        registry = cls(directory, storage, config, vector_sources)
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in directory.glob(f"*{INDEX_FILE_SUFFIX}.deleted"):
            leftover.unlink(missing_ok=True)
        for folder in directory.glob(f"*{INDEX_FILE_SUFFIX}{COMPANION_SUFFIX}"):
            # Its index file is gone: the file's deletion was interrupted.
            if not folder.with_name(folder.name.removesuffix(COMPANION_SUFFIX)).exists():
                shutil.rmtree(folder, ignore_errors=True)
        for path in sorted(directory.glob(f"*{INDEX_FILE_SUFFIX}")):
            try:
                store = IndexStore.open(path)
            except StorageError as error:
                logger.error("Removing unreadable index file %s: %s", path.name, error.message)
                remove_files(path)
                continue
            name = store.definition.name
            registry._indexes[(REPLACEMENT_PREFIX + name if store.replacement else name).lower()] = \
                registry._index(store)
        registry.side_by_side.finish_interrupted()
        return registry

    # ---------------------------------------------------------------- listing

    def indexes(self) -> list[Index]:
        """Every index, by name."""
        with self._lock:
            return sorted(self._indexes.values(), key=lambda index: index.name.lower())

    def get(self, name: str) -> Index | None:
        with self._lock:
            return self._indexes.get(name.lower())

    def successor(self, name: str, retired: Index) -> Index | None:
        """The index under ``name`` that replaced ``retired`` (None once the name is gone)."""
        return self.side_by_side.successor(name, retired)

    def static_definitions(self) -> dict[str, StaticIndexDefinition]:
        """The static indexes' definitions by name (side-by-side builds: their new definition)."""
        found: dict[str, StaticIndexDefinition] = {}
        for _, index in self.named_indexes():
            if isinstance(index.definition, StaticIndexDefinition):
                found[index.name] = index.definition
        return found

    def pause(self, name: str | None = None) -> None:
        """Stop feeding one index, or every index (``StopIndexingOperation``), until ``resume``."""
        with self._lock:
            if name is None:
                self._all_paused = True
            else:
                self._paused.add(name.lower())

    def resume(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._all_paused = False
                self._paused.clear()
            else:
                self._paused.discard(name.lower())

    def running(self, index: Index) -> bool:
        """True when the index is fed: not disabled and not paused."""
        return (index.store.state != DISABLED and not self._all_paused
                and index.name.lower() not in self._paused)

    @property
    def all_paused(self) -> bool:
        return self._all_paused

    def named_indexes(self) -> list[tuple[str, Index]]:
        """Every index under the name it is listed by (``ReplacementOf/<name>`` for side-by-side builds)."""
        with self._lock:
            listed = [(REPLACEMENT_PREFIX + index.name if SideBySide.is_build(key) else index.name,
                       index) for key, index in self._indexes.items()]
        return sorted(listed, key=lambda item: item[0].lower())

    @contextmanager
    def named(self, name: str, *, wait: float | None = None) -> Iterator[QueryIndex]:
        """The index called ``name`` for a query (``from index 'name'``), held open for it;
        ``IndexNotFoundError`` when there is none. ``wait`` as in :meth:`for_query`."""
        def find() -> tuple[Index, bool]:
            index = self._indexes.get(name.lower())
            if index is None:
                raise IndexNotFoundError(f"Index '{name}' does not exist.")
            return index, False

        try:
            index, _ = self.side_by_side.hold(find)
        except IndexNotFoundError:
            if self.refresh is None:
                raise
            self.refresh()  # another node may have defined it a moment ago: the record is the truth
            index, _ = self.side_by_side.hold(find)
        try:
            if index.store.state == DISABLED:
                yield QueryIndex(index, False, stale=index.is_stale(self._storage))
            elif wait is not None:
                yield QueryIndex(index, False, stale=not index.wait_until_current(self._storage, wait))
            else:
                yield self._small_lag(index, False)
        finally:
            index.leave()

    # ---------------------------------------------------------------- queries

    @contextmanager
    def for_query(self, collection: str | None, fields: Iterable[AutoIndexField], extra_names: Iterable[str] = (),
                  *, wait: float | None = None) -> Iterator[QueryIndex]:
        """The auto-index answering a dynamic query, held open for the query.

        ``wait`` is the client's wait for non-stale results (None: it did not ask); the query that
        creates an index waits up to ``new_index_wait`` anyway, and any other applies a small lag
        itself (``inline_catch_up``) so a client reads its own writes.
        """
        required = list(fields)
        extras = sorted(set(extra_names))

        def find() -> tuple[Index, bool]:
            return self._exact(collection, required, extras) if extras else self._match_or_merge(collection, required)

        index, created = self.side_by_side.hold(find)
        try:
            yield self._caught_up(index, created, wait)
        finally:
            index.leave()

    def listed_for_query(self, collection: str | None, fields: Iterable[AutoIndexField],
                         extra_names: Iterable[str]) -> Index | None:
        """The auto-index ``for_query`` would hold for these fields and vector fields, noted as queried
        but neither held nor caught up; None when there is none yet (``for_query`` creates it). For a
        query of vector clauses alone: the vector index answers it, this one only lists it."""
        definition = AutoMapDefinition(collection, list(fields), sorted(set(extra_names)))
        index = self._indexes.get(definition.name.lower())
        if index is None or index.retired:
            return None
        index.mark_queried()
        return index

    @contextmanager
    def for_group_query(self, collection: str | None, group_by: Iterable[GroupByField],
                        aggregations: Iterable[Aggregation], *, wait: float | None = None) -> Iterator[QueryIndex]:
        """The auto map-reduce index answering a dynamic ``group by`` query, held open for the query: one
        grouping by exactly these fields and computing every aggregation, or a new one extended with the
        aggregations of the others grouping so (those are deleted once it has caught up). ``wait`` as in
        :meth:`for_query`."""
        keys, wanted = list(group_by), list(aggregations)

        def find() -> tuple[Index, bool]:
            family = self._grouping(collection, keys)
            complete = [index for index in family if auto_map_reduce(index).covers(wanted)]
            if complete:
                return max(complete, key=lambda each: (each.checkpoint, len(auto_map_reduce(each).aggregations))), False
            known = [item for each in family for item in auto_map_reduce(each).aggregations]
            merged = AutoMapReduceDefinition(collection, keys, [*wanted, *known])
            found = self._indexes.get(merged.name.lower())
            return (found, False) if found is not None else (self._add(merged), True)

        index, created = self.side_by_side.hold(find)
        try:
            yield self._caught_up(index, created, wait)
        finally:
            index.leave()

    def _caught_up(self, index: Index, created: bool, wait: float | None) -> QueryIndex:
        """The index for a query once brought as current as the query may wait for."""
        if wait is not None or created:
            refuse_to_wait("waiting for the index")
            timeout = wait if wait is not None else self.config.new_index_wait
            return QueryIndex(index, created, stale=not index.wait_until_current(self._storage, timeout))
        return self._small_lag(index, created)

    def _small_lag(self, index: Index, created: bool) -> QueryIndex:
        """The index for a query that applies a small lag itself (``inline_catch_up``): in the query's
        snapshot when the index reads the database's file (it sees the database's last etag there),
        otherwise now."""
        if index.store.documents_file is not None:
            return QueryIndex(index, created, stale=None, storage=self._storage, lag=self.config.inline_catch_up)
        current = index.catch_up_small_lag(self._storage, self.config.inline_catch_up)
        return QueryIndex(index, created, stale=not current)

    def _grouping(self, collection: str | None, group_by: list[GroupByField]) -> list[Index]:
        """The auto map-reduce indexes of ``collection`` grouping by exactly ``group_by``."""
        wanted = None if collection is None else collection.lower()
        return [index for index in self._indexes.values()
                if isinstance(index.definition, AutoMapReduceDefinition)
                and (None if index.definition.collection is None else index.definition.collection.lower()) == wanted
                and index.definition.same_group_by(group_by)]

    def _exact(self, collection: str | None, fields: list[AutoIndexField], extras: list[str]) -> tuple[Index, bool]:
        definition = AutoMapDefinition(collection, fields, extras)
        existing = self._indexes.get(definition.name.lower())
        if existing is not None:
            return existing, False
        return self._add(definition), True

    @property
    def version(self) -> int:
        """Counts the changes to the table of indexes (an index added, replaced or removed)."""
        return self._indexes.version

    def kept_covering(self, collection: str | None, fields: tuple[AutoIndexField, ...]) -> Index | None:
        """The auto-index ``covering`` answers ``fields`` with for as long as ``version`` stays the same:
        the only one covering them, when ``covering`` found it at this version; None otherwise."""
        known = self._complete.get((None if collection is None else collection.lower(), fields))
        return known[1][0] if known is not None and known[0] == self._indexes.version and len(known[1]) == 1 else None

    def covering(self, collection: str | None, fields: Iterable[AutoIndexField]) -> Index | None:
        """The existing auto-index ``for_query`` would answer ``fields`` with (no ``extra_names``),
        entered: the caller leaves it (``Index.leave``). None when ``for_query`` would create one."""
        required = list(fields)
        known = self._complete.get((None if collection is None else collection.lower(), tuple(required)))
        if known is not None and known[0] == self._indexes.version and len(known[1]) == 1:
            # Nothing came or went since the table was last matched: no need to take its lock.
            try:
                known[1][0].enter()
                return known[1][0]
            except IndexRetiredError:
                pass  # being swapped: wait for its successor as ``for_query`` does

        def find() -> tuple[Index, bool]:
            complete = self._covering(collection, required)
            if not complete:
                raise _NotCovered
            return best_covering(complete), False

        try:
            return self.side_by_side.hold(find)[0]
        except _NotCovered:
            return None

    def _covering(self, collection: str | None, fields: list[AutoIndexField]) -> list[Index]:
        """The collection's auto-indexes covering ``fields`` (under the lock)."""
        key = (None if collection is None else collection.lower(), tuple(fields))
        known = self._complete.get(key)
        if known is not None and known[0] == self._indexes.version:
            return known[1]
        complete = [index for index in self._mergeable(collection) if auto_map(index).covers(fields)]
        if len(self._complete) >= _COMPLETE_CACHE_SIZE:
            self._complete.clear()
        self._complete[key] = (self._indexes.version, complete)
        return complete

    def _match_or_merge(self, collection: str | None, fields: list[AutoIndexField]) -> tuple[Index, bool]:
        complete = self._covering(collection, fields)
        if complete:
            return best_covering(complete), False
        family = self._mergeable(collection)
        merged = AutoMapDefinition(collection, [*fields, *(f for index in family for f in auto_map(index).fields)])
        existing = self._indexes.get(merged.name.lower())
        if existing is not None:  # e.g. the same name written with other casing of the collection
            return existing, False
        return self._add(merged), True

    def _mergeable(self, collection: str | None) -> list[Index]:
        return auto_maps_of(self._indexes.values(), collection)

    # ---------------------------------------------------------------- definitions

    def create(self, definition: IndexDefinition) -> Index:
        """Add an index for ``definition``, replacing any index of that name."""
        with self._lock:
            previous = self._indexes.pop(definition.name.lower(), None)
        if previous is not None:
            previous.retire(delete=True)
        with self._lock:
            return self._add(definition)

    def put(self, definition: IndexDefinition) -> Index:
        """Define the index ``definition.name``: new, unchanged, changed in place (same entries), or
        rebuilt side by side; returns the index that will hold the definition."""
        name = definition.name
        replacement_key = SideBySide.key(name)
        doomed: list[Index] = []
        with self._lock:
            existing = self._indexes.get(name.lower())
            building = self._indexes.get(replacement_key)
            target: Index | None = None
            if existing is not None and existing.definition.same_entries(definition):
                target = existing
                if building is not None and building.store.staged_for is None:
                    doomed.append(self._indexes.pop(replacement_key))
            elif building is not None and building.definition.same_entries(definition):
                target = building
            elif building is not None:
                doomed.append(self._indexes.pop(replacement_key))
        for index in doomed:
            index.retire(delete=True)
        if target is not None:
            if target.definition != definition:
                previous = target.definition
                if isinstance(definition, StaticIndexDefinition) and isinstance(previous, StaticIndexDefinition):
                    definition.vector_sources = self._vector_sources
                    definition.vectors = previous.vectors  # same entries: the same vectors
                target.store.redefine(definition)
            return target
        with self._lock:
            if existing is None:
                return self._add(definition)
            store = IndexStore.create(self.directory / index_file_name(REPLACEMENT_PREFIX + name), definition,
                                      replacement=True)
            index = self._index(store)
            self._indexes[replacement_key] = index
            return index

    def _index(self, store: IndexStore) -> Index:
        """An ``Index`` over ``store``, its static definition given the vector sources (a migration's
        build: those reading the task's new generation)."""
        store.documents_file = self._storage.documents_file
        definition = store.definition
        if isinstance(definition, StaticIndexDefinition):
            staged = store.staged_for
            sources = self._vector_sources
            definition.vector_sources = (sources.staged(staged.task, staged.generation)
                                         if sources is not None and staged is not None else sources)
        return Index(store)

    def _add(self, definition: IndexDefinition) -> Index:
        refuse_to_wait("creating an index")  # and waiting for it, as the query that creates one does
        store = IndexStore.create(self.directory / index_file_name(definition.name), definition)
        index = self._index(store)
        self._indexes[definition.name.lower()] = index
        return index

    def set_state(self, name: str, state: str) -> Index:
        """``Normal`` or ``Disabled`` (a disabled index is not fed; its side-by-side build neither)."""
        with self._lock:
            index = self._indexes.get(name.lower())
            building = self._indexes.get(SideBySide.key(name))
        if index is None:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
        for each in (index, building):
            if each is not None and each.store.state != state:
                each.store.set_state(state)
        return index

    def delete(self, name: str) -> bool:
        """Delete an index (and its side-by-side build) and its file, after the queries reading it finish;
        False if there is none."""
        with self._lock:
            index = self._indexes.pop(name.lower(), None)
            building = self._indexes.pop(SideBySide.key(name), None)
        if building is not None:
            building.retire(delete=True)
        if index is None:
            return building is not None
        index.retire(delete=True)
        return True

    def reset(self, name: str) -> Index | None:
        """Rebuild an index from scratch (same definition, empty file, checkpoint 0)."""
        with self._lock:
            index = self._indexes.pop(name.lower(), None)
        if index is None:
            return None
        index.retire(delete=True)
        with self._lock:  # a fresh copy: the old one holds what it built in memory (vector graphs)
            return self._add(definition_from_json(index.definition.to_json()))

    # ---------------------------------------------------------------- background

    def step(self) -> bool:
        """Apply one batch to every index that lags, then delete auto-indexes a caught-up one covers;
        True while some index has more to do."""
        busy = False
        now = time.monotonic()
        for index in self.indexes():
            if not self.running(index):
                continue
            if self._retry_at.get(index.name, 0.0) > now:
                busy = True
                continue
            try:
                with index.in_use():
                    more = index.catch_up(self._storage, self.config.batch_size)
                    if not more:  # idle: save what it keeps in memory (static vector graphs), now and then
                        index.store.persist(older_than=self.config.save_interval)
                    busy = more or busy
            except IndexRetiredError:
                continue
            except RookError as error:  # e.g. the disk is full: keep the checkpoint, retry later
                logger.error("Indexing %s failed: %s", index.name, error.message)
                self._retry_at[index.name] = now + self.config.error_backoff
                busy = True
        self.side_by_side.swap_caught_up()
        self._retire_surpassed()
        return busy

    def _retire_surpassed(self) -> None:
        surpassed: list[Index] = []
        with self._lock:
            for index in list(self._indexes.values()):
                definition = index.definition
                if isinstance(definition, AutoMapReduceDefinition):
                    for other in self._grouping(definition.collection, list(definition.group_by)):
                        if other is not index and auto_map_reduce(other).covers(definition.aggregations) \
                                and not other.is_stale(self._storage):
                            surpassed.append(index)
                            del self._indexes[index.name.lower()]
                            break
                    continue
                if not isinstance(definition, AutoMapDefinition) or definition.extra_names:
                    continue
                for other in self._mergeable(definition.collection):
                    if other is not index and auto_map(other).covers(definition.fields) \
                            and not other.is_stale(self._storage):
                        surpassed.append(index)
                        del self._indexes[index.name.lower()]
                        break
        for index in surpassed:
            logger.info("Deleting auto-index %s: a merged auto-index covers it", index.name)
            index.retire(delete=True)

    def close(self) -> None:
        """Close every index file (waits for queries reading them)."""
        with self._lock:
            indexes = list(self._indexes.values())
            self._indexes.clear()
        for index in indexes:
            index.retire(delete=False)


class _NotCovered(Exception):
    """No auto-index covers a query's fields yet (``IndexRegistry.covering``)."""
