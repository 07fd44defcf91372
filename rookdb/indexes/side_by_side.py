"""Side-by-side builds: an index rebuilt as ``ReplacementOf/<name>`` while the old one serves, then swapped in.

Two things start one: redefining a static index with other entries (:meth:`IndexRegistry.put`), which
swaps once the build has caught up, and an embeddings task's migration, whose builds read the task's new
generation of embeddings and swap when the task does. A swap registers the build under the index's
name at once, retires the old index once its queries finish, then renames the build's file to the
index's own (:meth:`SideBySide.promote`). Meanwhile a caller that meets the build (retired while it is
renamed) waits for its successor (:meth:`SideBySide.hold`, :meth:`SideBySide.successor`), so the name
never goes missing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from rookdb.indexes.definitions import definition_from_json
from rookdb.indexes.files import move_files
from rookdb.indexes.index import Index, IndexRetiredError
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.indexes.store import IndexStore, StagedGeneration
from rookdb.inline import acquire, refuse_to_wait
from rookdb.storage.base import DocumentStorage

__all__ = ["REPLACEMENT_PREFIX", "SWAP_WAIT_SECONDS", "SideBySide"]

REPLACEMENT_PREFIX = "ReplacementOf/"
SWAP_WAIT_SECONDS = 30.0
"""Longest a caller waits for a swapped index's successor (it waits for the queries reading the old one)."""

logger = logging.getLogger("rookdb.indexing")


class SideBySide:
    """The side-by-side builds of one registry's indexes, sharing its index table and lock.

    ``indexes`` maps lower-cased names to indexes (builds under ``replacementof/<name>``); ``open_index``
    makes an ``Index`` of a store; ``file_of`` gives an index name's file.
    """

    def __init__(self, indexes: dict[str, Index], lock: threading.RLock, storage: DocumentStorage,
                 open_index: Callable[[IndexStore], Index], file_of: Callable[[str], Path]) -> None:
        self._indexes = indexes
        self._lock = lock
        self._storage = storage
        self._open_index = open_index
        self._file_of = file_of
        # (task, generation) pairs whose builds took over: a reload that read the record before that
        # swap still names the generation as building, and must not start a build of it again (a
        # query would wait for that build to take over, which no swap would ever do).
        self._swapped: set[tuple[str, int]] = set()

    @staticmethod
    def key(name: str) -> str:
        """The table key of ``name``'s side-by-side build."""
        return (REPLACEMENT_PREFIX + name).lower()

    @staticmethod
    def is_build(key: str) -> bool:
        return key.startswith(REPLACEMENT_PREFIX.lower())

    # ---------------------------------------------------------------- waiting for a swap

    def hold(self, find: Callable[[], tuple[Index, bool]]) -> tuple[Index, bool]:
        """The index ``find`` picks (under the lock), entered (``Index.enter``: the caller leaves it).
        One that is being put in place of another (a swap renames its file) is picked again until its
        successor is registered, so a query never sees the name missing."""
        deadline = time.monotonic() + SWAP_WAIT_SECONDS
        while True:
            with acquire(self._lock, "the index table is being changed"):
                index, created = find()
                try:
                    index.enter()
                    return index, created
                except IndexRetiredError:
                    if time.monotonic() > deadline:
                        raise
            refuse_to_wait("an index is being swapped")
            time.sleep(0.002)

    def successor(self, name: str, retired: Index) -> Index | None:
        """The index under ``name`` that replaced ``retired`` (None once the name is gone). A swap keeps
        the build's old object registered while it renames its file, so this waits for the new one."""
        deadline = time.monotonic() + SWAP_WAIT_SECONDS
        while True:
            with self._lock:
                current = self._indexes.get(name.lower())
            if current is not retired:
                return current
            if time.monotonic() > deadline:
                return None
            time.sleep(0.002)

    # ---------------------------------------------------------------- swapping

    def swap_caught_up(self) -> None:
        """Put redefinitions' builds that have caught up in place of the indexes they replace (a
        migration's builds wait for their task's swap instead)."""
        with self._lock:
            ready = [index for key, index in self._indexes.items()
                     if self.is_build(key) and not index.retired and index.store.staged_for is None]
        for index in ready:
            if not index.is_stale(self._storage):
                self.replace(index, "the new definition has caught up")

    def replace(self, index: Index, why: str) -> None:
        """Put the side-by-side build ``index`` in place of the index it replaces."""
        with self._lock:
            if self._indexes.get(self.key(index.name)) is not index:
                return  # another thread put it in place (a swap and a reload after a restart both may)
            # Queries go to the build at once (never a moment without the index); the old one finishes
            # the queries already reading it.
            old = self._indexes.get(index.name.lower())
            self._indexes.pop(self.key(index.name), None)
            self._indexes[index.name.lower()] = index
        if old is not None:
            logger.info("Index %s: %s; it replaces the old one", index.name, why)
            old.retire(delete=True)
        self.promote(index)

    def promote(self, index: Index) -> None:
        """Rename a build's file to the index's own name and register it under that name. The queries
        reading the build finish first, without the lock (they may need it); those arriving meanwhile
        wait for the renamed index (:meth:`hold`)."""
        name = index.name
        with self._lock:
            self._indexes.pop(self.key(name), None)
        index.retire(delete=False)
        path = index.store.path
        reopened = IndexStore.open(path)
        reopened.promoted()
        target = self._file_of(name)
        move_files(path, target)
        with self._lock:
            self._indexes[name.lower()] = self._open_index(IndexStore.open(target))

    def finish_interrupted(self) -> None:
        """Promote the builds whose index is gone: a swap was interrupted (at a start)."""
        for key in [key for key in self._indexes if self.is_build(key)]:
            if key[len(REPLACEMENT_PREFIX):] not in self._indexes:
                self.promote(self._indexes[key])

    # ---------------------------------------------------------------- embeddings migrations

    def follow_migrations(self, building: Mapping[str, int], serving: Mapping[str, int]) -> None:
        """Start one build per static index that loads a migrating task's embeddings.

        ``building``: task identifier → the generation its migration builds; ``serving``: → the
        generation serving queries. A build for a generation that now serves is put in place (its
        swap was interrupted); one for a generation that is neither is dropped (the migration was
        cancelled, replaced or its task deleted).
        """
        building = {task.lower(): generation for task, generation in building.items()}
        serving = {task.lower(): generation for task, generation in serving.items()}
        doomed: list[Index] = []
        promoted: list[Index] = []
        with self._lock:
            self._swapped = {(task, generation) for task, generation in self._swapped if task in serving}
            for key, index in list(self._indexes.items()):
                staged = index.store.staged_for
                if staged is None or not self.is_build(key):
                    continue
                if building.get(staged.task.lower()) == staged.generation \
                        and index.name.lower() in self._indexes:
                    continue
                if serving.get(staged.task.lower()) == staged.generation:
                    promoted.append(index)
                else:
                    doomed.append(self._indexes.pop(key))
        for index in doomed:
            index.retire(delete=True)
        for index in promoted:
            self.replace(index, "its embeddings task swapped to the generation it was built from")
        for task, generation in building.items():
            self.staged_ready(task, generation)

    def staged_ready(self, task: str, generation: int) -> bool:
        """True when every static index loading task ``task``'s embeddings has a build of ``generation``
        that has caught up; starts the builds missing (an index defined, or a redefinition swapped in,
        since the migration began)."""
        staged = StagedGeneration(task.lower(), generation)
        with self._lock:
            if (task.lower(), generation) in self._swapped:
                return True  # its builds took over already
            for index in self._loading(task):
                if self.key(index.name) not in self._indexes:
                    self._stage(index, staged)
            builds = [self._indexes.get(self.key(index.name)) for index in self._loading(task)]
        return all(build is not None and build.store.staged_for == (task.lower(), generation)
                   and not build.retired and not build.is_stale(self._storage) for build in builds)

    def promote_staged(self, task: str, generation: int) -> None:
        """The task swapped to ``generation``: put its builds in place."""
        with self._lock:
            self._swapped.add((task.lower(), generation))
            builds = [index for key, index in self._indexes.items()
                      if self.is_build(key) and index.store.staged_for == (task.lower(), generation)]
        for index in builds:
            self.replace(index, "its embeddings task swapped to the generation it was built from")

    def _loading(self, task: str) -> list[Index]:
        """The static indexes (not builds) whose maps load task ``task``'s embeddings."""
        return [index for key, index in self._indexes.items()
                if not self.is_build(key) and not index.retired
                and isinstance(index.definition, StaticIndexDefinition) and index.definition.loads_task(task)]

    def _stage(self, index: Index, staged: StagedGeneration) -> None:
        """Start the build of ``index`` reading ``staged``'s generation."""
        definition = definition_from_json(index.definition.to_json())  # its own vectors and sources
        store = IndexStore.create(self._file_of(REPLACEMENT_PREFIX + index.name), definition, staged_for=staged)
        self._indexes[self.key(index.name)] = self._open_index(store)
        logger.info("Index %s: building it side by side from generation %d of task %s", index.name,
                    staged.generation, staged.task)
