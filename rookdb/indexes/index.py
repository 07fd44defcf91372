"""One index kept current from the storage change feed, usable by queries while it indexes.

An index applies the changes of its collection in batches, each batch and its checkpoint in one
transaction (``IndexStore.apply``). The background service calls :meth:`Index.catch_up`; a query may
call it too (to read its own writes, or while it waits for a new index), since batches are
serialized by the index's lock and each one starts from the checkpoint the previous one left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from rookdb.errors import StorageError
from rookdb.indexes import plan
from rookdb.indexes.definitions import IndexDefinition
from rookdb.indexes.reader import IndexReader, SnapshotPosition
from rookdb.indexes.store import IndexStore
from rookdb.inline import acquire, refuse_to_wait
from rookdb.storage.base import Change, DocumentStorage
from rookdb.wire import format_timestamp

__all__ = ["DEFAULT_BATCH_SIZE", "Index", "IndexRetiredError", "IndexSnapshot"]

DEFAULT_BATCH_SIZE = 2048
"""Changes applied per transaction: large enough to amortise a commit, small enough to report progress."""


class IndexRetiredError(StorageError):
    """The index was deleted or replaced while a caller still held it."""


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """One query's snapshot of an index: its reader, whether changes were left to apply, and the
    checkpoint and last batch's time of what it reads (``ResultEtag``, ``IndexTimestamp``)."""

    reader: IndexReader
    stale: bool
    checkpoint: int
    timestamp: str

    @classmethod
    def of(cls, reader: IndexReader, position: SnapshotPosition, stale: bool) -> IndexSnapshot:
        return cls(reader, stale, position.checkpoint, position.last_indexed)


@dataclass(frozen=True)
class _Batch:
    changes: Sequence[Change]
    position: int
    more: bool


class Index:
    """An index: its definition and store, its progress over the change feed, who is using it."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._users = 0
        self._holders: dict[int, int] = {}
        """How many times each thread (by ident) is inside: a thread already inside may enter again."""
        self._retired = False
        self._users_lock = threading.Lock()
        self._idle = threading.Condition(self._users_lock)
        """Notified when a user leaves a retired index; ``enter`` and ``leave`` take its lock directly."""
        self._last_query: float | None = None

    @property
    def definition(self) -> IndexDefinition:
        return self.store.definition

    @property
    def name(self) -> str:
        return self.store.definition.name

    @property
    def last_query_time(self) -> str | None:
        """When a query last read the index (RavenDB's timestamp format), None before any."""
        return None if self._last_query is None else format_timestamp(datetime.fromtimestamp(self._last_query, UTC))

    @property
    def checkpoint(self) -> int:
        return self.store.checkpoint

    # ---------------------------------------------------------------- use and retirement

    @contextmanager
    def in_use(self) -> Iterator[Index]:
        """Keep the index open for the duration (``retire`` waits for every user to leave)."""
        self.enter()
        try:
            yield self
        finally:
            self.leave()

    def enter(self) -> None:
        """Start using the index (``IndexRetiredError`` once retired); every ``enter`` needs its ``leave``.

        A thread already inside may enter again after retirement began: ``retire`` waits for that thread
        to leave anyway, and refusing it would make the thread wait on the retirement that waits on it
        (a query on a static vector index looks its index up again for the vector clause while a swap
        renames that index's file)."""
        thread = threading.get_ident()
        with self._users_lock:
            if self._retired and thread not in self._holders:
                raise IndexRetiredError(f"Index '{self.name}' was deleted")
            self._users += 1
            self._holders[thread] = self._holders.get(thread, 0) + 1

    def leave(self) -> None:
        thread = threading.get_ident()
        with self._users_lock:
            self._users -= 1
            entered = self._holders.get(thread, 0)
            if entered > 1:
                self._holders[thread] = entered - 1
            else:
                self._holders.pop(thread, None)
            if self._retired:  # only ``retire`` waits for users to leave
                self._idle.notify_all()

    def retire(self, *, delete: bool) -> None:
        """Stop accepting users, wait for the current ones, then close (and with ``delete``, remove) it."""
        with self._idle:
            self._retired = True
            while self._users:
                self._idle.wait()
        with self._lock:
            if delete:
                self.store.destroy()
            else:
                self.store.close()

    @property
    def retired(self) -> bool:
        return self._retired

    def ensure_sorted(self, key: plan.SortKey) -> None:
        """Build the sorted order a query wants to walk (once per field and form)."""
        if key.field != plan.ID_FIELD:
            self.store.ensure_sorted(key.field, key.form)

    def reader(self) -> IndexReader:
        """A snapshot of the index for one query (hold ``in_use`` around it): a ``with`` block, or one statement."""
        self.mark_queried()
        return self.store.reader()

    def mark_queried(self) -> None:
        """Note a query on the index (``LastQueryingTime``), also one it listed but did not read."""
        self._last_query = time.time()  # formatted when asked for: a query should not pay for it

    @contextmanager
    def snapshot(self, storage: DocumentStorage | None = None, lag: int = 0, *,
                 stale: bool = False) -> Iterator[IndexSnapshot]:
        """A snapshot for one query (hold ``in_use`` around it), with where it stands.

        With ``storage``, whether the index is current is read in the snapshot itself, when the index
        attached the database's file: the common case, nothing to apply, costs no other read. Otherwise
        (or when changes are pending) at most ``lag`` changes are applied first, as
        ``catch_up_small_lag`` does. Without ``storage``, ``stale`` is what the caller found.
        """
        if storage is not None:
            with self.reader() as reader:
                position = reader.position()
                if position.current:
                    yield IndexSnapshot.of(reader, position, False)
                    return
            stale = not self.catch_up_small_lag(storage, lag)
        with self.reader() as reader:
            yield IndexSnapshot.of(reader, reader.position(), stale)

    # ---------------------------------------------------------------- following the change feed

    def is_stale(self, storage: DocumentStorage) -> bool:
        """True while a change to the indexed documents has not been applied yet."""
        position = self.store.checkpoint
        if position >= storage.last_etag():
            return False
        return any(storage.changes_since(position, 1, collection) for collection in _followed(self.definition))

    def catch_up(self, storage: DocumentStorage, limit: int = DEFAULT_BATCH_SIZE) -> bool:
        """Apply the next batch of at most ``limit`` changes; True while more are waiting.

        The batch that makes the index current may also merge its full-text segments
        (``IndexStore.merge_full_text``), outside the lock: queries that find nothing to apply go on.
        """
        with self._lock:
            if self._retired:
                return False
            batch = self._next_batch(storage, limit)
            if batch is not None:
                self.store.apply(batch.changes, batch.position, storage)
        if batch is not None and not batch.more:
            self.store.merge_full_text()
        return batch is not None and batch.more

    def catch_up_small_lag(self, storage: DocumentStorage, limit: int) -> bool:
        """Apply what is pending if it is at most ``limit`` changes; True when the index is then current."""
        with acquire(self._lock, "the index is being written"):
            if self._retired:
                return False
            batch = self._next_batch(storage, limit + 1)
            if batch is None:
                return True
            if batch.more:
                return False
            refuse_to_wait("catching the index up")
            self.store.apply(batch.changes, batch.position, storage)
            return True

    def wait_until_current(self, storage: DocumentStorage, timeout: float) -> bool:
        """Index in this thread until current or ``timeout`` seconds passed; True when current.

        The background service may be indexing too: whoever holds the lock applies the next batch.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if not self.is_stale(storage):
                return True
            if remaining <= 0 or self._retired:
                return False
            self.catch_up(storage)

    def _next_batch(self, storage: DocumentStorage, limit: int) -> _Batch | None:
        position = self.store.checkpoint
        snapshot = storage.last_etag()  # read first: later writes are picked up by the next batch
        if position >= snapshot:
            return None
        collections = _followed(self.definition)
        if len(collections) == 1:
            changes = storage.changes_since(position, limit, collections[0])
            if len(changes) >= limit:  # truncated: complete only up to its last etag
                return _Batch(changes, changes[-1].etag, True)
            return _Batch(changes, snapshot, False)
        # Several collections: each feed is complete up to its own last etag when it was cut short.
        merged: list[Change] = []
        bound: int | None = None
        for collection in collections:
            part = storage.changes_since(position, limit, collection)
            merged.extend(part)
            if len(part) >= limit:
                bound = part[-1].etag if bound is None else min(bound, part[-1].etag)
        merged.sort(key=lambda change: change.etag)
        if bound is not None:
            return _Batch([change for change in merged if change.etag <= bound], bound, True)
        return _Batch(merged, snapshot, False)


def _followed(definition: IndexDefinition) -> tuple[str | None, ...]:
    """The collections to read changes from: every document when one of them is None."""
    collections = definition.collections()
    if None in collections:
        return (None,)
    lowered: dict[str, str | None] = {}
    for collection in collections:
        lowered.setdefault(str(collection).lower(), collection)
    return tuple(lowered.values())
