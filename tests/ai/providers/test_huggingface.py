"""Hugging Face: URL resolution (rule A5), router / TEI / raw endpoint protocols over real HTTP,
response shapes and error classification."""

from __future__ import annotations

import numpy as np
import pytest

from rookdb.ai.connection_strings import HuggingFaceSettings
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.providers.base import ProviderResponse
from rookdb.ai.providers.huggingface import HuggingFaceConnector, resolve_url
from rookdb.errors import (
    AiAuthenticationError,
    AiConfigurationError,
    AiEndpointRetiredError,
    AiModelNotFoundError,
    AiRateLimitError,
    AiResponseShapeError,
    AiUnavailableError,
)
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import API_KEY, options, run_connector, usage_of

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
ROUTER_URL = f"https://router.huggingface.co/hf-inference/models/{MODEL}/pipeline/feature-extraction"


@pytest.mark.parametrize(("endpoint", "url", "protocol", "probe"), [
    (None, ROUTER_URL, "hf-router", None),
    ("", ROUTER_URL, "hf-router", None),
    ("https://api-inference.huggingface.co/", ROUTER_URL, "hf-router", None),
    ("https://api-inference.huggingface.co/models/x", ROUTER_URL, "hf-router", None),
    ("https://router.huggingface.co/hf-inference", ROUTER_URL, "hf-router", None),
    ("https://router.huggingface.co/hf-inference/", ROUTER_URL, "hf-router", None),
    ("https://router.huggingface.co/hf-inference/models", ROUTER_URL, "hf-router", None),
    ("https://router.huggingface.co/hf-inference/models/", ROUTER_URL, "hf-router", None),
    ("HTTPS://Router.HuggingFace.co/hf-inference", ROUTER_URL, "hf-router", None),
    (ROUTER_URL, ROUTER_URL, "hf-router", None),
    ("https://abc.us-east-1.aws.endpoints.huggingface.cloud", None, None,
     "https://abc.us-east-1.aws.endpoints.huggingface.cloud"),
    ("http://tei.local:8080/", None, None, "http://tei.local:8080"),
    ("https://proxy.example/hf/models/m", None, None, "https://proxy.example/hf/models/m"),
    ("http://gateway.local:8000/hf-inference/",
     f"http://gateway.local:8000/hf-inference/models/{MODEL}/pipeline/feature-extraction", "hf-router", None),
    ("http://gateway.local:8000/hf-inference/models",
     f"http://gateway.local:8000/hf-inference/models/{MODEL}/pipeline/feature-extraction", "hf-router", None),
])
def test_url_resolution(endpoint: str | None, url: str | None, protocol: str | None, probe: str | None) -> None:
    route = resolve_url(endpoint, MODEL)
    assert (route.url, route.protocol, route.probe_base) == (url, protocol, probe)


def test_retired_host_is_flagged_for_a_warning() -> None:
    assert resolve_url("https://api-inference.huggingface.co", MODEL).rewritten_retired_host
    assert not resolve_url(None, MODEL).rewritten_retired_host


@pytest.mark.parametrize("endpoint", ["api.example.com", "ftp://x.example", "https://"])
def test_unusable_endpoint_is_a_configuration_error(endpoint: str) -> None:
    with pytest.raises(AiConfigurationError, match=r"HuggingFaceSettings\.Endpoint"):
        resolve_url(endpoint, MODEL)


def test_model_is_required() -> None:
    with pytest.raises(AiConfigurationError, match="Model is required"):
        HuggingFaceConnector(HuggingFaceSettings(api_key="k", model=" "))


def connector(server: EmbeddingServer, endpoint: str | None = None, key: str = API_KEY,
              model: str = MODEL) -> HuggingFaceConnector:
    return HuggingFaceConnector(HuggingFaceSettings(api_key=key, model=model, endpoint=endpoint),
                                api_base=server.url)


def test_router_request_shape(srv: EmbeddingServer) -> None:
    vectors, provider = run_connector(connector(srv), ["TestValue", "TestValue2"], opts=options(srv))
    expected = get_embedded_model().embed(["TestValue", "TestValue2"])
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    [request] = srv.requests()
    assert request.route == "hf-router"
    assert request.path == f"/hf-inference/models/{MODEL}/pipeline/feature-extraction"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {"inputs": ["TestValue", "TestValue2"], "normalize": True, "truncate": True}
    assert provider.detected_protocol == "hf-router"
    assert provider.dimensions == 384
    assert provider.resolved_url() == f"{srv.url}/hf-inference/models/{MODEL}/pipeline/feature-extraction"


def test_router_base_as_endpoint(srv: EmbeddingServer) -> None:
    _, provider = run_connector(connector(srv, f"{srv.url}/hf-inference/"), ["a"], opts=options(srv))
    assert provider.detected_protocol == "hf-router"
    assert [r.route for r in srv.requests()] == ["hf-router"]


def test_tei_is_detected_through_info(srv: EmbeddingServer) -> None:
    vectors, provider = run_connector(connector(srv, srv.url), ["one", "two", "three"], opts=options(srv))
    assert len(vectors) == 3
    assert [r.route for r in srv.requests()] == ["tei-info", "tei-embed"]
    info, embed = srv.requests()
    assert info.method == "GET" and info.headers["authorization"] == f"Bearer {API_KEY}"
    assert embed.body == {"inputs": ["one", "two", "three"], "normalize": True, "truncate": True}
    assert provider.detected_protocol == "tei"
    assert provider.resolved_url() == f"{srv.url}/embed"


def test_tei_detection_happens_once(srv: EmbeddingServer) -> None:
    import asyncio

    from rookdb.ai.providers.pipeline import HttpEmbeddingProvider

    async def go() -> None:
        async with HttpEmbeddingProvider(connector(srv, srv.url), options=options(srv)) as provider:
            await provider.embed(["a"])
            await provider.embed(["b"])

    asyncio.run(go())
    assert [r.route for r in srv.requests()] == ["tei-info", "tei-embed", "tei-embed"]


def test_tei_batch_limit_from_info_is_adopted(srv: EmbeddingServer) -> None:
    srv.add_fault("batch_limit", times=None, max_batch=4, routes=["tei-embed"])
    vectors, provider = run_connector(connector(srv, srv.url), [f"t{i}" for i in range(10)], opts=options(srv))
    assert len(vectors) == 10
    assert [len(r.body["inputs"]) for r in srv.requests("tei-embed")] == [4, 4, 2]  # no 422 at all
    assert provider.batch_size == 4


def test_non_tei_endpoint_is_posted_to_as_given(srv: EmbeddingServer) -> None:
    endpoint = f"{srv.url}/models/{MODEL}"
    vectors, provider = run_connector(connector(srv, endpoint), ["a", "b"], opts=options(srv))
    assert len(vectors) == 2
    assert [r.route for r in srv.requests()] == ["hf-legacy-models"]  # GET …/info was 405: not recorded
    assert srv.requests()[0].body == {"inputs": ["a", "b"]}  # raw: nothing but inputs
    assert provider.detected_protocol == "hf-endpoint-raw"
    assert provider.resolved_url() == endpoint


def test_legacy_pipeline_path_as_endpoint(srv: EmbeddingServer) -> None:
    endpoint = f"{srv.url}/pipeline/feature-extraction/{MODEL}"
    vectors, provider = run_connector(connector(srv, endpoint), ["a"], opts=options(srv))
    assert len(vectors) == 1 and provider.detected_protocol == "hf-endpoint-raw"


def test_info_refusing_the_key_is_an_authentication_failure(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="answered 401"):
        run_connector(connector(srv, srv.url, key="wrong"), ["a"], opts=options(srv))
    assert [r.route for r in srv.requests()] == ["tei-info"]


def test_wrong_key_on_the_router(srv: EmbeddingServer) -> None:
    with pytest.raises(AiAuthenticationError, match="Invalid credentials in Authorization header") as caught:
        run_connector(connector(srv, key="hf_wrong_key_123"), ["a"], opts=options(srv))
    assert "hf_wrong_key_123" not in str(caught.value)
    assert caught.value.provider_status == 401


def test_unknown_model_on_the_router(srv: EmbeddingServer) -> None:
    with pytest.raises(AiModelNotFoundError, match="not served there") as caught:
        run_connector(connector(srv, model="org/unknown-model"), ["a"], opts=options(srv))
    assert "org/unknown-model" in caught.value.message


def test_retired_host_message_points_to_the_router(srv: EmbeddingServer) -> None:
    srv.add_fault("retired")
    with pytest.raises(AiEndpointRetiredError) as caught:
        run_connector(connector(srv), ["a"], opts=options(srv))
    assert caught.value.message.endswith(
        f"the host api-inference.huggingface.co is retired; use {ROUTER_URL} or a TEI/Inference Endpoint URL")


def test_token_level_output_is_mean_pooled(srv: EmbeddingServer) -> None:
    srv.add_fault("token_level")
    vectors, _ = run_connector(connector(srv), ["mean pooled here", "x"], opts=options(srv))
    np.testing.assert_allclose(vectors, get_embedded_model().embed(["mean pooled here", "x"]), atol=1e-5)


def parse(body: object, count: int) -> list[list[float]]:
    return HuggingFaceConnector(HuggingFaceSettings(api_key="k", model=MODEL)).parse_response(body, count)


@pytest.mark.parametrize(("body", "count", "expected"), [
    ([[1.0, 2.0], [3.0, 4.0]], 2, [[1.0, 2.0], [3.0, 4.0]]),
    ([1, 2, 3], 1, [[1.0, 2.0, 3.0]]),
    ({"embeddings": [[1.0, 0.0]]}, 1, [[1.0, 0.0]]),
    ([[[3.0, 0.0], [1.0, 0.0]]], 1, [[1.0, 0.0]]),
    ([[3.0, 0.0], [0.0, 4.0]], 1, [[0.6, 0.8]]),
    ([[[[0.0, 2.0]]], [[[5.0, 0.0]]]], 2, [[0.0, 1.0], [1.0, 0.0]]),
])
def test_accepted_response_shapes(body: object, count: int, expected: list[list[float]]) -> None:
    np.testing.assert_allclose(parse(body, count), expected)


@pytest.mark.parametrize(("body", "count", "fragment"), [
    ({"vectors": [[1.0]]}, 1, "an object with keys [vectors]"),
    ([[1.0, 2.0]], 2, "depth 2"),
    ("just text", 1, "a JSON str"),
    ([["a", "b"]], 1, "depth -1"),
    ([[1.0, 2.0], [3.0]], 2, "different lengths"),
    ([[[1.0, 2.0], [3.0]]], 1, "ragged"),
])
def test_rejected_response_shapes(body: object, count: int, fragment: str) -> None:
    with pytest.raises(AiResponseShapeError) as caught:
        parse(body, count)
    assert fragment in caught.value.message or "list of depth" in caught.value.message


def classify(status: int, body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    hf = HuggingFaceConnector(HuggingFaceSettings(api_key="k", model=MODEL))
    return hf.classify(ProviderResponse(status, headers or {}, body, "", "http://x/embed"))


def test_tei_error_type_is_read_case_insensitively() -> None:
    failure = classify(429, {"error": "Model is overloaded", "error_type": "Overloaded"})
    assert isinstance(failure.error, AiRateLimitError) and failure.retryable
    assert isinstance(classify(500, {"error": "x", "error_type": "overloaded"}).error, AiRateLimitError)
    refused = classify(422, {"error": "batch size 64 > maximum allowed batch size 32", "error_type": "validation"})
    assert refused.batch_too_large and refused.batch_limit == 32
    assert not classify(422, {"error": "`inputs` must have less than 512 tokens", "error_type": "Validation"}
                        ).batch_too_large


def test_tei_backend_error_424_is_retryable() -> None:
    failure = classify(424, {"error": "Backend error: boom", "error_type": "Backend"})
    assert isinstance(failure.error, AiUnavailableError) and failure.retryable


def test_loading_503_carries_estimated_time() -> None:
    failure = classify(503, {"error": "Model X is currently loading", "estimated_time": 44.49})
    assert failure.retry_after == 44.49 and failure.retryable


def test_old_invalid_token_400_is_an_authentication_failure() -> None:
    failure = classify(400, {"error": "Authorization header is correct, but the token seems invalid"})
    assert isinstance(failure.error, AiAuthenticationError)


def test_usage_is_counted_by_the_tokenizer_or_estimated(srv: EmbeddingServer) -> None:
    texts = ["first", "second text"]
    router = HuggingFaceConnector(HuggingFaceSettings(api_key=API_KEY, model=MODEL), api_base=srv.url)
    counted = usage_of(router, texts, options(srv)).usage
    assert (counted.tokens, counted.estimated_tokens) == (
        sum(get_embedded_model().count_tokens(text) for text in texts), 0)  # the router reports none
    e5 = HuggingFaceConnector(HuggingFaceSettings(api_key=API_KEY, model="intfloat/e5-small-v2", endpoint=srv.url))
    estimated = usage_of(e5, texts, options(srv)).usage  # TEI; rookdb has no tokenizer for e5
    assert estimated.tokens == estimated.estimated_tokens == sum(len(text) // 4 for text in texts)
