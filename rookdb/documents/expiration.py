"""Document expiration: documents whose ``@metadata.@expires`` has passed are deleted in the background.

The expirer follows the change feed from a stored position and keeps an index of the documents
that carry ``@expires`` (in memory while it runs, and in the storage state as a fixed number of
buckets keyed by a hash of the document id, so that recording a change rewrites one small value
instead of searching a large table), so each run looks only at what changed and at what is due. It
runs every ``Expiration.DeleteFrequencyInSec`` seconds, and yields to the requests being answered
before each page of the feed and each batch of deletions: a run after a minute of writes (a model
migration rewrites every embeddings document and cache entry) is work that can wait.
Embeddings cache entries (``@embeddings-cache``) rely on it to go away when they expire.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, Foreground, LoopingService
from rookdb.documents.database import Database
from rookdb.errors import RookError
from rookdb.storage.base import WriteTransaction
from rookdb.storage.metadata import expires_of
from rookdb.wire import format_timestamp, parse_timestamp

__all__ = ["DocumentExpirer"]

logger = logging.getLogger("rookdb.documents.expiration")

_POSITION_KEY = "expiration/position"
_BUCKET_PREFIX = "expiration/due/"
_BUCKETS = 256
_FEED_PAGE = 256
# Index changes are written once per run, or every this many changed entries on a long catch-up.
_UPDATES_PER_WRITE = 50_000
_DELETE_BATCH = 512

Entry = tuple[str, datetime]
"""A document's stored id and expiry."""


def _bucket_of(key: str) -> str:
    return f"{_BUCKET_PREFIX}{zlib.crc32(key.encode()) % _BUCKETS:03d}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DocumentExpirer:
    """A database service (a ``BackgroundService``) deleting expired documents every
    ``Expiration.DeleteFrequencyInSec``; ``tick`` does one run (tests call it directly)."""

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = _utc_now,
                 foreground: Foreground | None = None) -> None:
        self._database = database
        self._clock = clock
        self._foreground = foreground
        self._service = LoopingService(f"rookdb-expiration-{database.name}", self._run_once,
                                       idle_interval=float(database.settings["Expiration.DeleteFrequencyInSec"]),
                                       start_idle=True, log=logger)
        self._tick_lock = threading.Lock()
        self._due: dict[str, Entry] | None = None
        """Lower-cased id → (id, expiry) of every document with ``@expires``; loaded on first run."""
        self._buckets: dict[str, dict[str, list[str]]] = {}
        """The stored buckets as last written (name → lower-cased id → [id, expiry text])."""

    @property
    def name(self) -> str:
        return f"document expiration of {self._database.name}"

    def start(self) -> None:
        self._service.start()

    def wake(self) -> None:
        """Nothing to do: expiry is a matter of time, checked every ``Expiration.DeleteFrequencyInSec``."""

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Finish the batch of deletions in progress, then stop."""
        return self._service.stop(drain=drain, timeout=timeout)

    def _run_once(self) -> bool:
        try:
            self.tick()
        except RookError as error:  # a storage failure: logged without a traceback, retried next time
            logger.warning("Document expiration in %s failed: %s", self._database.name, error.message)
        return False

    def tick(self) -> int:
        """Index what changed since the last run, then delete what has expired; returns the deletions."""
        with self._tick_lock:
            self._follow_feed()
            return self._delete_expired()

    def _load(self) -> dict[str, Entry]:
        if self._due is None:
            due: dict[str, Entry] = {}
            buckets: dict[str, dict[str, list[str]]] = {}
            for name, bucket in self._database.storage.states(_BUCKET_PREFIX).items():
                kept = buckets[name] = {}
                for key, value in (bucket.items() if isinstance(bucket, dict) else ()):
                    moment = parse_timestamp(value[1]) if isinstance(value, list) and len(value) == 2 else None
                    if moment is not None:
                        due[key] = (str(value[0]), moment)
                        kept[key] = [str(value[0]), str(value[1])]
            self._due, self._buckets = due, buckets
        return self._due

    def _store(self, tx: WriteTransaction, changes: dict[str, Entry | None]) -> Callable[[], None]:
        """Rewrite the buckets ``changes`` touch, inside ``tx``; returns what applies them in memory once
        ``tx`` has committed (a failed write leaves the in-memory index as stored). Only the changed
        entries are looked at: a run after a migration's writes must not walk every entry held."""
        staged: dict[str, dict[str, list[str]]] = {}
        for key, entry in changes.items():
            name = _bucket_of(key)
            bucket = staged.get(name)
            if bucket is None:
                bucket = staged[name] = dict(self._buckets.get(name, {}))
            if entry is None:
                bucket.pop(key, None)
            else:
                bucket[key] = [entry[0], format_timestamp(entry[1])]
        for name, bucket in staged.items():
            tx.set_state(name, bucket)

        def apply() -> None:
            due = self._load()
            for key, entry in changes.items():
                if entry is None:
                    due.pop(key, None)
                else:
                    due[key] = entry
            self._buckets.update(staged)

        return apply

    def _follow_feed(self) -> None:
        due = self._load()
        storage = self._database.storage
        stored = storage.get_state(_POSITION_KEY)
        start = position = stored if isinstance(stored, int) else 0
        updates: dict[str, Entry | None] = {}
        while not self._service.stopping:
            self._pace()
            changes = storage.expiries_since(position, _FEED_PAGE)
            for change in changes:
                moment = parse_timestamp(change.expires)
                key = change.id.lower()
                if moment is not None:
                    updates[key] = (change.id, moment)
                elif key in due or key in updates:
                    updates[key] = None
            if changes:
                position = changes[-1].etag
            if position != start and (not changes or len(updates) >= _UPDATES_PER_WRITE):
                with storage.write() as tx:
                    apply = self._store(tx, updates)
                    tx.set_state(_POSITION_KEY, position)
                apply()
                updates, start = {}, position
            if not changes:
                return

    def _pace(self) -> None:
        if self._foreground is not None:
            self._foreground.yield_to()

    def _delete_expired(self) -> int:
        due = self._load()
        now = self._clock()
        expired = sorted((moment, key) for key, (_, moment) in due.items() if moment <= now)
        deleted = 0
        for start in range(0, len(expired), _DELETE_BATCH):
            if self._service.stopping:
                break
            batch = [key for _, key in expired[start : start + _DELETE_BATCH]]
            self._pace()
            with self._database.storage.write() as tx:
                for key in batch:
                    doc_id = due[key][0]
                    current = tx.get(doc_id)
                    if current is not None and self._still_expired(current.body, now):
                        deleted += int(self._database.delete_in(tx, doc_id))
                apply = self._store(tx, dict.fromkeys(batch))
            apply()
        return deleted

    @staticmethod
    def _still_expired(body: bytes, now: datetime) -> bool:
        # The document may have been given a later @expires since it was indexed.
        moment = parse_timestamp(expires_of(body))
        return moment is not None and moment <= now
