"""Ollama ``/api/embed`` over real HTTP."""

from __future__ import annotations

import pytest

from rookdb.ai.connection_strings import OllamaSettings
from rookdb.ai.providers.ollama import OllamaConnector
from rookdb.errors import AiModelNotFoundError, AiResponseShapeError
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import options, run_connector


def test_ollama_request_shape(srv: EmbeddingServer) -> None:
    connector = OllamaConnector(OllamaSettings(uri=f"{srv.url}/", model="all-minilm"))
    vectors, provider = run_connector(connector, ["a", "b", "c"], opts=options(srv))
    assert len(vectors) == 3 and len(vectors[0]) == 384
    [request] = srv.requests()
    assert (request.route, request.path) == ("ollama", "/api/embed")
    assert "authorization" not in request.headers
    assert request.body == {"model": "all-minilm", "input": ["a", "b", "c"]}
    assert (provider.connector, provider.detected_protocol) == ("Ollama", "ollama")


def test_ollama_model_not_pulled(srv: EmbeddingServer) -> None:
    connector = OllamaConnector(OllamaSettings(uri=srv.url, model="nomic-embed-text"))
    with pytest.raises(AiModelNotFoundError, match="ollama pull nomic-embed-text"):
        run_connector(connector, ["a"], opts=options(srv))


def test_ollama_wrong_shape(srv: EmbeddingServer) -> None:
    srv.add_fault("wrong_shape")
    with pytest.raises(AiResponseShapeError, match="expected"):
        run_connector(OllamaConnector(OllamaSettings(uri=srv.url, model="all-minilm")), ["a"], opts=options(srv))
