"""The node's PostgreSQL connections: a small pool that fails fast and recovers at once.

When PostgreSQL is down a request must fail quickly with 503 (so clients move to another node),
and the first request after it is back must succeed. So a connection is opened on demand by the
request that needs it — no background reconnection with growing back-offs — and at most
``max_connections`` are open. A pooled connection can die while idle (PostgreSQL restarted, a
failover moved the address): the first statement on it fails with the connection ``broken``,
which says nothing about the server now, so the idle connections are dropped and the work runs
once more on a fresh one; an error after that is real and reported.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from rookdb.errors import StorageError, StorageUnavailableError
from rookdb.storage.postgresql._failures import storage_failure

__all__ = ["Connection", "Pool", "begin_locked", "finish", "run"]

Connection = psycopg.Connection[TupleRow]
T = TypeVar("T")

# Idle connections older than this are not trusted (firewalls drop quiet connections).
_MAX_IDLE_SECONDS = 300.0


class Pool:
    """At most ``max_connections`` autocommit connections to ``url``, opened when needed."""

    def __init__(self, url: str, *, max_connections: int, connect_timeout: float) -> None:
        self.url = url
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: deque[tuple[Connection, float]] = deque()
        self._lock = threading.Lock()
        self._closed = False

    def getconn(self) -> Connection:
        """A connection for this thread alone; give it back with ``putconn``."""
        if self._closed:
            raise StorageError("The PostgreSQL connections are closed.")
        if not self._slots.acquire(timeout=self.connect_timeout):
            raise StorageUnavailableError(
                f"all {self.max_connections} PostgreSQL connections of this node stayed busy for "
                f"{self.connect_timeout:g}s (Storage.PostgreSql.MaxConnections)")
        try:
            with self._lock:
                while self._idle:
                    connection, since = self._idle.pop()
                    if time.monotonic() - since < _MAX_IDLE_SECONDS:
                        return connection
                    connection.close()
            return psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, math.ceil(self.connect_timeout)))
        except BaseException:
            self._slots.release()
            raise

    def putconn(self, connection: Connection) -> None:
        try:
            reusable = (not self._closed and not connection.broken and not connection.closed
                        and connection.info.transaction_status == TransactionStatus.IDLE)
            if reusable:
                with self._lock:
                    self._idle.append((connection, time.monotonic()))
            else:
                connection.close()
        finally:
            self._slots.release()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        connection = self.getconn()
        try:
            yield connection
        finally:
            self.putconn(connection)

    def drop_idle(self) -> None:
        """Close every idle connection: one was found dead, the others likely died with it."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
        for connection, _ in idle:
            connection.close()

    def close(self) -> None:
        self._closed = True
        self.drop_idle()


def run(pool: Pool, work: Callable[[Connection], T], action: str, database: str | None = None) -> T:
    """``work`` on a pooled connection; psycopg's errors become rookdb's."""
    for attempt in (1, 2):
        connection: Connection | None = None
        try:
            with pool.connection() as connection:
                return work(connection)
        except psycopg.Error as error:
            if attempt == 1 and connection is not None and connection.broken:
                pool.drop_idle()
                continue
            raise storage_failure(action, error, database) from error
    raise AssertionError("unreachable")  # pragma: no cover


def begin_locked(pool: Pool, lock: str, database: str) -> tuple[Connection, TupleRow | None]:
    """A connection in a new transaction that ran ``lock`` (its first statement) and got its row.

    The caller ends the transaction and gives the connection back with ``finish``.
    """
    for attempt in (1, 2):
        try:
            connection = pool.getconn()
        except psycopg.Error as error:
            raise storage_failure("begin a write", error, database) from error
        try:
            connection.execute("BEGIN")
            return connection, connection.execute(lock).fetchone()
        except psycopg.Error as error:
            broken = connection.broken
            finish(pool, connection, commit=False)
            if attempt == 1 and broken:
                pool.drop_idle()
                continue
            raise storage_failure("begin a write", error, database) from error
    raise AssertionError("unreachable")  # pragma: no cover


def finish(pool: Pool, connection: Connection, *, commit: bool) -> None:
    """End the transaction ``begin_locked`` opened and give the connection back.

    A failed commit raises (mapped); a rollback on a dead connection is moot and stays quiet.
    """
    try:
        if commit:
            try:
                connection.execute("COMMIT")
            except psycopg.Error as error:
                raise storage_failure("commit", error) from error
        elif not connection.broken:
            with contextlib.suppress(psycopg.Error):
                connection.execute("ROLLBACK")
    finally:
        pool.putconn(connection)
