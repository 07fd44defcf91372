"""Fixtures for the RQL tests: Northwind in memory, and the official client writing RQL offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.indexes.registry import IndexRegistry
from tests.support import northwind
from tests.support.indexing import StorageSource, indexed_documents
from tests.support.plain_products import write_products


@pytest.fixture(scope="session")
def northwind_docs() -> list[dict[str, Any]]:
    return northwind.documents()


@pytest.fixture
def northwind_source() -> northwind.MemorySource:
    """Northwind as a ``QuerySource`` in memory (the root ``northwind`` fixture is the sample on a server)."""
    return northwind.MemorySource(northwind.documents())


@pytest.fixture(scope="module")
def client_session() -> Iterator[Any]:
    """A session of the official client against no server: building a query needs no network."""
    from ravendb import DocumentStore

    store = DocumentStore(urls=["http://127.0.0.1:9"], database="rql")
    store.conventions.disable_topology_updates = True
    store.initialize()
    try:
        with store.open_session() as session:
            yield session
    finally:
        store.close()


@pytest.fixture
def products_index(tmp_path: Path) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    """``tests.support.plain_products``' products in SQLite, with an index registry over them."""
    with indexed_documents(tmp_path, write_products) as opened:
        yield opened
