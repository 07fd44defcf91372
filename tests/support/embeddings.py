"""Embeddings work in tests: the local embedding server's API key, connection strings to it, and the
embeddings sections a worker stored."""

from __future__ import annotations

from typing import Any

import orjson

from rookdb.ai.connection_strings import AiConnectionString, HuggingFaceSettings
from rookdb.ai.embeddings.layout import sections_of
from rookdb.storage.base import DocumentStorage
from rookdb.testing.embedding_server import EmbeddingServer

EMBEDDING_API_KEY = "hf_rookdb_tests"
HF_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def tei_connection_string(server: EmbeddingServer, identifier: str = "local-tei",
                          max_concurrent: int | None = None, model: str = HF_MODEL,
                          **extensions: Any) -> AiConnectionString:
    """A Hugging Face connection string pointed at the local server (detected as TEI, which serves
    any model name); ``extensions`` sets rookdb's own fields (``query_prompt`` ...)."""
    return AiConnectionString(
        name=identifier, identifier=identifier, model_type="TextEmbeddings",
        settings=HuggingFaceSettings(api_key=EMBEDDING_API_KEY, model=model, endpoint=server.url,
                                     embeddings_max_concurrent_batches=max_concurrent), **extensions)


def tei_inputs(server: EmbeddingServer) -> list[str]:
    """Every text the local server received on its TEI route, in order."""
    return [text for request in server.requests("tei-embed") for text in request.body["inputs"]]


def tei_requests(server: EmbeddingServer) -> int:
    stats = server.stats().get("tei-embed")
    return stats.requests if stats else 0


def sections(storage: DocumentStorage, source_id: str) -> dict[str, dict[str, Any]]:
    document = storage.get(f"embeddings/{source_id}")
    return {} if document is None else sections_of(orjson.loads(document.body))
