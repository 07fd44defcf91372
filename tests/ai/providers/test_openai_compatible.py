"""OpenAI, Azure OpenAI and Mistral AI: request shapes, parsing and errors over real HTTP."""

from __future__ import annotations

import numpy as np
import pytest

from rookdb.ai.connection_strings import AzureOpenAiSettings, MistralAiSettings, OpenAiSettings
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.providers.azure_openai import AZURE_OPENAI_API_VERSION, AzureOpenAiConnector
from rookdb.ai.providers.mistral import MistralConnector
from rookdb.ai.providers.openai import OpenAiConnector
from rookdb.errors import AiAuthenticationError, AiConfigurationError, AiModelNotFoundError, AiResponseShapeError
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import API_KEY, options, run_connector, usage_of


def openai(server: EmbeddingServer, **changes: object) -> OpenAiConnector:
    values: dict[str, object] = {"api_key": API_KEY, "endpoint": f"{server.url}/v1",
                                 "model": "text-embedding-3-small"}
    values.update(changes)
    return OpenAiConnector(OpenAiSettings(**values))  # type: ignore[arg-type]


def test_openai_request_shape_and_index_order(srv: EmbeddingServer) -> None:
    texts = ["first", "second", "third"]
    vectors, provider = run_connector(openai(srv), texts, opts=options(srv))
    # The server lists data in reverse: vectors must come back ordered by "index".
    np.testing.assert_allclose(vectors, get_embedded_model().embed(texts), atol=1e-6)
    [request] = srv.requests()
    assert (request.route, request.path) == ("openai", "/v1/embeddings")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "openai-organization" not in request.headers and "openai-project" not in request.headers
    assert request.body == {"input": texts, "model": "text-embedding-3-small"}
    assert (provider.connector, provider.detected_protocol) == ("OpenAi", "openai")
    assert provider.resolved_url() == f"{srv.url}/v1/embeddings"


def test_openai_organization_project_and_dimensions(srv: EmbeddingServer) -> None:
    connector = openai(srv, organization_id="org-1", project_id="proj-2", dimensions=128,
                       endpoint=f"{srv.url}/v1/")
    vectors, provider = run_connector(connector, ["a", "b"], opts=options(srv))
    assert len(vectors[0]) == 128 and provider.dimensions == 128
    [request] = srv.requests()
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["openai-project"] == "proj-2"
    assert request.body["dimensions"] == 128


def test_usage_is_what_the_answer_reports(srv: EmbeddingServer) -> None:
    srv.add_fault("rate_limit", retry_after=0)
    texts = ["first text", "a second, longer text"]
    embedded = usage_of(openai(srv), texts, options(srv))
    reported = sum(get_embedded_model().count_tokens(text) for text in texts)  # the server's usage.prompt_tokens
    assert (embedded.usage.requests, embedded.usage.tokens, embedded.usage.estimated_tokens) == (2, reported, 0)
    assert len(embedded.vectors) == 2


def test_openai_wrong_key(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="Incorrect API key") as caught:
        run_connector(openai(srv, api_key="sk-wrong-key-xyz"), ["a"], opts=options(srv))
    assert "sk-wrong-key-xyz" not in str(caught.value)


def test_openai_unknown_model(srv: EmbeddingServer) -> None:
    with pytest.raises(AiModelNotFoundError, match="`gpt-nope` does not exist"):
        run_connector(openai(srv, model="gpt-nope"), ["a"], opts=options(srv))


def test_openai_dimension_mismatch_is_a_shape_error(srv: EmbeddingServer) -> None:
    with pytest.raises(AiResponseShapeError, match="384-dimensional vectors, expected 1536"):
        run_connector(openai(srv, dimensions=1536), ["a"], opts=options(srv))


@pytest.mark.parametrize(("body", "fragment"), [
    ({"data": [{"embedding": [1.0], "index": 0}, {"embedding": [2.0], "index": 0}]}, "indexes"),
    ({"data": [{"vector": [1.0]}]}, "lack \"embedding\""),
    ({"object": "list"}, "keys [object]"),
])
def test_openai_bad_bodies(body: object, fragment: str) -> None:
    connector = OpenAiConnector(OpenAiSettings(api_key="k", endpoint="https://api.openai.com/v1", model="m"))
    with pytest.raises(AiResponseShapeError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        connector.parse_response(body, 2)


@pytest.mark.parametrize(("settings", "fragment"), [
    (OpenAiSettings(api_key="k", endpoint="", model="m"), "OpenAiSettings.Endpoint is required"),
    (OpenAiSettings(api_key="k", endpoint="api.openai.com/v1", model="m"), "absolute http"),
    (OpenAiSettings(api_key="k", endpoint="https://api.openai.com/v1", model=""), "Model is required"),
    (OpenAiSettings(api_key="k", endpoint="https://api.openai.com/v1", model="m", dimensions=0), "Dimensions"),
])
def test_openai_unusable_settings(settings: OpenAiSettings, fragment: str) -> None:
    with pytest.raises(AiConfigurationError, match=fragment):
        OpenAiConnector(settings)


def azure(server: EmbeddingServer, **changes: object) -> AzureOpenAiConnector:
    values: dict[str, object] = {"api_key": API_KEY, "endpoint": server.url, "model": "text-embedding-3-small",
                                 "deployment_name": "text-embedding-3-small"}
    values.update(changes)
    return AzureOpenAiConnector(AzureOpenAiSettings(**values))  # type: ignore[arg-type]


def test_azure_request_shape(srv: EmbeddingServer) -> None:
    vectors, provider = run_connector(azure(srv, dimensions=64), ["a", "b"], opts=options(srv))
    assert len(vectors) == 2 and len(vectors[0]) == 64
    [request] = srv.requests()
    assert request.route == "azure"
    assert request.path == "/openai/deployments/text-embedding-3-small/embeddings"
    assert request.query == {"api-version": AZURE_OPENAI_API_VERSION}
    assert request.headers["api-key"] == API_KEY and "authorization" not in request.headers
    assert request.body == {"input": ["a", "b"], "dimensions": 64}
    assert provider.detected_protocol == "azure-openai"
    assert provider.resolved_url() == (f"{srv.url}/openai/deployments/text-embedding-3-small/embeddings"
                                       f"?api-version={AZURE_OPENAI_API_VERSION}")


def test_azure_wrong_key_and_unknown_deployment(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="Access denied"):
        run_connector(azure(srv, api_key="nope"), ["a"], opts=options(srv))
    with pytest.raises(AiModelNotFoundError, match="deployment for this resource does not exist"):
        run_connector(azure(srv, deployment_name="missing"), ["a"], opts=options(srv))


def test_azure_requires_a_deployment() -> None:
    with pytest.raises(AiConfigurationError, match="DeploymentName"):
        AzureOpenAiConnector(AzureOpenAiSettings(api_key="k", endpoint="https://r.openai.azure.com", model="m",
                                                 deployment_name=""))


def mistral(server: EmbeddingServer, **changes: object) -> MistralConnector:
    values: dict[str, object] = {"api_key": API_KEY, "endpoint": f"{server.url}/mistral/v1",
                                 "model": "mistral-embed"}
    values.update(changes)
    return MistralConnector(MistralAiSettings(**values))  # type: ignore[arg-type]


def test_mistral_request_shape(srv: EmbeddingServer) -> None:
    vectors, provider = run_connector(mistral(srv), ["a", "b"], opts=options(srv))
    assert len(vectors) == 2
    [request] = srv.requests()
    assert (request.route, request.path) == ("mistral", "/mistral/v1/embeddings")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body == {"input": ["a", "b"], "model": "mistral-embed"}
    assert (provider.connector, provider.detected_protocol) == ("MistralAi", "mistral")


def test_mistral_errors(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="Unauthorized"):
        run_connector(mistral(srv, api_key="bad"), ["a"], opts=options(srv))
    with pytest.raises(AiModelNotFoundError, match="Invalid model: mistral-nope"):
        run_connector(mistral(srv, model="mistral-nope"), ["a"], opts=options(srv))
