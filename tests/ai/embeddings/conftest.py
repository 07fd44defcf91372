"""Storage over a temporary SQLite file and the local embedding server, shared by the embeddings tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings, HuggingFaceSettings
from rookdb.storage.sqlite import SqliteStorage
from rookdb.testing.embedding_server import EmbeddingServer
from tests.conftest import EMBEDDING_API_KEY

API_KEY = EMBEDDING_API_KEY
HF_MODEL = "sentence-transformers/all-MiniLM-L6-v2"



@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


def tei_connection_string(server: EmbeddingServer, identifier: str = "local-tei",
                          max_concurrent: int | None = None) -> AiConnectionString:
    """A Hugging Face connection string pointed at the local server (detected as TEI)."""
    return AiConnectionString(
        name=identifier, identifier=identifier, model_type="TextEmbeddings",
        settings=HuggingFaceSettings(api_key=API_KEY, model=HF_MODEL, endpoint=server.url,
                                     embeddings_max_concurrent_batches=max_concurrent))


def embedded_connection_string(identifier: str = "embedded") -> AiConnectionString:
    return AiConnectionString(name=identifier, identifier=identifier, model_type="TextEmbeddings",
                              settings=EmbeddedSettings())


def tei_requests(server: EmbeddingServer) -> int:
    stats = server.stats().get("tei-embed")
    return stats.requests if stats else 0
