"""The local embedding server, one per test process, reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rookdb.testing.embedding_server import EmbeddingServer
from tests.ai.providers.support import API_KEY


@pytest.fixture(scope="session")
def embedding_server() -> Iterator[EmbeddingServer]:
    with EmbeddingServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def srv(embedding_server: EmbeddingServer) -> Iterator[EmbeddingServer]:
    """The shared server, with faults, counters and the API key reset around each test."""
    embedding_server.reset()
    embedding_server.api_key = API_KEY
    yield embedding_server
    embedding_server.reset()
    embedding_server.api_key = API_KEY

