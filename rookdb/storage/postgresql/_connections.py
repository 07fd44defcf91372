"""The node's pool of PostgreSQL connections, and running work on it.

A pooled connection can die while idle (PostgreSQL restarted, a failover moved the address): the
first statement on it fails with the connection ``broken``. That says nothing about the server
now, so the pool is checked (dead connections replaced) and the work runs once more; an error
after that is real and reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from rookdb.storage.postgresql._failures import storage_failure

__all__ = ["Connection", "Pool", "begin_locked", "finish", "open_pool", "run"]

Connection = psycopg.Connection[TupleRow]
Pool = ConnectionPool[Connection]
T = TypeVar("T")


def open_pool(url: str, *, max_connections: int, connect_timeout: float) -> Pool:
    """Autocommit connections: a read is one statement, a write opens its own transaction."""
    pool: Pool = ConnectionPool(
        url, min_size=1, max_size=max_connections, timeout=connect_timeout, open=False, name="rookdb",
        kwargs={"autocommit": True, "connect_timeout": max(1, round(connect_timeout))})
    try:
        pool.open(wait=True, timeout=connect_timeout)
    except psycopg.Error:
        pool.close()
        raise
    return pool


def run(pool: Pool, work: Callable[[Connection], T], action: str, database: str | None = None) -> T:
    """``work`` on a pooled connection; psycopg's errors become rookdb's."""
    for attempt in (1, 2):
        connection: Connection | None = None
        try:
            with pool.connection() as connection:
                return work(connection)
        except psycopg.Error as error:
            if attempt == 1 and connection is not None and connection.broken:
                pool.check()
                continue
            raise storage_failure(action, error, database) from error
    raise AssertionError("unreachable")  # pragma: no cover


def begin_locked(pool: Pool, lock: str, database: str) -> tuple[Connection, TupleRow | None]:
    """A connection in a new transaction that ran ``lock`` (its first statement) and got its row.

    The caller commits or rolls back and gives the connection back with ``pool.putconn``.
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
                pool.check()
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
