"""Rate limits as a signal, end to end: a task configured with the official client slows down on the
provider's 429s and loading answers instead of failing batches, and shows it in its progress."""

from __future__ import annotations

import pytest
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)

from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY, HF_MODEL
from tests.support.stores import StoreFactory
from tests.support.tasks import caught_up, http, names_task, progress
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


class Product:
    def __init__(self, Name: str) -> None:
        self.Name = Name


def test_429s_and_a_loading_model_slow_the_task_down_and_fail_nothing(
        server: BackgroundServer, new_store: StoreFactory, srv: EmbeddingServer) -> None:
    store = new_store()
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Local", "local", model_type=AiModelType.TEXT_EMBEDDINGS,
        huggingface_settings=HuggingFaceSettings(EMBEDDING_API_KEY, HF_MODEL, srv.url))))
    with store.bulk_insert() as bulk:
        for n in range(1, 41):
            bulk.store_as(Product(f"Product number {n}"), f"products/{n}-A")
    srv.add_fault("rate_limit", times=4, routes=["tei-embed"], retry_after=0.3)
    srv.add_fault("loading", times=1, routes=["tei-embed"], estimated_time=0.2)
    store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("Local")))
    states: set[str] = set()

    def finished() -> bool:
        states.update(entry["State"] for entry in progress(server, store))
        return caught_up(server, store)()

    wait_for(finished, what="the task to embed through the provider's waits")
    [entry] = progress(server, store)
    assert (entry["DocumentsProcessed"], entry["FailedBatches"], entry["Health"]) == (40, 0, "Healthy")
    assert "Fallback" not in states
    throttle = entry["Throttle"]
    assert throttle["RateLimited"] == 5 and throttle["WaitedSeconds"] > 0
    assert throttle["MaxConcurrency"] == 4 and 1 <= throttle["Concurrency"] <= 4
    with http(server) as client:
        assert client.get(f"/databases/{store.database}/ai/errors").json() == {"Errors": []}


def test_declared_limits_are_stored_and_shown(
        server: BackgroundServer, new_store: StoreFactory, srv: EmbeddingServer) -> None:
    store = new_store()
    connection = AiConnectionString("Local", "local", model_type=AiModelType.TEXT_EMBEDDINGS,
                                    huggingface_settings=HuggingFaceSettings(EMBEDDING_API_KEY, HF_MODEL, srv.url))
    with http(server) as client:
        sent = connection.to_json() | {"RequestsPerMinute": 600, "TokensPerMinute": 50_000}
        client.put(f"/databases/{store.database}/admin/connection-strings", json=sent).raise_for_status()
        refused = client.put(f"/databases/{store.database}/admin/connection-strings",
                             json=connection.to_json() | {"RequestsPerMinute": 0})
    assert refused.status_code == 400 and refused.json()["Field"] == "RequestsPerMinute"
    with store.bulk_insert() as bulk:
        bulk.store_as(Product("Chai"), "products/1-A")
    store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("Local")))
    wait_for(caught_up(server, store), what="the task")
    throttle = progress(server, store)[0]["Throttle"]
    assert (throttle["RequestsPerMinute"], throttle["TokensPerMinute"]) == (600, 50_000)
