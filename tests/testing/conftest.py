"""One local embedding server per test process for the server's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rookdb.testing.embedding_server import EmbeddingServer

API_KEY = "test-key-123"


@pytest.fixture(scope="session")
def server() -> Iterator[EmbeddingServer]:
    with EmbeddingServer(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def srv(server: EmbeddingServer) -> Iterator[EmbeddingServer]:
    server.reset()
    server.api_key = API_KEY
    yield server
    server.reset()
    server.api_key = API_KEY
