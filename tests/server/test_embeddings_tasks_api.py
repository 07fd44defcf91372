"""Embeddings generation tasks end to end: configured through the official client, run by the real
server against the local embedding server, observed over HTTP and with ``rookdb tasks watch``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from ravendb import DocumentStore
from ravendb.data.operation import AttachmentType
from ravendb.documents.indexes.vector.embedding import VectorEmbeddingType
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    EmbeddingsTransformation,
    UpdateEmbeddingsGenerationOperation,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.ai.open_ai_settings import OpenAiSettings
from ravendb.documents.operations.attachments import GetAttachmentOperation
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.documents.operations.connection_string.remove_connection_string_operation import (
    RemoveConnectionStringOperation,
)
from ravendb.documents.operations.ongoing_tasks import (
    DeleteOngoingTaskOperation,
    GetOngoingTaskInfoOperation,
    OngoingTaskConnectionStatus,
    OngoingTaskState,
    OngoingTaskType,
    ToggleOngoingTaskStateOperation,
)
from ravendb.documents.queries.vector import VectorQuantizer
from ravendb.exceptions.raven_exceptions import RavenException
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation, GetDatabaseRecordOperation

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.cli import main as cli_main
from rookdb.server.runner import BackgroundServer
from rookdb.settings import Settings
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.tasks import caught_up, http, progress
from tests.support.waiting import wait_for

API_KEY = EMBEDDING_API_KEY
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDINGS = OngoingTaskType.EMBEDDINGS_GENERATION
_numbers = itertools.count(1)


class Product:
    def __init__(self, Name: str, Description: str | None = None, Price: float = 1.0) -> None:
        self.Name = Name
        self.Description = Description
        self.Price = Price



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    settings = Settings({"Ai.Embeddings.MaxFallbackTimeInSec": 0.5, "Ai.Embeddings.MaxBatchSize": 16,
                         "Expiration.DeleteFrequencyInSec": 0.2}, environ={})
    with BackgroundServer(tmp_path_factory.mktemp("tasks-api"), settings=settings) as running:
        yield running


@pytest.fixture
def store(server: BackgroundServer, srv: EmbeddingServer) -> Iterator[DocumentStore]:
    """A fresh database with 20 products and a Hugging Face connection string to the local server."""
    name = f"tasks{next(_numbers)}"
    created = DocumentStore(urls=[server.url], database=name)
    created.initialize()
    created.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(name)))
    created.maintenance.send(PutConnectionStringOperation(hf_connection(srv)))
    with created.bulk_insert() as bulk:
        for n in range(1, 21):
            bulk.store_as(Product(f"Product {n}", f"A fine product number {n}.\n\nMade with care.", n * 1.5),
                          f"products/{n}-A")
    yield created
    created.close()


def hf_connection(srv: EmbeddingServer, api_key: str = API_KEY, model: str = MODEL,
                  endpoint: str | None = None) -> AiConnectionString:
    return AiConnectionString("Local HF", "local-hf", model_type=AiModelType.TEXT_EMBEDDINGS,
                              huggingface_settings=HuggingFaceSettings(api_key, model, endpoint or srv.url))


def task_config(name: str = "ProductsEmbeddings", **changes: Any) -> EmbeddingsGenerationConfiguration:
    values: dict[str, Any] = {
        "name": name, "identifier": "products-embeddings", "connection_string_name": "Local HF",
        "collection": "Products",
        "embeddings_path_configurations": [
            EmbeddingPathConfiguration("Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048)),
            EmbeddingPathConfiguration("Description", ChunkingOptions(
                ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, 2048, 128))],
        "quantization": VectorEmbeddingType.SINGLE,
        "chunking_options_for_querying": ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 2048),
    }
    values.update(changes)
    return EmbeddingsGenerationConfiguration(**values)


def load(store: DocumentStore, doc_id: str) -> dict[str, Any] | None:
    with store.open_session() as session:
        found = session.load(doc_id, dict)
        return found  # type: ignore[no-any-return]


def tei_calls(srv: EmbeddingServer) -> int:
    stats = srv.stats().get("tei-embed")
    return stats.requests if stats else 0


def test_task_lifecycle_through_the_official_client(
        server: BackgroundServer, store: DocumentStore, srv: EmbeddingServer) -> None:
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(task_config()))
    assert added.task_id > 0 and added.identifier == "products-embeddings"
    wait_for(caught_up(server, store), what="the new task to embed the collection")
    [entry] = progress(server, store)
    assert (entry["DocumentsProcessed"], entry["DocumentsTotal"]) == (20, 20)
    assert entry["Chunks"] == 40 and entry["ProviderCalls"] >= 1 and entry["Health"] == "Healthy"

    info = store.maintenance.send(GetOngoingTaskInfoOperation("ProductsEmbeddings", EMBEDDINGS))
    assert info.task_state == OngoingTaskState.ENABLED
    assert info.task_connection_status == OngoingTaskConnectionStatus.ACTIVE
    assert info.configuration.identifier == "products-embeddings"
    record = store.maintenance.server.send(GetDatabaseRecordOperation(store.database))
    [configured] = record.embeddings_generations
    assert (configured.identifier, configured.disabled) == ("products-embeddings", False)

    embeddings = load(store, "embeddings/products/1-A")
    assert embeddings is not None and set(embeddings["products-embeddings"]) == {"@quantization", "Name",
                                                                                 "Description"}

    store.maintenance.send(ToggleOngoingTaskStateOperation(added.task_id, EMBEDDINGS, True))
    info = store.maintenance.send(GetOngoingTaskInfoOperation(added.task_id, EMBEDDINGS))
    assert info.task_state == OngoingTaskState.DISABLED
    assert info.task_connection_status == OngoingTaskConnectionStatus.NOT_ACTIVE
    with store.open_session() as session:
        session.store(Product("Added while disabled"), "products/100-A")
        session.save_changes()
    assert progress(server, store)[0]["State"] == "Disabled"
    assert load(store, "embeddings/products/100-A") is None

    store.maintenance.send(ToggleOngoingTaskStateOperation(added.task_id, EMBEDDINGS, False))
    wait_for(caught_up(server, store), what="the task to resume")
    assert load(store, "embeddings/products/100-A") is not None

    store.maintenance.send(DeleteOngoingTaskOperation(added.task_id, EMBEDDINGS))
    assert store.maintenance.send(GetOngoingTaskInfoOperation("ProductsEmbeddings", EMBEDDINGS)) is None
    assert progress(server, store) == []


def test_reset_regenerates_everything_without_provider_calls(
        server: BackgroundServer, store: DocumentStore, srv: EmbeddingServer) -> None:
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(task_config()))
    wait_for(caught_up(server, store))
    calls = tei_calls(srv)
    store.maintenance.send(UpdateEmbeddingsGenerationOperation(added.task_id, task_config(), reset=True))
    wait_for(lambda: progress(server, store)[0]["DocumentsChanged"] == 20 and caught_up(server, store)(),
             what="the regeneration")
    [entry] = progress(server, store)
    assert entry["ProviderCalls"] == 0 and entry["CacheHits"] == entry["Chunks"] == 40
    assert tei_calls(srv) == calls


def test_script_task_and_int8_vectors_byte_equal_to_the_client(
        server: BackgroundServer, store: DocumentStore) -> None:
    script = "embeddings.generate({ Name: text.split(this.Name, 64) })"
    config = task_config(embeddings_path_configurations=None, quantization=VectorEmbeddingType.INT8,
                         embeddings_transformation=EmbeddingsTransformation(script, ChunkingOptions(
                             ChunkingMethod.PLAIN_TEXT_SPLIT, 256)))
    store.maintenance.send(AddEmbeddingsGenerationOperation(config))
    wait_for(caught_up(server, store))
    embeddings = load(store, "embeddings/products/7-A")
    assert embeddings is not None
    section = embeddings["products-embeddings"]
    assert section["@quantization"] == "Int8"
    [digest] = section["Name"]
    with http(server) as client:
        response = client.get(f"/databases/{store.database}/attachments",
                              params={"id": "embeddings/products/7-A", "name": digest})
    assert response.status_code == 200 and response.headers["Attachment-Hash"]
    expected = VectorQuantizer.to_int8([float(x) for x in get_embedded_model().embed(["Product 7"])[0]])
    assert list(np.frombuffer(response.content, dtype=np.int8)) == expected
    attachment = store.operations.send(GetAttachmentOperation("embeddings/products/7-A", digest,
                                                              AttachmentType.document, None))
    assert attachment.data == response.content


@pytest.mark.parametrize(("change", "rule"), [
    ({"identifier": "Bad_Identifier"}, "Identifier"),
    ({"embeddings_transformation": EmbeddingsTransformation("embeddings.generate({Name: this.Name})")},
     "not both"),
    ({"embeddings_path_configurations": None}, "EmbeddingsPathConfigurations"),
    ({"quantization": VectorEmbeddingType.TEXT}, "Quantization"),
    ({"connection_string_name": "Nowhere"}, "does not exist"),
    ({"connection_string_name": "Chat"}, "TextEmbeddings"),
])
def test_invalid_tasks_are_refused(store: DocumentStore, change: dict[str, Any], rule: str) -> None:
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Chat", "chat", model_type=AiModelType.CHAT,
        openai_settings=OpenAiSettings("sk-x", "https://api.openai.com/v1", "gpt-4o-mini"))))
    with pytest.raises(RavenException, match=rule):
        store.maintenance.send(AddEmbeddingsGenerationOperation(task_config(**change)))


def test_moving_a_task_to_a_connection_string_that_does_not_exist_is_refused_and_changes_nothing(
        server: BackgroundServer, store: DocumentStore) -> None:
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(task_config()))
    moved = task_config(connection_string_name="Nowhere").to_json() | {"TaskId": added.task_id}
    with http(server) as client:
        response = client.put(f"/databases/{store.database}/admin/etl", params={"id": str(added.task_id)}, json=moved)
        assert response.status_code == 400
        error = response.json()
        assert error["Type"] == "Raven.Client.Exceptions.BadRequestException"
        assert error["Field"] == "ConnectionStringName" and "'Nowhere' does not exist" in error["Message"]
        [task] = client.get(f"/databases/{store.database}/tasks").json()["OngoingTasks"]
    assert task["ConnectionStringName"] == "Local HF"


def test_a_connection_string_in_use_is_locked(store: DocumentStore, srv: EmbeddingServer) -> None:
    store.maintenance.send(AddEmbeddingsGenerationOperation(task_config()))
    with pytest.raises(RavenException, match="cannot be deleted"):
        store.maintenance.send(RemoveConnectionStringOperation(hf_connection(srv)))
    with pytest.raises(RavenException, match="Model cannot change"):
        store.maintenance.send(PutConnectionStringOperation(hf_connection(srv, model="other-model")))
    with pytest.raises(RavenException, match="cannot change"):  # another connector under the same name
        store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
            "Local HF", "local-hf", model_type=AiModelType.TEXT_EMBEDDINGS,
            openai_settings=OpenAiSettings(API_KEY, srv.url + "/v1", MODEL))))
    # The API key and the endpoint may change while a task uses the connection string.
    store.maintenance.send(PutConnectionStringOperation(hf_connection(srv, api_key="rotated-key")))
    store.maintenance.send(PutConnectionStringOperation(hf_connection(srv, endpoint=srv.url + "/")))


def openai_connection(srv: EmbeddingServer, dimensions: int, api_key: str = API_KEY) -> AiConnectionString:
    return AiConnectionString("Local OpenAI", "local-openai", model_type=AiModelType.TEXT_EMBEDDINGS,
                              openai_settings=OpenAiSettings(api_key, srv.url + "/v1", "text-embedding-3-small",
                                                             None, None, dimensions))


def test_dimensions_are_locked_while_in_use(store: DocumentStore, srv: EmbeddingServer) -> None:
    store.maintenance.send(PutConnectionStringOperation(openai_connection(srv, 256)))
    store.maintenance.send(AddEmbeddingsGenerationOperation(task_config(connection_string_name="Local OpenAI")))
    with pytest.raises(RavenException, match="Dimensions cannot change"):
        store.maintenance.send(PutConnectionStringOperation(openai_connection(srv, 128)))
    store.maintenance.send(PutConnectionStringOperation(openai_connection(srv, 256, api_key="rotated")))


def test_provider_outage_is_observable_and_recovers(
        server: BackgroundServer, store: DocumentStore, srv: EmbeddingServer) -> None:
    srv.add_fault("server_error", times=None, routes=["tei-embed"], status=503)
    added = store.maintenance.send(AddEmbeddingsGenerationOperation(task_config()))
    # What is read while in fallback: the first fallback is short, the task may be retrying by a later read.
    entry = wait_for(lambda: next((found for found in progress(server, store) if found["State"] == "Fallback"), None),
                     what="fallback mode")
    assert entry["FallbackUntil"] and "503" in entry["LastError"]

    def reconnecting() -> Any:
        info = store.maintenance.send(GetOngoingTaskInfoOperation(added.task_id, EMBEDDINGS))
        return info if info.task_connection_status == OngoingTaskConnectionStatus.RECONNECT else None

    info = wait_for(reconnecting, what="the ongoing task to report Reconnect")
    assert info.task_connection_status == OngoingTaskConnectionStatus.RECONNECT and info.error
    with http(server) as client:
        errors = client.get(f"/databases/{store.database}/ai/errors", params={"name": "ProductsEmbeddings"}).json()
        assert errors["Errors"][0]["Kind"] == "Process" and errors["Errors"][0]["Step"] == "Model Inference"
        assert errors["Errors"][0]["TaskName"] == "ProductsEmbeddings" and errors["Errors"][0]["Count"] > 0
        srv.clear_faults()
        wait_for(caught_up(server, store), what="recovery without intervention")
        cleared = client.delete(f"/databases/{store.database}/ai/errors").json()
        assert cleared["Deleted"] >= 1
        assert client.get(f"/databases/{store.database}/ai/errors").json() == {"Errors": []}
    info = store.maintenance.send(GetOngoingTaskInfoOperation(added.task_id, EMBEDDINGS))
    assert info.task_connection_status == OngoingTaskConnectionStatus.ACTIVE and info.error is None


def test_cache_entries_expire_while_embeddings_stay(server: BackgroundServer, store: DocumentStore) -> None:
    config = task_config(embeddings_cache_expiration=timedelta(seconds=1))
    store.maintenance.send(AddEmbeddingsGenerationOperation(config))
    wait_for(caught_up(server, store))

    def collections() -> dict[str, int]:
        with http(server) as client:
            counts: dict[str, int] = client.get(f"/databases/{store.database}/stats").json()["Collections"]
            return counts

    wait_for(lambda: "@embeddings-cache" not in collections(), what="the cache to expire")
    assert collections()["@embeddings/Products"] == 20


def test_missing_attachment_is_404(server: BackgroundServer, store: DocumentStore) -> None:
    with http(server) as client:
        response = client.get(f"/databases/{store.database}/attachments", params={"id": "products/1-A", "name": "x"})
    assert response.status_code == 404 and response.json()["Type"].endswith("AttachmentDoesNotExistException")


def test_tasks_watch_once_prints_a_snapshot(
        server: BackgroundServer, store: DocumentStore, capsys: pytest.CaptureFixture[str]) -> None:
    store.maintenance.send(AddEmbeddingsGenerationOperation(task_config()))
    wait_for(caught_up(server, store))
    assert cli_main(["tasks", "watch", "--url", server.url, "--database", store.database, "--once"]) == 0
    printed = capsys.readouterr().out
    assert "ProductsEmbeddings" in printed and "Idle" in printed and "Healthy" in printed and "20" in printed
    assert cli_main(["tasks", "watch", "--url", server.url, "--database", store.database]) == 0  # all idle: exits


def test_tasks_watch_reports_an_unknown_database(server: BackgroundServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["tasks", "watch", "--url", server.url, "--database", "NoSuchDb", "--once"]) == 2
    assert "NoSuchDb" in capsys.readouterr().err


