"""Every storage test runs on each backend: SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.storage.base import DocumentStorage, StorageBackend
from rookdb.storage.postgresql import PostgresBackend
from rookdb.storage.sqlite_backend import SqliteBackend

_names = itertools.count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageBackend]:
    opened: StorageBackend
    if request.param == "sqlite":
        opened = SqliteBackend(tmp_path / "databases")
    else:
        opened = PostgresBackend(request.getfixturevalue("postgres_server").url)
    yield opened
    opened.close()


@pytest.fixture
def database_name() -> str:
    """A name no other test uses (the PostgreSQL server is shared by the whole run)."""
    return f"Db{next(_names)}"


@pytest.fixture
def storage(backend: StorageBackend, database_name: str) -> Iterator[DocumentStorage]:
    opened = backend.create(database_name)
    yield opened
    opened.close()
