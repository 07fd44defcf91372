"""How a node hears of other nodes' writes: PostgreSQL's LISTEN/NOTIFY, with a slow sweep behind it.

Every write that moves a database's change feed or record sends ``NOTIFY <catalog>_feed, '<schema>'``
in its transaction, so the notification arrives when (and only if) it commits. One connection per
node listens and asks the storage of that schema to follow its feed. Notifications are lost while
that connection is down, so after reconnecting, and every ``SWEEP_SECONDS`` anyway, every open
storage looks for itself.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import psycopg

from rookdb.errors import RookError

__all__ = ["RETRY_SECONDS", "SWEEP_SECONDS", "FeedListener"]

SWEEP_SECONDS = 2.0
RETRY_SECONDS = 0.5
_WAIT_SECONDS = 0.25

logger = logging.getLogger("rookdb.storage.feed")

Follow = Callable[[], None]


class FeedListener:
    """Calls ``follow`` of the storage registered under a schema when a write there commits."""

    def __init__(self, url: str, channel: str, *, connect_timeout: float) -> None:
        self._url = url
        self._channel = channel
        self._connect_timeout = max(1, math.ceil(connect_timeout))
        self._followers: dict[str, Follow] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, schema: str, follow: Follow) -> None:
        with self._lock:
            self._followers[schema] = follow
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(target=self._run, name=f"rookdb-feed-{self._channel}", daemon=True)
                self._thread.start()

    def unregister(self, schema: str) -> None:
        with self._lock:
            self._followers.pop(schema, None)

    def close(self) -> None:
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_WAIT_SECONDS * 8)

    def _follow(self, schemas: list[str] | None) -> None:
        with self._lock:
            chosen = [follow for schema, follow in self._followers.items() if schemas is None or schema in schemas]
        for follow in chosen:
            try:
                follow()
            except RookError as error:  # PostgreSQL unavailable: the next sweep tries again
                logger.debug("Following a change feed failed: %s", error.message)
            except Exception:
                logger.exception("Following a change feed failed")

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=self._connect_timeout) as connection:
                    connection.execute(f"LISTEN {self._channel}")
                    self._listen(connection)
            except psycopg.Error as error:
                logger.debug("Listening for writes failed, retrying: %s", error)
                self._stopped.wait(RETRY_SECONDS)

    def _listen(self, connection: psycopg.Connection[tuple[object, ...]]) -> None:
        self._follow(None)  # what was written while nobody listened
        swept = time.monotonic()
        while not self._stopped.is_set():
            schemas = sorted({notify.payload for notify in connection.notifies(timeout=_WAIT_SECONDS)})
            if schemas:
                self._follow(schemas)
            if time.monotonic() - swept >= SWEEP_SECONDS:
                self._follow(None)
                swept = time.monotonic()
                connection.execute("SELECT 1")  # a dead connection shows here, not in notifies()
