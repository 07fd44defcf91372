import copy
import json
from typing import Any

import pytest
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString as ClientConnectionString
from ravendb.documents.operations.ai.ai_connection_string import AiConnectorType, AiModelType
from ravendb.documents.operations.ai.azure_open_ai_settings import AzureOpenAiSettings as ClientAzure
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings as ClientEmbedded
from ravendb.documents.operations.ai.google_settings import GoogleAiVersion
from ravendb.documents.operations.ai.google_settings import GoogleSettings as ClientGoogle
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings as ClientHuggingFace
from ravendb.documents.operations.ai.mistral_ai_settings import MistralAiSettings as ClientMistral
from ravendb.documents.operations.ai.ollama_settings import OllamaSettings as ClientOllama
from ravendb.documents.operations.ai.open_ai_settings import OpenAiSettings as ClientOpenAi
from ravendb.documents.operations.ai.vertex_settings import VertexAIVersion
from ravendb.documents.operations.ai.vertex_settings import VertexSettings as ClientVertex

from rookdb.ai.connection_strings import (
    CONNECTORS,
    SECRET_MASK,
    AiConnectionString,
    EmbeddedSettings,
    GoogleSettings,
    HuggingFaceSettings,
    OllamaSettings,
    OpenAiSettings,
    VertexSettings,
    connector_for,
    connector_name,
    keep_unsent,
    locked_changes,
    masked,
    parse_connection_string,
    render_connection_string,
    restore_masked,
    secret_fields,
    validate_connection_string,
)
from rookdb.errors import ValidationError

EMBEDDINGS = AiModelType.TEXT_EMBEDDINGS
CREDENTIALS = json.dumps(
    {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "k",
        "private_key": "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n",
        "client_email": "svc@p.iam.gserviceaccount.com",
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
)

CLIENT_STRINGS: dict[str, ClientConnectionString] = {
    "OpenAi": ClientConnectionString(
        "ConnectionStringToOpenAI",
        "id-for-open-ai-connection-string",
        openai_settings=ClientOpenAi(
            api_key="sk-123",
            endpoint="https://api.openai.com/v1",
            model="text-embedding-3-small",
            organization_id="org-1",
            project_id="proj-1",
            dimensions=256,
            embeddings_max_concurrent_batches=3,
        ),
        model_type=EMBEDDINGS,
    ),
    "OpenAiChat": ClientConnectionString(
        "OpenAI chat",
        "openai-chat",
        openai_settings=ClientOpenAi(
            api_key="sk-123",
            endpoint="https://api.openai.com/v1",
            model="gpt-4o",
            temperature=0.2,
            reasoning_effort="low",
        ),
        model_type=AiModelType.CHAT,
    ),
    "AzureOpenAi": ClientConnectionString(
        "Azure",
        "azure",
        azure_openai_settings=ClientAzure(
            api_key="az-key",
            endpoint="https://my-resource.openai.azure.com",
            model="text-embedding-3-large",
            deployment_name="embeddings-deployment",
            dimensions=1024,
        ),
        model_type=EMBEDDINGS,
    ),
    "Ollama": ClientConnectionString(
        "Local Ollama",
        "local-ollama",
        ollama_settings=ClientOllama(uri="http://localhost:11434", model="mxbai-embed-large"),
        model_type=EMBEDDINGS,
    ),
    "OllamaChat": ClientConnectionString(
        "Ollama chat",
        "ollama-chat",
        ollama_settings=ClientOllama(
            uri="http://127.0.0.1:11434", model="llama3:8b-instruct", think=True, temperature=0.8
        ),
        model_type=AiModelType.CHAT,
    ),
    "Embedded": ClientConnectionString(
        "Embedded", "embedded", embedded_settings=ClientEmbedded(), model_type=EMBEDDINGS
    ),
    "EmbeddedWithBatches": ClientConnectionString(
        "Embedded 2", "embedded-2", embedded_settings=ClientEmbedded(4), model_type=EMBEDDINGS
    ),
    "Google": ClientConnectionString(
        "My connection string to Google AI",
        "my-connection-string-to-google-ai",
        google_settings=ClientGoogle(
            model="text-embedding-004", api_key="g-key", ai_version=GoogleAiVersion.V1, dimensions=768
        ),
        model_type=EMBEDDINGS,
    ),
    "GoogleBeta": ClientConnectionString(
        "Google beta",
        "google-beta",
        google_settings=ClientGoogle(model="gemini-embedding-001", api_key="g-key", ai_version=GoogleAiVersion.V1_Beta),
        model_type=EMBEDDINGS,
    ),
    "HuggingFace": ClientConnectionString(
        "ConnectionStringToHuggingFace",
        "identifier-to-the-connection-string",
        huggingface_settings=ClientHuggingFace(
            api_key="your-api-key",
            model="sentence-transformers/all-MiniLM-L6-v2",
            endpoint="https://api-inference.huggingface.co/",
            embeddings_max_concurrent_batches=10,
        ),
        model_type=EMBEDDINGS,
    ),
    "HuggingFaceNoEndpoint": ClientConnectionString(
        "HF default endpoint",
        "hf-default",
        huggingface_settings=ClientHuggingFace(api_key="k", model="BAAI/bge-small-en-v1.5"),
        model_type=EMBEDDINGS,
    ),
    "MistralAi": ClientConnectionString(
        "Mistral",
        "mistral",
        mistral_ai_settings=ClientMistral(api_key="m-key", model="mistral-embed", endpoint="https://api.mistral.ai/v1"),
        model_type=EMBEDDINGS,
    ),
    "Vertex": ClientConnectionString(
        "Vertex",
        "vertex",
        vertex_settings=ClientVertex(
            model="text-embedding-005",
            google_credentials_json=CREDENTIALS,
            location="us-central1",
            ai_version=VertexAIVersion.V1,
            embeddings_max_concurrent_batches=2,
        ),
        model_type=EMBEDDINGS,
    ),
    "VertexNoVersion": ClientConnectionString(
        "Vertex 2",
        "vertex-2",
        vertex_settings=ClientVertex(model="text-embedding-005", google_credentials_json=CREDENTIALS, location="eu"),
        model_type=EMBEDDINGS,
    ),
}


def _wire(case: str) -> dict[str, Any]:
    wire: dict[str, Any] = CLIENT_STRINGS[case].to_json()
    return wire


@pytest.mark.parametrize("case", list(CLIENT_STRINGS))
def test_round_trip_through_the_client(case: str) -> None:
    client = CLIENT_STRINGS[case]
    sent = client.to_json()
    parsed = parse_connection_string(copy.deepcopy(sent))
    rendered = render_connection_string(parsed)
    assert rendered == sent
    back = ClientConnectionString.from_json(rendered)
    assert back.to_json() == sent
    assert connector_name(parsed.settings) == client.get_active_provider().value


def test_every_connector_is_covered_and_named_like_the_client() -> None:
    covered = {connector_name(parse_connection_string(_wire(case)).settings) for case in CLIENT_STRINGS}
    client_names = {t.value for t in AiConnectorType} - {"None"}
    assert covered == set(CONNECTORS) == client_names
    for name, connector in CONNECTORS.items():
        assert connector.name == name
        assert connector.json_key == connector.settings_class.__name__
        assert connector_for(connector.settings_class) is connector


def test_rendered_shape_has_every_settings_key() -> None:
    rendered = render_connection_string(parse_connection_string(_wire("HuggingFace")))
    assert list(rendered) == [
        "Name",
        "Identifier",
        "OpenAiSettings",
        "AzureOpenAiSettings",
        "OllamaSettings",
        "EmbeddedSettings",
        "GoogleSettings",
        "HuggingFaceSettings",
        "MistralAiSettings",
        "VertexSettings",
        "ModelType",
        "Type",
    ]
    assert rendered["HuggingFaceSettings"] == {
        "ApiKey": "your-api-key",
        "Model": "sentence-transformers/all-MiniLM-L6-v2",
        "Endpoint": "https://api-inference.huggingface.co/",
        "EmbeddingsMaxConcurrentBatches": 10,
    }
    assert rendered["Type"] == "Ai"


def test_parsed_values() -> None:
    parsed = parse_connection_string(_wire("OpenAi"))
    assert parsed == AiConnectionString(
        name="ConnectionStringToOpenAI",
        identifier="id-for-open-ai-connection-string",
        model_type="TextEmbeddings",
        settings=OpenAiSettings(
            api_key="sk-123",
            endpoint="https://api.openai.com/v1",
            model="text-embedding-3-small",
            organization_id="org-1",
            project_id="proj-1",
            dimensions=256,
            embeddings_max_concurrent_batches=3,
        ),
    )
    assert "sk-123" not in repr(parsed)
    assert "SECRET" not in repr(parse_connection_string(_wire("Vertex")))


def test_empty_embedded_settings_object_is_rendered_readable_by_the_client() -> None:
    sent = _wire("Embedded") | {"EmbeddedSettings": {}}
    rendered = render_connection_string(parse_connection_string(sent))
    assert rendered["EmbeddedSettings"] == {"EmbeddingsMaxConcurrentBatches": None}
    assert ClientConnectionString.from_json(rendered).get_active_provider() is AiConnectorType.EMBEDDED


def test_google_without_version_omits_the_key_the_client_cannot_read_as_null() -> None:
    cs = AiConnectionString("G", "g", "TextEmbeddings", GoogleSettings(api_key="k", model="text-embedding-004"))
    rendered = render_connection_string(cs)
    assert "AiVersion" not in rendered["GoogleSettings"]
    assert ClientConnectionString.from_json(rendered).google_settings.ai_version is None


@pytest.mark.parametrize("identifier", [None, "", "   "])
def test_missing_identifier_is_generated_from_the_name(identifier: str | None) -> None:
    sent = _wire("Google") | {"Identifier": identifier}
    assert parse_connection_string(sent).identifier == "my-connection-string-to-google-ai"
    del sent["Identifier"]
    assert parse_connection_string(sent).identifier == "my-connection-string-to-google-ai"


def _settings_change(case: str, key: str, value: Any) -> dict[str, Any]:
    sent = _wire(case)
    block = next(k for k, v in sent.items() if k.endswith("Settings") and v is not None)
    sent[block] = dict(sent[block]) | {key: value}
    return sent


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("name missing", _wire("Ollama") | {"Name": None}, "Name", "required"),
    ("name blank", _wire("Ollama") | {"Name": "  "}, "Name", "required"),
    ("name reserved", _wire("Ollama") | {"Name": "Server Wide Connection String, x"}, "Name", "reserved"),
    (
        "name reserved any case",
        _wire("Ollama") | {"Name": "server wide connection string x"},
        "Name",
        "reserved",
    ),
    ("identifier uppercase", _wire("Ollama") | {"Identifier": "Local"}, "Identifier", "uppercase"),
    ("identifier double hyphen", _wire("Ollama") | {"Identifier": "a--b"}, "Identifier", "consecutive"),
    ("identifier type", _wire("Ollama") | {"Identifier": 5}, "Identifier", "string"),
    ("model type missing", _wire("Ollama") | {"ModelType": None}, "ModelType", "TextEmbeddings or Chat"),
    ("model type unknown", _wire("Ollama") | {"ModelType": "Images"}, "ModelType", "TextEmbeddings or Chat"),
    ("wrong type", _wire("Ollama") | {"Type": "Raven"}, "Type", "'Ai'"),
    ("no settings", _wire("Ollama") | {"OllamaSettings": None}, "Settings", "got none"),
    (
        "two settings",
        _wire("Ollama") | {"EmbeddedSettings": {"EmbeddingsMaxConcurrentBatches": None}},
        "Settings",
        "OllamaSettings and EmbeddedSettings",
    ),
    ("settings not object", _wire("Ollama") | {"OllamaSettings": "x"}, "OllamaSettings", "object"),
    ("vertex chat", _wire("Vertex") | {"ModelType": "Chat"}, "ModelType", "TextEmbeddings only"),
    ("mistral chat", _wire("MistralAi") | {"ModelType": "Chat"}, "ModelType", "TextEmbeddings only"),
    ("hugging face chat", _wire("HuggingFace") | {"ModelType": "Chat"}, "ModelType", "TextEmbeddings only"),
    ("embedded chat", _wire("Embedded") | {"ModelType": "Chat"}, "ModelType", "TextEmbeddings only"),
    ("openai api key", _settings_change("OpenAi", "ApiKey", None), "OpenAiSettings.ApiKey", "required"),
    ("openai blank key", _settings_change("OpenAi", "ApiKey", " "), "OpenAiSettings.ApiKey", "required"),
    ("openai endpoint", _settings_change("OpenAi", "Endpoint", None), "OpenAiSettings.Endpoint", "required"),
    ("openai model", _settings_change("OpenAi", "Model", ""), "OpenAiSettings.Model", "required"),
    (
        "openai relative",
        _settings_change("OpenAi", "Endpoint", "api.openai.com/v1"),
        "OpenAiSettings.Endpoint",
        "URL",
    ),
    (
        "openai ftp",
        _settings_change("OpenAi", "Endpoint", "ftp://host/v1"),
        "OpenAiSettings.Endpoint",
        "http",
    ),
    (
        "openai no host",
        _settings_change("OpenAi", "Endpoint", "https:///v1"),
        "OpenAiSettings.Endpoint",
        "URL",
    ),
    (
        "openai bad port",
        _settings_change("OpenAi", "Endpoint", "http://h:99999"),
        "OpenAiSettings.Endpoint",
        "URL",
    ),
    (
        "openai dimensions",
        _settings_change("OpenAi", "Dimensions", 0),
        "OpenAiSettings.Dimensions",
        "at least 1",
    ),
    (
        "openai dims type",
        _settings_change("OpenAi", "Dimensions", "256"),
        "OpenAiSettings.Dimensions",
        "integer",
    ),
    (
        "openai dims bool",
        _settings_change("OpenAi", "Dimensions", True),
        "OpenAiSettings.Dimensions",
        "integer",
    ),
    (
        "openai temperature",
        _settings_change("OpenAi", "Temperature", -1),
        "OpenAiSettings.Temperature",
        ">= 0",
    ),
    (
        "batches zero",
        _settings_change("OpenAi", "EmbeddingsMaxConcurrentBatches", 0),
        "OpenAiSettings.EmbeddingsMaxConcurrentBatches",
        "at least 1",
    ),
    (
        "azure deployment",
        _settings_change("AzureOpenAi", "DeploymentName", None),
        "AzureOpenAiSettings.DeploymentName",
        "required",
    ),
    (
        "azure endpoint",
        _settings_change("AzureOpenAi", "Endpoint", "x"),
        "AzureOpenAiSettings.Endpoint",
        "URL",
    ),
    ("ollama uri", _settings_change("Ollama", "Uri", "localhost:11434"), "OllamaSettings.Uri", "URL"),
    ("ollama model", _settings_change("Ollama", "Model", None), "OllamaSettings.Model", "required"),
    ("ollama think", _settings_change("Ollama", "Think", "yes"), "OllamaSettings.Think", "boolean"),
    ("google key", _settings_change("Google", "ApiKey", None), "GoogleSettings.ApiKey", "required"),
    (
        "google version",
        _settings_change("Google", "AiVersion", "V2"),
        "GoogleSettings.AiVersion",
        "'V1' or 'V1_Beta'",
    ),
    ("hf key", _settings_change("HuggingFace", "ApiKey", None), "HuggingFaceSettings.ApiKey", "required"),
    (
        "hf endpoint",
        _settings_change("HuggingFace", "Endpoint", "nope"),
        "HuggingFaceSettings.Endpoint",
        "URL",
    ),
    (
        "mistral endpoint",
        _settings_change("MistralAi", "Endpoint", None),
        "MistralAiSettings.Endpoint",
        "required",
    ),
    ("vertex location", _settings_change("Vertex", "Location", None), "VertexSettings.Location", "required"),
    (
        "vertex version",
        _settings_change("Vertex", "AiVersion", "v1"),
        "VertexSettings.AiVersion",
        "'V1' or 'V1_Beta'",
    ),
    (
        "vertex credentials missing",
        _settings_change("Vertex", "GoogleCredentialsJson", None),
        "VertexSettings.GoogleCredentialsJson",
        "required",
    ),
    (
        "vertex credentials not json",
        _settings_change("Vertex", "GoogleCredentialsJson", "{private_key: SECRET"),
        "VertexSettings.GoogleCredentialsJson",
        "not valid JSON",
    ),
    (
        "vertex credentials not object",
        _settings_change("Vertex", "GoogleCredentialsJson", "[]"),
        "VertexSettings.GoogleCredentialsJson",
        "JSON object",
    ),
    (
        "vertex credentials incomplete",
        _settings_change("Vertex", "GoogleCredentialsJson", json.dumps({"private_key": "SECRET", "token_uri": ""})),
        "VertexSettings.GoogleCredentialsJson",
        "missing client_email, token_uri",
    ),
    ("query prompt too long", _wire("Ollama") | {"QueryPrompt": "q" * 1001}, "QueryPrompt", "at most 1000"),
    ("document prompt too long", _wire("Ollama") | {"DocumentPrompt": "d" * 1001}, "DocumentPrompt", "at most 1000"),
    ("prompt not a string", _wire("Ollama") | {"QueryPrompt": 3}, "QueryPrompt", "string or null"),
    ("requests per minute zero", _wire("Ollama") | {"RequestsPerMinute": 0}, "RequestsPerMinute", "at least 1"),
    ("tokens per minute negative", _wire("Ollama") | {"TokensPerMinute": -5}, "TokensPerMinute", "at least 1"),
    ("tokens per minute text", _wire("Ollama") | {"TokensPerMinute": "1M"}, "TokensPerMinute", "whole number"),
]


@pytest.mark.parametrize(("sent", "field", "rule"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_connection_strings_name_field_and_rule(sent: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_connection_string(sent)
    assert raised.value.field == field
    assert rule in raised.value.message
    assert "SECRET" not in raised.value.message


def test_non_object_body_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_connection_string([1, 2])


def test_chat_connectors_accept_chat() -> None:
    for case in ("OpenAiChat", "OllamaChat"):
        assert parse_connection_string(_wire(case)).model_type == "Chat"
    for name in ("AzureOpenAi", "Google"):
        assert CONNECTORS[name].supports_chat


def test_validate_checks_objects_built_in_code() -> None:
    validate_connection_string(AiConnectionString("E", "e", "TextEmbeddings", EmbeddedSettings()))
    bad = AiConnectionString("O", "o", "TextEmbeddings", OllamaSettings(uri="http://h", model=""))
    with pytest.raises(ValidationError) as raised:
        validate_connection_string(bad)
    assert raised.value.field == "OllamaSettings.Model"
    with pytest.raises(ValidationError) as raised:
        validate_connection_string(AiConnectionString("E", "e", "TextEmbeddings", EmbeddedSettings(0)))
    assert raised.value.field == "EmbeddedSettings.EmbeddingsMaxConcurrentBatches"


def _openai(**changes: Any) -> AiConnectionString:
    settings: dict[str, Any] = {"api_key": "k", "endpoint": "https://a/v1", "model": "m", "dimensions": 8} | changes
    return AiConnectionString("O", "o", "TextEmbeddings", OpenAiSettings(**settings))


def test_locked_changes() -> None:
    old = _openai()
    assert locked_changes(old, _openai(api_key="k2", endpoint="https://b/v1", project_id="p")) == []
    assert locked_changes(old, _openai(model="m2")) == ["Model"]
    assert locked_changes(old, _openai(model="m2", dimensions=None)) == ["Model", "Dimensions"]
    chat = AiConnectionString("O", "o", "Chat", old.settings)
    assert locked_changes(old, chat) == ["ModelType"]
    assert locked_changes(old, AiConnectionString("O", "o", "TextEmbeddings", EmbeddedSettings())) == ["Connector"]
    azure = parse_connection_string(_wire("AzureOpenAi"))
    renamed = parse_connection_string(_settings_change("AzureOpenAi", "DeploymentName", "other"))
    assert locked_changes(azure, renamed) == ["DeploymentName"]
    rotated = parse_connection_string(_settings_change("Vertex", "GoogleCredentialsJson", CREDENTIALS + " "))
    assert locked_changes(parse_connection_string(_wire("Vertex")), rotated) == []


def test_secret_fields() -> None:
    assert secret_fields(OpenAiSettings) == ("ApiKey",)
    assert secret_fields(parse_connection_string(_wire("Vertex")).settings) == ("GoogleCredentialsJson",)
    assert secret_fields(EmbeddedSettings()) == ()
    assert secret_fields(OllamaSettings) == ()
    for connector in CONNECTORS.values():
        for attr in connector.secret_fields + connector.url_fields:
            assert hasattr(connector.settings_class, "__dataclass_fields__")
            assert attr in connector.settings_class.__dataclass_fields__


def test_masked_and_restored() -> None:
    stored = parse_connection_string(_wire("Vertex"))
    shown = masked(stored)
    assert isinstance(shown.settings, VertexSettings)
    assert shown.settings.google_credentials_json == SECRET_MASK
    assert isinstance(stored.settings, VertexSettings) and shown.settings.model == stored.settings.model
    assert "SECRET" not in json.dumps(render_connection_string(shown))
    assert restore_masked(shown, stored) == stored
    hf = parse_connection_string(_wire("HuggingFace"))
    edited = masked(hf)
    assert restore_masked(edited, hf) == hf
    new_key = AiConnectionString(hf.name, hf.identifier, hf.model_type, HuggingFaceSettings(api_key="new", model="m"))
    assert restore_masked(new_key, hf) is new_key
    with pytest.raises(ValidationError) as raised:
        restore_masked(edited, None)
    assert raised.value.field == "HuggingFaceSettings.ApiKey"
    with pytest.raises(ValidationError):
        restore_masked(edited, stored)


def test_masking_leaves_empty_secrets_alone() -> None:
    embedded = AiConnectionString("E", "e", "TextEmbeddings", EmbeddedSettings())
    assert masked(embedded) == embedded


def test_prompts_are_read_and_rendered_only_when_set() -> None:
    sent = _wire("HuggingFace") | {"QueryPrompt": "query: ", "DocumentPrompt": ""}
    parsed = parse_connection_string(sent)
    assert (parsed.query_prompt, parsed.document_prompt) == ("query: ", "")
    rendered = render_connection_string(parsed)
    assert rendered == sent
    assert ClientConnectionString.from_json(rendered).to_json() == _wire("HuggingFace")
    assert "QueryPrompt" not in render_connection_string(parse_connection_string(_wire("HuggingFace")))
    longest = _wire("HuggingFace") | {"QueryPrompt": "q" * 1000}
    assert parse_connection_string(longest).query_prompt == "q" * 1000


def test_declared_rate_limits_are_read_and_rendered() -> None:
    sent = _wire("OpenAi") | {"RequestsPerMinute": 3000, "TokensPerMinute": 1_000_000}
    parsed = parse_connection_string(sent)
    assert (parsed.requests_per_minute, parsed.tokens_per_minute) == (3000, 1_000_000)
    assert render_connection_string(parsed) == sent


def test_fields_a_client_did_not_send_keep_their_stored_values() -> None:
    stored = parse_connection_string(_wire("HuggingFace") | {"QueryPrompt": "Q: ", "DocumentPrompt": "D: "})
    from_client = parse_connection_string(_wire("HuggingFace"))
    kept = keep_unsent(from_client, stored, _wire("HuggingFace"))
    assert (kept.query_prompt, kept.document_prompt) == ("Q: ", "D: ")
    reset = _wire("HuggingFace") | {"QueryPrompt": None}
    cleared = keep_unsent(parse_connection_string(reset), stored, reset)
    assert (cleared.query_prompt, cleared.document_prompt) == (None, "D: ")
    assert keep_unsent(from_client, None, _wire("HuggingFace")) == from_client
