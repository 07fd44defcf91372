"""Crash safety: ``rookdb serve`` is SIGKILLed again and again while an embeddings task runs; in the
end every document has exactly the embeddings it should, nothing orphaned, nothing duplicated.

The expected embeddings are recomputed here from the documents: chunks from the task's chunking
options, their cache entries by text hash, and each stored vector hash from the cached vector bytes.
A sample of cached vectors is compared with the embedded model run in this process.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.ai import chunking
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.embeddings.layout import cache_document_id, sections_of
from rookdb.ai.quantization import VectorEmbeddingType, text_hash, vector_hash
from rookdb.settings import Settings, env_name
from rookdb.storage.backends import open_backend
from rookdb.storage.base import DocumentStorage
from rookdb.testing.server_process import ServerProcess

DATABASE = "CrashTest"
TASK = "crash-task"
CONNECTION = "crash-embedded"
DOCUMENTS = 2000
KILLS = 5
EXTRA_DOCUMENTS = 600
SEED = int(os.environ.get("ROOKDB_CRASH_SEED", "20261124"))
# A loaded machine slows the task down; only a task that stops making progress fails the test.
STALL_TIMEOUT = 120.0
DESCRIPTION_OPTIONS = chunking.ChunkingOptions(chunking.ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, 24)
NAME_OPTIONS = chunking.ChunkingOptions()
WORDS = ("tea", "spicy", "black", "leaves", "lager", "northern", "hills", "oak", "barrels", "winters",
         "family", "business", "cheese", "bread", "glass", "bottles", "flavour", "finish", "chilled",
         "summer", "afternoon", "sweet", "bitter", "smooth", "roasted", "malt", "citrus", "honey", "vanilla",
         "pepper", "smoky", "fresh", "aged", "dry", "crisp", "golden", "amber", "dark", "rich", "light",
         "bold")


class Product:
    def __init__(self, Name: str, Description: str, Category: str) -> None:
        self.Name = Name
        self.Description = Description
        self.Category = Category


def product(n: int, rng: random.Random) -> Product:
    # Mostly unique text (real provider work), with a shared closing line (cache hits).
    paragraphs = [" ".join(rng.choices(WORDS, k=rng.randint(5, 9))) + "." for _ in range(rng.randint(1, 2))]
    paragraphs.append("Shipped in recyclable glass bottles.")
    return Product(f"Product {n} {rng.choice(['Tea', 'Beer', 'Wine', 'Cheese'])}", "\n\n".join(paragraphs),
                   f"categories/{n % 8 + 1}-A")


class Server(ServerProcess):
    """The server under test, restartable over one data directory, with small batches."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        super().__init__(data_dir, log=log, env={env_name("Ai.Embeddings.MaxBatchSize"): "64",
                                                 env_name("Ai.Embeddings.LocalModelThreads"): "1"})

    def progress(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/databases/{DATABASE}/ai/tasks/progress", timeout=STALL_TIMEOUT)
        response.raise_for_status()
        [entry] = response.json()["Results"]
        return entry  # type: ignore[no-any-return]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data", tmp_path / "server.log")
    yield running
    running.stop()


def store_for(server: Server) -> DocumentStore:
    store = DocumentStore(urls=[server.url], database=DATABASE)
    store.initialize()
    return store


def wait_caught_up(server: Server) -> dict[str, Any]:
    processed, progressed = -1, time.monotonic()
    while True:
        entry = server.progress()
        if entry["State"] == "Idle" and entry["DocumentsProcessed"] == entry["DocumentsTotal"]:
            return entry
        if entry["DocumentsProcessed"] != processed:
            processed, progressed = entry["DocumentsProcessed"], time.monotonic()
        elif time.monotonic() - progressed > STALL_TIMEOUT:
            raise AssertionError(f"task made no progress in {STALL_TIMEOUT}s: {entry}")
        time.sleep(0.25)


# Under load the catch-up alone (thousands of documents on one embedding thread) takes minutes: 13.5 of
# them with the suite running twice at once beside other work.
@pytest.mark.timeout(1800)
def test_sigkill_during_embedding_loses_and_duplicates_nothing(server: Server) -> None:
    rng = random.Random(SEED)
    server.start()
    store = store_for(server)
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
    with store.bulk_insert() as bulk:
        for n in range(1, DOCUMENTS + 1):
            bulk.store_as(product(n, rng), f"products/{n}-A")
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Embedded", CONNECTION, model_type=AiModelType.TEXT_EMBEDDINGS, embedded_settings=EmbeddedSettings())))
    store.maintenance.send(AddEmbeddingsGenerationOperation(EmbeddingsGenerationConfiguration(
        name="Crash", identifier=TASK, connection_string_name="Embedded", collection="Products",
        embeddings_path_configurations=[
            EmbeddingPathConfiguration("Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512)),
            EmbeddingPathConfiguration("Description", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, 24))],
        chunking_options_for_querying=ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512))))
    store.close()

    total, next_number = DOCUMENTS, DOCUMENTS + 41
    killed_while_running = 0
    for round_number in range(KILLS):
        if server.progress()["DocumentsProcessed"] >= total:
            # Caught up already (a fast machine): give the task more work, so the kill lands mid-run.
            store = store_for(server)
            with store.bulk_insert() as bulk:
                for n in range(next_number, next_number + EXTRA_DOCUMENTS):
                    bulk.store_as(product(n, rng), f"products/{n}-A")
            store.close()
            total += EXTRA_DOCUMENTS
            next_number += EXTRA_DOCUMENTS
        time.sleep(rng.uniform(0.4, 2.0))
        killed_while_running += server.progress()["DocumentsProcessed"] < total
        server.kill()
        server.start()
        if round_number == 1:
            # Changes made between crashes must be picked up too: deletes, renames and new documents.
            store = store_for(server)
            with store.open_session() as session:
                for n in range(1, 41):
                    session.delete(f"products/{n}-A")
                loaded = session.load([f"products/{n}-A" for n in range(41, 81)], Product)
                for doc_id, renamed in loaded.items():
                    renamed.Name = f"Renamed {doc_id}"
                for n in range(DOCUMENTS + 1, DOCUMENTS + 41):
                    session.store(product(n, rng), f"products/{n}-A")
                session.save_changes()
            store.close()
    assert killed_while_running >= KILLS - 1
    final = wait_caught_up(server)
    server.stop()

    # The backend the server used (SQLite files, or PostgreSQL with --storage=postgresql).
    backend = open_backend(Settings(), server.data_dir)
    storage = backend.open(DATABASE)
    try:
        assert storage.integrity_check() == []
        check_embeddings(storage)
        assert final["DocumentsTotal"] == total and final["FailedItems"] == 0
    finally:
        storage.close()
        backend.close()


def expected_chunks(body: dict[str, Any]) -> dict[str, list[str]]:
    fields = {}
    for field, options in (("Name", NAME_OPTIONS), ("Description", DESCRIPTION_OPTIONS)):
        value = body.get(field)
        if isinstance(value, str) and value.strip():
            fields[field] = chunking.chunk(value, options)
    return fields


def check_embeddings(storage: DocumentStorage) -> None:
    sources = {document.id: orjson.loads(document.body) for document in storage.iter_collection("Products")}
    embeddings = {document.id: document for document in storage.iter_collection("@embeddings/Products")}
    assert set(embeddings) == {f"embeddings/{source_id}" for source_id in sources}, "missing or orphan documents"
    sampled: list[tuple[str, bytes]] = []
    for source_id, body in sources.items():
        document = embeddings[f"embeddings/{source_id}"]
        sections = sections_of(orjson.loads(document.body))
        assert list(sections) == [TASK], f"{document.id} has sections {list(sections)}"
        section = sections[TASK]
        expected = expected_chunks(body)
        assert {key for key in section if key != "@quantization"} == set(expected), document.id
        referenced: set[str] = set()
        for field, chunks in expected.items():
            hashes = []
            for piece in chunks:
                digest = text_hash(piece)
                cached = storage.attachment_content(cache_document_id(CONNECTION, digest, VectorEmbeddingType.SINGLE),
                                                    digest)
                assert cached is not None, f"no cache entry for a chunk of {source_id}"
                hashes.append(vector_hash(cached[1]))
                if len(sampled) < 24 and piece not in (text for text, _ in sampled):
                    sampled.append((piece, cached[1]))
            assert section[field] == hashes, f"{source_id}.{field}"
            referenced |= set(hashes)
        attachments = {attachment.name: attachment for attachment in storage.attachments(document.id)}
        assert set(attachments) == referenced, f"{document.id}: orphan or missing attachments"
    model = get_embedded_model()
    texts = [text for text, _ in sampled]
    for (_, data), vector in zip(sampled, model.embed(texts), strict=True):
        stored = np.frombuffer(data, dtype="<f4")
        assert float(np.dot(stored, vector)) > 0.999
