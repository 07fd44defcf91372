"""Crash safety: ``rookdb serve`` is SIGKILLed again and again while an embeddings task runs; in the
end every document has exactly the embeddings it should, nothing orphaned, nothing duplicated
(checked by ``tests/support/crash_workload.py``, which recomputes them from the documents).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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

from rookdb.settings import Settings, env_name
from rookdb.storage.backends import open_backend
from rookdb.testing.server_process import ServerProcess
from tests.support.crash_workload import CONNECTION, TASK, Product, check_embeddings, product

DATABASE = "CrashTest"
DOCUMENTS = 2000
KILLS = 5
EXTRA_DOCUMENTS = 600
SEED = int(os.environ.get("ROOKDB_CRASH_SEED", "20261124"))
# A loaded machine slows the task down; only a task that stops making progress fails the test.
STALL_TIMEOUT = 120.0


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
