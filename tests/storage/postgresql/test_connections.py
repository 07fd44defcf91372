"""The node's PostgreSQL connections: bounded, reused, and replaced when they die."""

from __future__ import annotations

import psycopg
import pytest

from rookdb.errors import StorageError, StorageUnavailableError
from rookdb.storage.postgresql._connections import Pool, run
from rookdb.testing.postgres_server import PostgresServer


def backend_pid(pool: Pool) -> int:
    return int(run(pool, lambda connection: connection.execute("SELECT pg_backend_pid()").fetchall()[0][0], "read"))


def test_connections_are_reused_and_bounded(postgres_server: PostgresServer) -> None:
    pool = Pool(postgres_server.url, max_connections=2, connect_timeout=0.2)
    try:
        assert backend_pid(pool) == backend_pid(pool)
        with pool.connection(), pool.connection(), pytest.raises(StorageUnavailableError, match="busy"):
            pool.getconn()
        assert backend_pid(pool) > 0  # the slots came back
    finally:
        pool.close()
    with pytest.raises(StorageError, match="closed"):
        pool.getconn()


def test_a_connection_killed_while_idle_is_replaced_not_reported(postgres_server: PostgresServer) -> None:
    pool = Pool(postgres_server.url, max_connections=3, connect_timeout=1)
    try:
        with pool.connection() as first, pool.connection() as second:
            pids = [first.info.backend_pid, second.info.backend_pid]
        with psycopg.connect(postgres_server.url, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) pid", (pids,))
        assert backend_pid(pool) not in pids
    finally:
        pool.close()
