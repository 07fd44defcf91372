"""Google AI (Gemini API) ``batchEmbedContents`` over real HTTP."""

from __future__ import annotations

import pytest

from rookdb.ai.connection_strings import GoogleSettings
from rookdb.ai.providers.google import GOOGLE_AI_BASE_URL, GoogleConnector
from rookdb.errors import AiAuthenticationError, AiConfigurationError, AiModelNotFoundError
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import API_KEY, options, run_connector


def google(server: EmbeddingServer, **changes: object) -> GoogleConnector:
    values: dict[str, object] = {"api_key": API_KEY, "model": "text-embedding-004"}
    values.update(changes)
    return GoogleConnector(GoogleSettings(**values), api_base=server.url)  # type: ignore[arg-type]


def test_default_url_is_v1beta_on_the_public_host() -> None:
    connector = GoogleConnector(GoogleSettings(api_key="k", model="models/text-embedding-004"))
    assert connector.endpoint_url() == f"{GOOGLE_AI_BASE_URL}/v1beta/models/text-embedding-004:batchEmbedContents"


def test_request_shape(srv: EmbeddingServer) -> None:
    vectors, provider = run_connector(google(srv), ["a", "b"], opts=options(srv))
    assert len(vectors) == 2 and len(vectors[0]) == 384
    [request] = srv.requests()
    assert (request.route, request.path) == ("google", "/v1beta/models/text-embedding-004:batchEmbedContents")
    assert request.headers["x-goog-api-key"] == API_KEY
    assert "key" not in request.query  # the key travels in a header, never in the URL
    assert request.body == {"requests": [
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}},
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}},
    ]}
    assert (provider.connector, provider.detected_protocol) == ("Google", "google-ai")


def test_v1_and_output_dimensionality(srv: EmbeddingServer) -> None:
    vectors, _ = run_connector(google(srv, ai_version="V1", dimensions=256), ["a"], opts=options(srv))
    assert len(vectors[0]) == 256
    [request] = srv.requests()
    assert request.path == "/v1/models/text-embedding-004:batchEmbedContents"
    assert request.body["requests"][0]["outputDimensionality"] == 256


def test_batches_of_at_most_100(srv: EmbeddingServer) -> None:
    vectors, _ = run_connector(google(srv), [f"t{i}" for i in range(120)], opts=options(srv,
                               max_inputs_per_request=500))
    assert len(vectors) == 120
    assert [len(r.body["requests"]) for r in srv.requests()] == [100, 20]


def test_invalid_key_answers_400_but_is_an_authentication_failure(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="API_KEY_INVALID") as caught:
        run_connector(google(srv, api_key="AIza-wrong"), ["a"], opts=options(srv))
    assert caught.value.provider_status == 400


def test_missing_key_is_an_authentication_failure(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="403"):
        run_connector(google(srv, api_key=""), ["a"], opts=options(srv))


def test_unknown_model(srv: EmbeddingServer) -> None:
    with pytest.raises(AiModelNotFoundError, match="models/gemini-nope is not found"):
        run_connector(google(srv, model="gemini-nope"), ["a"], opts=options(srv))


def test_unknown_version_is_a_configuration_error() -> None:
    with pytest.raises(AiConfigurationError, match="AiVersion"):
        GoogleConnector(GoogleSettings(api_key="k", model="m", ai_version="V2"))  # type: ignore[arg-type]
