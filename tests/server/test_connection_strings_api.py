"""AI connection strings through the official client, and Test Connection over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.azure_open_ai_settings import AzureOpenAiSettings
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings
from ravendb.documents.operations.ai.google_settings import GoogleAiVersion, GoogleSettings
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.ai.mistral_ai_settings import MistralAiSettings
from ravendb.documents.operations.ai.ollama_settings import OllamaSettings
from ravendb.documents.operations.ai.open_ai_settings import OpenAiSettings
from ravendb.documents.operations.ai.vertex_settings import VertexAIVersion, VertexSettings
from ravendb.documents.operations.connection_string.get_connection_string_operation import (
    GetConnectionStringsOperation,
)
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.documents.operations.connection_string.remove_connection_string_operation import (
    RemoveConnectionStringOperation,
)
from ravendb.exceptions.raven_exceptions import RavenException
from ravendb.serverwide.server_operation_executor import ConnectionStringType

from rookdb.server.runner import BackgroundServer
from rookdb.storage.backends import open_backend
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY

HF_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def all_connectors(embedding_url: str) -> list[AiConnectionString]:
    vertex_credentials = '{"type": "service_account", "client_email": "a@b.c", "private_key": "k", ' \
                         '"token_uri": "https://oauth2.googleapis.com/token", "project_id": "p"}'
    embeddings = AiModelType.TEXT_EMBEDDINGS
    return [
        AiConnectionString("HF", "hf", huggingface_settings=HuggingFaceSettings(
            "hf_secret", HF_MODEL, embedding_url, 3), model_type=embeddings),
        AiConnectionString("OpenAI", "openai", openai_settings=OpenAiSettings(
            "sk-secret", "https://api.openai.com/v1", "text-embedding-3-small", "org", "proj", 256),
            model_type=embeddings),
        AiConnectionString("Azure", "azure", azure_openai_settings=AzureOpenAiSettings(
            "az-secret", "https://x.openai.azure.com", "text-embedding-3-small", "deploy", 512),
            model_type=embeddings),
        AiConnectionString("Google", "google", google_settings=GoogleSettings(
            "text-embedding-004", "g-secret", GoogleAiVersion.V1, 128), model_type=embeddings),
        AiConnectionString("Vertex", "vertex", vertex_settings=VertexSettings(
            "text-embedding-005", vertex_credentials, "us-central1", VertexAIVersion.V1), model_type=embeddings),
        AiConnectionString("Mistral", "mistral", mistral_ai_settings=MistralAiSettings(
            "m-secret", "mistral-embed", "https://api.mistral.ai/v1"), model_type=embeddings),
        AiConnectionString("Ollama", "ollama", ollama_settings=OllamaSettings(
            "http://localhost:11434", "all-minilm"), model_type=embeddings),
        AiConnectionString("Embedded", "embedded", embedded_settings=EmbeddedSettings(), model_type=embeddings),
    ]


def test_every_connector_round_trips(store: DocumentStore, embedding_server: EmbeddingServer) -> None:
    sent = all_connectors(embedding_server.url)
    for connection_string in sent:
        result = store.maintenance.send(PutConnectionStringOperation(connection_string))
        assert result.raft_command_index > 0
    everything = store.maintenance.send(GetConnectionStringsOperation())
    assert set(everything.ai_connection_strings) == {cs.name for cs in sent}
    for connection_string in sent:
        one = store.maintenance.send(GetConnectionStringsOperation(connection_string.name, ConnectionStringType.AI))
        got = one.ai_connection_strings[connection_string.name]
        assert got.to_json() == connection_string.to_json()


def test_identifier_is_generated_and_validated(store: DocumentStore, server: BackgroundServer) -> None:
    url = f"{server.url}/databases/{store.database}/admin/connection-strings"
    base = {"ModelType": "TextEmbeddings", "Type": "Ai", "EmbeddedSettings": {"EmbeddingsMaxConcurrentBatches": None}}
    assert httpx.put(url, json={**base, "Name": "My connection string to Google AI"}).status_code == 200
    listed = httpx.get(url).json()["AiConnectionStrings"]
    assert listed["My connection string to Google AI"]["Identifier"] == "my-connection-string-to-google-ai"
    for identifier in ("Bad", "two--dashes", "trailing-", "spa ce"):
        response = httpx.put(url, json={**base, "Name": f"n-{identifier}", "Identifier": identifier})
        assert response.status_code == 400
        assert response.json()["Field"] == "Identifier"
    clash = httpx.put(url, json={**base, "Name": "Other", "Identifier": "my-connection-string-to-google-ai"})
    assert clash.status_code == 400 and "already used" in clash.json()["Message"]
    reserved = httpx.put(url, json={**base, "Name": "Server Wide Connection String, x"})
    assert reserved.status_code == 400 and reserved.json()["Field"] == "Name"
    missing_model = httpx.put(url, json={"Name": "n", "ModelType": "TextEmbeddings", "Type": "Ai",
                                         "HuggingFaceSettings": {"ApiKey": "k", "Model": None}})
    assert missing_model.status_code == 400
    assert missing_model.json()["Field"] == "HuggingFaceSettings.Model"


def test_remove_connection_string(store: DocumentStore, embedding_server: EmbeddingServer) -> None:
    hugging_face = all_connectors(embedding_server.url)[0]
    store.maintenance.send(PutConnectionStringOperation(hugging_face))
    store.maintenance.send(RemoveConnectionStringOperation(hugging_face))
    assert store.maintenance.send(GetConnectionStringsOperation()).ai_connection_strings in (None, {})


def test_a_missing_connection_string_gives_an_empty_result(store: DocumentStore) -> None:
    # As RavenDB answers: 200 with nothing in it, not a 404 the client would turn into None.
    result = store.maintenance.send(GetConnectionStringsOperation("Nowhere", ConnectionStringType.AI))
    assert result is not None and result.ai_connection_strings in (None, {})


@pytest.mark.parametrize("query", [{"connectionStringName": " ", "type": "Ai"}, {"connectionStringName": "x"}])
def test_a_blank_name_or_a_name_without_a_type_is_a_bad_request(server: BackgroundServer, store: DocumentStore,
                                                                  query: dict[str, str]) -> None:
    answer = httpx.get(f"{server.url}/databases/{store.database}/admin/connection-strings", params=query)
    assert answer.status_code == 400
    assert answer.json()["Type"].endswith("BadRequestException")


def test_secrets_are_encrypted_at_rest(store: DocumentStore, server: BackgroundServer,
                                       embedding_server: EmbeddingServer) -> None:
    for connection_string in all_connectors(embedding_server.url):
        store.maintenance.send(PutConnectionStringOperation(connection_string))
    data_dir = Path(server.settings["Server.DataDir"])
    backend = open_backend(server.settings, data_dir)  # what is stored, on whichever backend the server uses
    try:
        raw = orjson.dumps(backend.open(store.database).get_record())
    finally:
        backend.close()
    for secret in (b"hf_secret", b"sk-secret", b"az-secret", b"g-secret", b"m-secret", b"a@b.c"):
        assert secret not in raw
    key_file = data_dir / "master.key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_connection_strings_survive_a_restart(tmp_path: Path, embedding_server: EmbeddingServer) -> None:
    sent = all_connectors(embedding_server.url)[0]
    for attempt in range(2):
        with BackgroundServer(tmp_path) as running:
            store = DocumentStore(urls=[running.url], database="Persist")
            store.initialize()
            try:
                if attempt == 0:
                    httpx.put(f"{running.url}/admin/databases", params={"name": "Persist"}, json={})
                    store.maintenance.send(PutConnectionStringOperation(sent))
                else:
                    got = store.maintenance.send(GetConnectionStringsOperation("HF", ConnectionStringType.AI))
                    assert got.ai_connection_strings["HF"].to_json() == sent.to_json()
            finally:
                store.close()


def _test(server: BackgroundServer, store: DocumentStore, body: dict[str, object]) -> dict[str, object]:
    response = httpx.post(f"{server.url}/databases/{store.database}/admin/ai/test-connection", json=body,
                          timeout=60)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def hugging_face(endpoint: str | None, api_key: str = EMBEDDING_API_KEY, model: str = HF_MODEL) -> dict[str, object]:
    return {"Name": "HF", "ModelType": "TextEmbeddings", "Type": "Ai",
            "HuggingFaceSettings": {"ApiKey": api_key, "Model": model, "Endpoint": endpoint}}


def test_test_connection_succeeds_with_protocol_and_dimensions(
        store: DocumentStore, server: BackgroundServer, embedding_server: EmbeddingServer) -> None:
    result = _test(server, store, hugging_face(embedding_server.url))
    assert result["Success"] is True, result
    assert result["Dimensions"] == 384
    assert result["Protocol"] == "tei"
    assert isinstance(result["LatencyMs"], float)
    raw = _test(server, store, hugging_face(f"{embedding_server.url}/models/{HF_MODEL}"))
    assert raw["Success"] is True, raw
    assert raw["Protocol"] == "hf-endpoint-raw"
    router = _test(server, store, hugging_face(f"{embedding_server.url}/hf-inference"))
    assert router["Success"] is True, router
    assert router["Protocol"] == "hf-router"
    assert str(router["Url"]).endswith(f"/hf-inference/models/{HF_MODEL}/pipeline/feature-extraction")


@pytest.mark.parametrize(
    ("endpoint", "change", "kind"),
    [
        ("", {"api_key": "wrong"}, "authentication"),
        ("/hf-inference", {"api_key": "wrong"}, "authentication"),
        ("/hf-inference", {"model": "nobody/serves-this"}, "model-not-found"),
        ("/models/nobody/serves-this", {"model": "nobody/serves-this"}, "model-not-found"),
        (None, {}, "unreachable"),
    ],
)
def test_test_connection_reports_the_precise_failure(
        store: DocumentStore, server: BackgroundServer, embedding_server: EmbeddingServer,
        endpoint: str | None, change: dict[str, str], kind: str) -> None:
    url = "http://127.0.0.1:9" if endpoint is None else embedding_server.url + endpoint
    result = _test(server, store, hugging_face(url, **change))
    assert result["Success"] is False
    assert result["ErrorKind"] == kind, result
    assert "wrong" not in str(result["Error"])


def test_test_connection_retired_host(
        store: DocumentStore, server: BackgroundServer, embedding_server: EmbeddingServer) -> None:
    embedding_server.add_fault("retired", times=None)
    try:
        result = _test(server, store, hugging_face(f"{embedding_server.url}/models/{HF_MODEL}"))
    finally:
        embedding_server.clear_faults()
    assert result["Success"] is False
    assert result["ErrorKind"] == "retired-host", result
    assert "router.huggingface.co" in str(result["Error"])


def test_embedded_has_no_test_connection(store: DocumentStore, server: BackgroundServer) -> None:
    response = httpx.post(f"{server.url}/databases/{store.database}/admin/ai/test-connection", json={
        "Name": "E", "ModelType": "TextEmbeddings", "Type": "Ai",
        "EmbeddedSettings": {"EmbeddingsMaxConcurrentBatches": None}})
    assert response.status_code == 400
    assert "embedded model has no Test Connection" in response.json()["Message"]


def test_client_sees_a_readable_validation_error(store: DocumentStore) -> None:
    bad = AiConnectionString("x", "Not-Valid", huggingface_settings=HuggingFaceSettings("k", HF_MODEL),
                             model_type=AiModelType.TEXT_EMBEDDINGS)
    with pytest.raises(RavenException, match="Identifier"):
        store.maintenance.send(PutConnectionStringOperation(bad))
