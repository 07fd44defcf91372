"""Test Connection over real HTTP: success details and each failure kind."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from rookdb.ai import connection_test
from rookdb.ai.connection_strings import (
    AiSettings,
    EmbeddedSettings,
    GoogleSettings,
    HuggingFaceSettings,
    OllamaSettings,
    OpenAiSettings,
    VertexSettings,
)
from rookdb.ai.connection_test import ConnectionTestResult
from rookdb.ai.prompts import Prompts
from rookdb.errors import AiConfigurationError
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import API_KEY, options
from tests.support.waiting import bound

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def check(settings: AiSettings, server: EmbeddingServer | None = None, **kwargs: Any) -> ConnectionTestResult:
    if server is not None:
        kwargs.setdefault("options", options(server))
    return asyncio.run(connection_test.test_connection(settings, **kwargs))


def hf(server: EmbeddingServer, endpoint: str | None = None, **changes: Any) -> HuggingFaceSettings:
    values: dict[str, Any] = {"api_key": API_KEY, "model": MODEL, "endpoint": endpoint}
    values.update(changes)
    return HuggingFaceSettings(**values)


def test_success_reports_protocol_dimensions_latency_and_url(srv: EmbeddingServer) -> None:
    result = check(hf(srv), srv)
    assert result.success and result.failure_kind is None and result.error is None
    assert (result.connector, result.model) == ("HuggingFace", MODEL)
    assert result.detected_protocol == "hf-router"
    assert result.dimensions == 384
    assert 0 < result.latency_ms < 15_000
    assert result.resolved_url == f"{srv.url}/hf-inference/models/{MODEL}/pipeline/feature-extraction"
    assert srv.requests()[0].body["inputs"] == ["TestValue", "TestValue2"]
    assert API_KEY not in str(result.to_json())


def test_the_probe_is_sent_as_documents_are_and_the_prompts_are_reported(srv: EmbeddingServer) -> None:
    prompts = Prompts("query: ", "passage: ", "convention", "convention", "E5")
    result = check(hf(srv, srv.url, model="intfloat/e5-small-v2"), srv, prompts=prompts)
    assert result.success
    assert srv.requests("tei-embed")[0].body["inputs"] == ["passage: TestValue", "passage: TestValue2"]
    reported = result.to_json()
    assert (reported["QueryPrompt"], reported["DocumentPrompt"], reported["PromptConvention"]) == (
        "query: ", "passage: ", "E5")


def test_tei_endpoint_is_detected(srv: EmbeddingServer) -> None:
    result = check(hf(srv, srv.url), srv)
    assert result.success and result.detected_protocol == "tei" and result.resolved_url == f"{srv.url}/embed"


def test_raw_endpoint_is_detected(srv: EmbeddingServer) -> None:
    result = check(hf(srv, f"{srv.url}/models/{MODEL}"), srv)
    assert result.success and result.detected_protocol == "hf-endpoint-raw"


@pytest.mark.parametrize(("settings_of", "protocol", "dims"), [
    (lambda s: OpenAiSettings(api_key=API_KEY, endpoint=f"{s.url}/v1", model="text-embedding-3-small",
                              dimensions=256), "openai", 256),
    (lambda s: OllamaSettings(uri=s.url, model="all-minilm"), "ollama", 384),
    (lambda s: GoogleSettings(api_key=API_KEY, model="text-embedding-004"), "google-ai", 384),
    (lambda s: VertexSettings(model="text-embedding-005", location="us-central1",
                              google_credentials_json=s.create_service_account()), "vertex-ai", 384),
])
def test_other_connectors_succeed(srv: EmbeddingServer, settings_of: Any, protocol: str, dims: int) -> None:
    result = check(settings_of(srv), srv)
    assert result.success, result.error
    assert (result.detected_protocol, result.dimensions) == (protocol, dims)


@pytest.mark.parametrize(("fault", "kind", "status"), [
    ("unauthorized", "authentication", 401),
    ("model_not_found", "model-not-found", 404),
    ("retired", "retired-host", 410),
    ("wrong_shape", "response-shape", None),
    ("rate_limit", "rate-limited", 429),
    ("server_error", "unavailable", 500),
    ("drop", "unreachable", None),
])
def test_failure_kinds(srv: EmbeddingServer, fault: str, kind: str, status: int | None) -> None:
    srv.add_fault(fault, times=None, retry_after=0)  # type: ignore[arg-type]
    result = check(hf(srv), srv)
    assert not result.success
    assert result.failure_kind == kind, result.error
    assert result.provider_status == status
    assert result.error and API_KEY not in result.error
    assert result.dimensions is None
    assert result.to_json()["FailureKind"] == kind and result.to_json()["Success"] is False


def test_wrong_key_message_is_precise(srv: EmbeddingServer) -> None:
    result = check(hf(srv, api_key="hf_wrong"), srv)
    assert result.failure_kind == "authentication"
    assert "Invalid credentials in Authorization header" in (result.error or "")


def test_one_retry_then_success(srv: EmbeddingServer) -> None:
    srv.add_fault("server_error", times=1)
    result = check(hf(srv), srv)
    assert result.success
    assert srv.stats()["hf-router"].requests == 2


def test_slow_provider_times_out_within_the_budget(srv: EmbeddingServer) -> None:
    srv.add_fault("slow", times=None, delay=20.0)
    result = check(hf(srv), srv, timeout=0.3)
    assert result.failure_kind == "timeout" and result.error == "No answer within 0.3 seconds"
    # The budget is the feature: the answer comes about when it runs out (loosely measured, as a loaded
    # machine stretches short waits), long before the provider would have answered.
    assert result.latency_ms < bound(0.3) * 1000 < 20_000


def test_unreachable_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check(OpenAiSettings(api_key="k", endpoint=f"http://127.0.0.1:{port}/v1", model="m"), timeout=5)
    assert result.failure_kind == "unreachable"
    assert result.resolved_url == f"http://127.0.0.1:{port}/v1/embeddings"


def test_unusable_settings_are_reported_not_raised() -> None:
    result = check(OpenAiSettings(api_key="k", endpoint="not a url", model="m"))
    assert result.failure_kind == "configuration" and "OpenAiSettings.Endpoint" in (result.error or "")


def test_embedded_has_no_test_connection() -> None:
    with pytest.raises(AiConfigurationError, match="no Test Connection"):
        check(EmbeddedSettings())
