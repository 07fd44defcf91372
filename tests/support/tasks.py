"""Embeddings tasks seen from outside: ``/ai/tasks/progress`` of a running server, and waiting on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from ravendb import DocumentStore
from ravendb.documents.operations.ai import (
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
)

from rookdb.server.runner import BackgroundServer


def http(server: BackgroundServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def progress_answer(server: BackgroundServer, store: DocumentStore) -> dict[str, Any]:
    """The whole ``GET /ai/tasks/progress`` answer of the store's database."""
    with http(server) as client:
        response = client.get(f"/databases/{store.database}/ai/tasks/progress")
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def progress(server: BackgroundServer, store: DocumentStore) -> list[dict[str, Any]]:
    """The progress entry of every task of the store's database."""
    results: list[dict[str, Any]] = progress_answer(server, store)["Results"]
    return results


def caught_up(server: BackgroundServer, store: DocumentStore) -> Callable[[], bool]:
    """A condition: every task is idle (or disabled) with every document processed."""
    def check() -> bool:
        entries = progress(server, store)
        return bool(entries) and all(
            e["State"] in ("Idle", "Disabled") and e["DocumentsProcessed"] == e["DocumentsTotal"] for e in entries)

    return check


def names_task(connection_string_name: str, name: str = "Names", identifier: str = "names",
               collection: str = "Products") -> EmbeddingsGenerationConfiguration:
    """A task embedding each document's ``Name`` whole (chunks and search terms up to 256 tokens)."""
    return EmbeddingsGenerationConfiguration(
        name=name, identifier=identifier, connection_string_name=connection_string_name, collection=collection,
        embeddings_path_configurations=[EmbeddingPathConfiguration(
            "Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 256))],
        chunking_options_for_querying=ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 256))


def create_notes_task(client: httpx.Client, task_name: str, endpoint: str, api_key: str,
                      task_extras: dict[str, Any] | None = None, **connection_extras: Any) -> None:
    """Over raw HTTP (``client`` based at ``/databases/{db}``): three notes, a Hugging Face connection
    string ``Local`` to ``endpoint`` (plus rookdb's fields in ``connection_extras``) and a task
    ``task_name`` embedding the notes' ``Text`` (plus ``task_extras``)."""
    for number in range(3):
        client.put("/docs", params={"id": f"notes/{number}"},
                   json={"Text": f"note {number}", "@metadata": {"@collection": "Notes"}}).raise_for_status()
    client.put("/admin/connection-strings", json={
        "Name": "Local", "Identifier": "local", "OpenAiSettings": None, "AzureOpenAiSettings": None,
        "OllamaSettings": None, "EmbeddedSettings": None, "GoogleSettings": None,
        "HuggingFaceSettings": {"ApiKey": api_key, "Model": "sentence-transformers/all-MiniLM-L6-v2",
                                "Endpoint": endpoint, "EmbeddingsMaxConcurrentBatches": None},
        "MistralAiSettings": None, "VertexSettings": None, "ModelType": "TextEmbeddings", "Type": "Ai",
        **connection_extras,
    }).raise_for_status()
    client.put("/admin/etl", params={"changeVector": "LastDocument"}, json={
        "EtlType": "EmbeddingsGeneration", "Name": task_name, "Identifier": "notes-embeddings",
        "ConnectionStringName": "Local", "Collection": "Notes",
        "EmbeddingsPathConfigurations": [{"Path": "Text", "ChunkingOptions": {
            "ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 512, "OverlapTokens": 0}}],
        "ChunkingOptionsForQuerying": {"ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 512,
                                       "OverlapTokens": 0},
        **(task_extras or {}),
    }).raise_for_status()
