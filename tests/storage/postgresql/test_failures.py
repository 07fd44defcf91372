"""psycopg's errors become rookdb's at the adapter: unreachable → 503 (clients fail over), the rest → 500."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pg

from rookdb.errors import DatabaseDoesNotExistError, StorageError, StorageUnavailableError
from rookdb.server.runner import free_port
from rookdb.storage.postgresql import PostgresBackend
from rookdb.storage.postgresql._failures import storage_failure
from rookdb.testing.postgres_server import PostgresServer


@pytest.mark.parametrize(("error", "expected"), [
    (psycopg.OperationalError("connection refused"), StorageUnavailableError),
    (pg.ConnectionTimeout("connection timeout expired"), StorageUnavailableError),
    (psycopg.InterfaceError("the connection is closed"), StorageUnavailableError),
    (pg.ConnectionFailure(), StorageUnavailableError),
    (pg.AdminShutdown(), StorageUnavailableError),
    (pg.CrashShutdown(), StorageUnavailableError),
    (pg.CannotConnectNow(), StorageUnavailableError),
    (pg.TooManyConnections(), StorageUnavailableError),
    (pg.UndefinedTable(), DatabaseDoesNotExistError),
    (pg.InvalidSchemaName(), DatabaseDoesNotExistError),
    (pg.DiskFull(), StorageError),
    (pg.DeadlockDetected(), StorageError),
    (pg.UniqueViolation(), StorageError),
    (psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), StorageError),
    (psycopg.ProgrammingError("syntax"), StorageError),
], ids=lambda value: type(value).__name__)
def test_every_psycopg_error_maps_to_the_most_specific_rookdb_error(error: psycopg.Error, expected: type) -> None:
    mapped = storage_failure("read", error, "Orders")
    assert type(mapped) is expected
    assert mapped.status_code == {StorageUnavailableError: 503, DatabaseDoesNotExistError: 503}.get(expected, 500)


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StorageUnavailableError, match=r"127\.0\.0\.1"):
        PostgresBackend(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", connect_timeout=1)


@pytest.mark.slow
def test_a_stopped_server_is_unavailable_and_a_restarted_one_serves_again(database_name: str) -> None:
    with PostgresServer() as server:
        backend = PostgresBackend(server.url, connect_timeout=1)
        storage = backend.create(database_name)
        with storage.write() as tx:
            tx.put("items/1", "Items", {"@metadata": {"@collection": "Items"}})
        server.stop()
        server.start()
        # The connection the pool held died with the old server: it is replaced, not reported.
        assert storage.get("items/1") is not None
        server.stop()
        with pytest.raises(StorageUnavailableError):
            storage.get("items/1")
        with pytest.raises(StorageUnavailableError), storage.write():
            pass  # pragma: no cover - the write cannot begin
        server.start()
        with storage.write() as tx:
            tx.put("items/2", "Items", {"@metadata": {"@collection": "Items"}})
        assert storage.count() == 2
        backend.close()
