"""A model change without downtime, end to end: ``rookdb serve`` as a process, the official client, the
local embedding server as the second provider over real HTTP.

Northwind's products move from the 384-dimension embedded model to a 256-dimension OpenAI-style model.
The server is killed in the middle of the migration and resumes it; a query loop runs through the rest
of it and sees no error and no empty result; afterwards the stored vectors have 256 dimensions, are
the new model's, and the results rank as the new model ranks them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai import AddEmbeddingsGenerationOperation, UpdateEmbeddingsGenerationOperation
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings
from ravendb.documents.operations.ai.open_ai_settings import OpenAiSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.exceptions.raven_exceptions import RavenException
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.ai.embeddings.layout import task_vectors
from rookdb.cli import main
from rookdb.settings import Settings, env_name
from rookdb.storage.backends import open_backend
from rookdb.testing.embedding_server import EmbeddingServer
from rookdb.testing.server_process import ServerProcess
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.tasks import names_task
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

DATABASE = "Migration"
NEW_MODEL = "text-embedding-3-small"
DIMENSIONS = 256
SEARCH = "from Products where vector.search(embedding.text(Name, ai.task('names')), $q)"
EXACT = "from Products where exact(vector.search(embedding.text(Name, ai.task('names')), $q, 0.0, 10))"
TERMS = ["italian cheese", "sweet dessert", "beer", "seafood from the north", "spicy sauce"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path / "data", log=tmp_path / "server.log",
                            env={env_name("Ai.Embeddings.MaxBatchSize"): "8"})
    yield running
    running.stop()


def progress(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/databases/{DATABASE}/ai/tasks/progress", timeout=30)
    response.raise_for_status()
    [entry] = response.json()["Results"]
    return entry  # type: ignore[no-any-return]


def plan(server: ServerProcess, changes: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/databases/{DATABASE}/ai/tasks/plan", params={"name": "Names"},
                          json=changes, timeout=60)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def store_for(server: ServerProcess) -> DocumentStore:
    store = DocumentStore(urls=[server.url], database=DATABASE)
    store.initialize()
    return store


def new_model(srv: EmbeddingServer, texts: list[str]) -> npt.NDArray[np.float32]:
    """The ground truth: the second model's own answer (asked directly, not through rookdb)."""
    response = httpx.post(f"{srv.url}/v1/embeddings", headers={"Authorization": f"Bearer {EMBEDDING_API_KEY}"},
                          json={"model": NEW_MODEL, "input": texts, "dimensions": DIMENSIONS}, timeout=60)
    response.raise_for_status()
    data = sorted(response.json()["data"], key=lambda item: item["index"])
    return np.asarray([item["embedding"] for item in data], dtype=np.float32)


class QueryLoop:
    """Searches through the official client until stopped; counts answers, errors and empty results."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._stop = threading.Event()
        self.answers = 0
        self.problems: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> QueryLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            term = TERMS[number % len(TERMS)]
            number += 1
            try:
                with self._store.open_session() as session:
                    found = list(session.advanced.raw_query(SEARCH, dict).add_parameter("q", term))
            except RavenException as error:
                self.problems.append(f"{term}: {error}")
                continue
            self.answers += 1
            if not found:
                self.problems.append(f"{term}: no result")


@pytest.mark.timeout(600)
def test_northwind_moves_to_a_256_dimension_model_without_downtime(
        server: ServerProcess, srv: EmbeddingServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.start()
    store = store_for(server)
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
    httpx.post(f"{server.url}/databases/{DATABASE}/studio/sample-data", timeout=60).raise_for_status()
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Embedded", "embedded", model_type=AiModelType.TEXT_EMBEDDINGS, embedded_settings=EmbeddedSettings())))
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Small", "small", model_type=AiModelType.TEXT_EMBEDDINGS, openai_settings=OpenAiSettings(
            EMBEDDING_API_KEY, f"{srv.url}/v1", NEW_MODEL, dimensions=DIMENSIONS))))
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("Embedded")))
    wait_for(lambda: progress(server)["DocumentsProcessed"] == 77 and progress(server)["State"] == "Idle",
             what="the first generation")
    with store.open_session() as session:
        assert list(session.advanced.raw_query(SEARCH, dict).add_parameter("q", "cheese"))  # the auto-index

    # Before the update: what it would embed, and that the new model's cache holds nothing yet.
    planned = plan(server, {"ConnectionStringName": "Small"})
    assert planned["Migration"] and planned["CurrentConnectionStringName"] == "Embedded"
    assert (planned["Documents"], planned["Texts"], planned["CachedTexts"]) == (77, 77, 0)
    assert planned["TextsToEmbed"] == planned["UniqueTexts"] > 70 and planned["TokensToEmbed"] > 0

    # The new provider is slow, so the migration is still running when the server is killed.
    srv.add_fault("slow", times=None, routes=["openai"], delay=0.3)
    store.maintenance.send(UpdateEmbeddingsGenerationOperation(added.task_id, names_task("Small")))
    wait_for(lambda: (progress(server)["Migration"] or {}).get("DocumentsProcessed", 0) > 0, what="the builder")
    entry = progress(server)
    assert entry["Migration"]["DocumentsProcessed"] < 77 and entry["ServingConnectionStringName"] == "Embedded"
    store.close()
    server.kill()
    server.start()

    store = store_for(server)
    entry = progress(server)
    assert entry["Migration"]["Generation"] == 1 and entry["Migration"]["DocumentsProcessed"] > 0  # resumed
    with QueryLoop(store) as loop:
        time.sleep(0.5)
        srv.clear_faults()
        wait_for(lambda: progress(server)["Migration"] is None, timeout=240, what="the swap")
        swapped_at = loop.answers
        wait_for(lambda: loop.answers > swapped_at + 3, what="queries after the swap")
    assert loop.problems == [] and loop.answers > 5
    assert progress(server)["Generation"] == 1 and progress(server)["ServingConnectionStringName"] == "Small"

    with store.open_session() as session:
        products = {doc_id: body["Name"] for doc_id, body in
                    ((item["@metadata"]["@id"], item) for item in session.advanced.raw_query("from Products", dict))}
    ids = sorted(products)
    truth = new_model(srv, [products[doc_id] for doc_id in ids])
    for term in TERMS:
        query = new_model(srv, [term])[0]
        expected = [ids[row] for row in np.argsort(-(truth @ query), kind="stable")[:10]]
        with store.open_session() as session:
            found = [item["@metadata"]["@id"] for item in
                     session.advanced.raw_query(EXACT, dict).add_parameter("q", term)]
        assert found == expected, term
    store.close()
    back = plan(server, {"ConnectionStringName": "Embedded"})  # going back would cost nothing: all cached
    assert back["Migration"] and back["CachedTexts"] == back["UniqueTexts"] and back["TextsToEmbed"] == 0
    assert main(["tasks", "plan", "Names", "--connection-string", "Embedded", "--url", server.url,
                 "--database", DATABASE]) == 0
    printed = capsys.readouterr().out
    assert "Small → Embedded (migration)" in printed and "To embed" in printed
    wait_for(lambda: not [path for path in (server.data_dir / DATABASE / "indexes").glob("*.manifest.json")
                          if "-g1" not in path.name], what="the old generation's index files to go")
    server.stop()

    backend = open_backend(Settings(), server.data_dir)
    storage = backend.open(DATABASE)
    try:
        for row, doc_id in enumerate(ids):
            [(_, vector)] = task_vectors(storage, "Products", "names", doc_id, "Name", generation=1)
            assert vector.shape == (DIMENSIONS,)
            np.testing.assert_allclose(vector, truth[row], atol=1e-5)
            assert not task_vectors(storage, "Products", "names", doc_id, "Name", generation=0)
    finally:
        storage.close()
        backend.close()


def test_a_migration_to_a_missing_connection_string_is_a_400_naming_the_field(
        server: ServerProcess, srv: EmbeddingServer) -> None:
    server.start()
    store = store_for(server)
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Embedded", "embedded", model_type=AiModelType.TEXT_EMBEDDINGS, embedded_settings=EmbeddedSettings())))
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("Embedded")))
    record = httpx.get(f"{server.url}/admin/databases", params={"name": DATABASE}, timeout=30).json()
    response = httpx.put(f"{server.url}/databases/{DATABASE}/admin/etl", params={"id": added.task_id},
                         json=names_task("Nope").to_json(), timeout=30)
    assert response.status_code == 400
    body = response.json()
    assert body["Type"].endswith("BadRequestException") and "ConnectionStringName" in body["Message"]
    assert "'Nope' does not exist" in body["Error"]
    assert httpx.get(f"{server.url}/admin/databases", params={"name": DATABASE}, timeout=30).json() == record
    assert progress(server)["Migration"] is None and progress(server)["ConnectionStringName"] == "Embedded"
    planned = httpx.post(f"{server.url}/databases/{DATABASE}/ai/tasks/plan", params={"name": "Names"},
                         json={"ConnectionStringName": "Nope"}, timeout=30)
    assert planned.status_code == 400 and "ConnectionStringName" in planned.json()["Message"]
    store.close()
