"""Shared fixtures: a real rookdb server on loopback and official-client document stores."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer

NORTHWIND_JSON = Path(__file__).resolve().parents[1] / "rookdb" / "documents" / "samples" / "northwind.json"

EMBEDDING_API_KEY = "hf_rookdb_tests"

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def embedding_server() -> Iterator[EmbeddingServer]:
    """One local embedding server per test process (every provider protocol, real embeddings)."""
    with EmbeddingServer(api_key=EMBEDDING_API_KEY) as running:
        yield running


@pytest.fixture
def srv(embedding_server: EmbeddingServer) -> Iterator[EmbeddingServer]:
    """The shared embedding server with its faults, counters and API key reset around the test."""
    embedding_server.reset()
    embedding_server.api_key = EMBEDDING_API_KEY
    yield embedding_server
    embedding_server.reset()
    embedding_server.api_key = EMBEDDING_API_KEY


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    """One rookdb server per test process, on a free loopback port, over a temporary data dir."""
    with BackgroundServer(tmp_path_factory.mktemp("rookdb-data")) as running:
        yield running


StoreFactory = Callable[..., DocumentStore]


@pytest.fixture
def new_store(server: BackgroundServer) -> Iterator[StoreFactory]:
    """Create a fresh database and hand out an initialized official-client store for it."""
    stores: list[DocumentStore] = []

    def make(name: str | None = None) -> DocumentStore:
        database = name or f"db{next(_database_numbers)}"
        store = DocumentStore(urls=[server.url], database=database)
        store.initialize()
        store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(database)))
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(new_store: StoreFactory) -> DocumentStore:
    return new_store()


@pytest.fixture(scope="session")
def northwind(server: BackgroundServer) -> Iterator[DocumentStore]:
    """A read-only Northwind database loaded through the sample-data endpoint."""
    import httpx

    store = DocumentStore(urls=[server.url], database="Northwind")
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("Northwind")))
    response = httpx.post(f"{server.url}/databases/Northwind/studio/sample-data", timeout=60)
    response.raise_for_status()
    yield store
    store.close()
