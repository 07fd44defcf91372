"""Shared fixtures: a real rookdb server on loopback and official-client document stores."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
from ravendb import DocumentStore

from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.stores import StoreFactory, open_store

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


@pytest.fixture
def new_store(server: BackgroundServer) -> Iterator[StoreFactory]:
    """Create a fresh database and hand out an initialized official-client store for it."""
    stores: list[DocumentStore] = []

    def make(name: str | None = None) -> DocumentStore:
        store = open_store(server.url, name or f"db{next(_database_numbers)}")
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
    store = open_store(server.url, "Northwind")
    response = httpx.post(f"{server.url}/databases/Northwind/studio/sample-data", timeout=60)
    response.raise_for_status()
    yield store
    store.close()
