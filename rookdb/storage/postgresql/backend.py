"""Every rookdb database of a server (or of several nodes) in one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo

from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError
from rookdb.storage.base import DocumentStorage, Membership, StorageBackend
from rookdb.storage.metadata import new_database_id
from rookdb.storage.postgresql import _nodes
from rookdb.storage.postgresql._connections import Connection, Pool, run
from rookdb.storage.postgresql._failures import storage_failure
from rookdb.storage.postgresql._feed import FeedListener
from rookdb.storage.postgresql._schema import (
    CATALOG_LOCK,
    DEFAULT_CATALOG,
    LAYOUT_VERSION,
    catalog_tables,
    database_tables,
    feed_channel,
    is_catalog_name,
    schema_name,
)
from rookdb.storage.postgresql.storage import PostgresStorage

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "PostgresBackend"]

DEFAULT_MAX_CONNECTIONS = 10
DEFAULT_CONNECT_TIMEOUT = 5.0
T = TypeVar("T")


class PostgresBackend(StorageBackend):
    """A pool of connections to one PostgreSQL database, shared by every rookdb database in it."""

    def __init__(self, url: str, *, catalog: str = DEFAULT_CATALOG, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        if not is_catalog_name(catalog):
            raise ValueError(f"{catalog!r} is not a catalog schema name (a-z, 0-9, _; at most 40)")
        self.url = url
        self.catalog = catalog
        try:
            params = conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as error:
            raise storage_failure("parse the PostgreSQL URL", error) from error
        self._where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
        self._pool = Pool(url, max_connections=max_connections, connect_timeout=connect_timeout)
        self._channel = feed_channel(catalog)
        self._feed = FeedListener(url, self._channel, connect_timeout=connect_timeout)
        try:
            self._transaction(self._create_catalog, f"create the rookdb catalog in {self._where}")
        except BaseException:
            self._pool.close()
            raise

    def _create_catalog(self, connection: Connection) -> None:
        # Nodes starting together would race on CREATE SCHEMA IF NOT EXISTS; take turns.
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (CATALOG_LOCK,))
        connection.execute(catalog_tables(self.catalog))

    def _transaction(self, work: Callable[[Connection], T], action: str) -> T:
        def transaction(connection: Connection) -> T:
            with connection.transaction():
                return work(connection)
        return run(self._pool, transaction, action)

    def _catalog(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return run(self._pool, lambda connection: connection.execute(sql, params).fetchall(), "read the catalog")

    def names(self) -> list[str]:
        return [row[0] for row in self._catalog(f"SELECT name FROM {self.catalog}.databases ORDER BY lower_name")]

    def find(self, name: str) -> str | None:
        rows = self._catalog(f"SELECT name FROM {self.catalog}.databases WHERE lower_name = %s", (name.lower(),))
        return str(rows[0][0]) if rows else None

    def create(self, name: str) -> DocumentStorage:
        def create(connection: Connection) -> str:
            row = connection.execute(
                f"INSERT INTO {self.catalog}.databases (lower_name, name, layout_version) "
                "VALUES (%s, %s, %s) ON CONFLICT (lower_name) DO NOTHING RETURNING id",
                (name.lower(), name, LAYOUT_VERSION)).fetchone()
            if row is None:
                raise DatabaseAlreadyExistsError(f"Database '{name}' already exists!")
            schema = schema_name(self.catalog, row[0])
            connection.execute(database_tables(schema))
            connection.execute(f"INSERT INTO {schema}.head (database_id) VALUES (%s)", (new_database_id(),))
            return schema

        return PostgresStorage(self._pool, self._transaction(create, f"create database '{name}'"), name,
                               self._feed, self._channel)

    def open(self, name: str) -> DocumentStorage:
        rows = self._catalog(f"SELECT id, name FROM {self.catalog}.databases WHERE lower_name = %s",
                             (name.lower(),))
        if not rows:
            raise DatabaseDoesNotExistError(name)
        number, stored = rows[0]
        return PostgresStorage(self._pool, schema_name(self.catalog, number), stored, self._feed, self._channel)

    def drop(self, name: str) -> None:
        def drop(connection: Connection) -> None:
            row = connection.execute(
                f"DELETE FROM {self.catalog}.databases WHERE lower_name = %s RETURNING id",
                (name.lower(),)).fetchone()
            if row is None:
                raise DatabaseDoesNotExistError(name)
            connection.execute(f"DROP SCHEMA {schema_name(self.catalog, row[0])} CASCADE")

        self._transaction(drop, f"drop database '{name}'")

    def heartbeat(self, tag: str | None, url: str, incarnation: str, timeout: float) -> Membership:
        return self._transaction(
            lambda connection: _nodes.heartbeat(connection, self.catalog, tag, url, incarnation, timeout),
            "register this node")

    def leave(self, tag: str, incarnation: str) -> None:
        self._transaction(lambda connection: _nodes.leave(connection, self.catalog, tag, incarnation),
                          "unregister this node")

    def close(self) -> None:
        self._feed.close()
        self._pool.close()
