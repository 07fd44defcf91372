"""The shared HTTP pipeline, over real HTTP: retries and their delays, batch halving, fail-fast,
transport failures, and the httpx → rookdb error boundary."""

from __future__ import annotations

import asyncio
import inspect
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import numpy as np
import pytest

from rookdb.ai.connection_strings import HuggingFaceSettings, OpenAiSettings
from rookdb.ai.providers import pipeline
from rookdb.ai.providers.base import ProviderResponse, error_text, retry_after_seconds
from rookdb.ai.providers.huggingface import HuggingFaceConnector
from rookdb.ai.providers.openai import OpenAiConnector
from rookdb.ai.providers.pipeline import (
    HttpEmbeddingProvider,
    ProviderOptions,
    RetryPolicy,
    Timeouts,
    map_httpx_error,
    transport_failure_kind,
)
from rookdb.ai.providers.throttle import ProviderThrottle
from rookdb.errors import (
    AiAuthenticationError,
    AiBadRequestError,
    AiConfigurationError,
    AiEndpointRetiredError,
    AiModelNotFoundError,
    AiRateLimitError,
    AiResponseShapeError,
    AiUnavailableError,
)
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.providers import API_KEY, FAST_RETRY, SleepRecorder, options, run_connector

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def router(server: EmbeddingServer, api_key: str = API_KEY) -> HuggingFaceConnector:
    return HuggingFaceConnector(HuggingFaceSettings(api_key=api_key, model=MODEL), api_base=server.url)


def texts(n: int) -> list[str]:
    return [f"document number {i}" for i in range(n)]


def test_loading_model_is_retried_after_its_estimated_time(srv: EmbeddingServer) -> None:
    srv.add_fault("loading", times=2, estimated_time=7.5)
    sleep = SleepRecorder()
    vectors, provider = run_connector(router(srv), texts(3), opts=options(srv), sleep=sleep)
    assert len(vectors) == 3
    assert sleep.delays == [7.5, 7.5]
    assert srv.stats()["hf-router"].requests == 3
    assert provider.provider_calls == 3


def test_estimated_time_is_capped_by_the_policy(srv: EmbeddingServer) -> None:
    srv.add_fault("loading", estimated_time=3600)
    sleep = SleepRecorder()
    run_connector(router(srv), texts(1), opts=options(srv, retry=RetryPolicy(max_hint=2.0, jitter=0)),
                  sleep=sleep)
    assert sleep.delays == [2.0]


def test_rate_limit_honours_retry_after(srv: EmbeddingServer) -> None:
    srv.add_fault("rate_limit", retry_after=4)
    sleep = SleepRecorder()
    vectors, _ = run_connector(router(srv), texts(2), opts=options(srv), sleep=sleep)
    assert len(vectors) == 2 and sleep.delays == [4.0]


def throttled(server: EmbeddingServer, sleep: SleepRecorder, concurrency: int = 4) -> tuple[
        ProviderOptions, ProviderThrottle]:
    made = ProviderThrottle(concurrency, clock=sleep.clock, sleep=sleep)
    return options(server, throttle=made), made


def test_with_a_throttle_429s_are_waited_out_past_the_retry_policy(srv: EmbeddingServer) -> None:
    srv.add_fault("rate_limit", times=6, retry_after=2)  # more than FAST_RETRY's four attempts
    sleep = SleepRecorder()
    opts, made = throttled(srv, sleep)
    vectors, provider = run_connector(router(srv), texts(2), opts=opts, sleep=sleep)
    assert len(vectors) == 2 and provider.provider_calls == 7
    assert sleep.delays == [2.0] * 6  # the throttle's gate, nothing from the retry schedule
    snapshot = made.snapshot()
    # Cut to 1 by the 429s, widened to 2 by the answer.
    assert (snapshot["RateLimited"], snapshot["InFlight"], snapshot["Concurrency"]) == (6, 0, 2.0)


def test_with_a_throttle_a_loading_model_is_waited_out_without_cutting_the_window(srv: EmbeddingServer) -> None:
    srv.add_fault("loading", times=2, estimated_time=3.0)
    sleep = SleepRecorder()
    opts, made = throttled(srv, sleep)
    run_connector(router(srv), texts(1), opts=opts, sleep=sleep)
    assert sleep.delays == [3.0, 3.0] and made.snapshot()["Concurrency"] == 4.0


def test_with_a_throttle_other_failures_keep_the_retry_policy(srv: EmbeddingServer) -> None:
    srv.add_fault("server_error", times=None, status=502)
    sleep = SleepRecorder()
    opts, made = throttled(srv, sleep)
    with pytest.raises(AiUnavailableError):
        run_connector(router(srv), texts(1), opts=opts, sleep=sleep)
    assert srv.stats()["hf-router"].requests == FAST_RETRY.max_attempts
    assert made.snapshot()["InFlight"] == 0 and made.snapshot()["RateLimited"] == 0


def test_server_errors_back_off_on_the_schedule_then_give_up(srv: EmbeddingServer) -> None:
    srv.add_fault("server_error", times=None, status=502)
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=4, initial_backoff=0.5, multiplier=2.0, max_backoff=1.5, jitter=0)
    with pytest.raises(AiUnavailableError, match="answered 502") as caught:
        run_connector(router(srv), texts(1), opts=options(srv, retry=policy), sleep=sleep)
    assert caught.value.provider_status == 502
    assert sleep.delays == [0.5, 1.0, 1.5]
    assert srv.stats()["hf-router"].requests == 4


def test_total_time_bounds_retries(srv: EmbeddingServer) -> None:
    srv.add_fault("loading", times=None, estimated_time=20)
    sleep = SleepRecorder()
    policy = RetryPolicy(max_attempts=10, max_total_time=30.0)
    with pytest.raises(AiUnavailableError, match="loading"):
        run_connector(router(srv), texts(1), opts=options(srv, retry=policy), sleep=sleep)
    assert sleep.delays == [20.0]  # a second 20 s wait would pass the 30 s budget


@pytest.mark.parametrize(("fault", "error", "status"), [
    ("unauthorized", AiAuthenticationError, 401),
    ("model_not_found", AiModelNotFoundError, 404),
    ("retired", AiEndpointRetiredError, 410),
])
def test_permanent_failures_are_not_retried(srv: EmbeddingServer, fault: str, error: type[Exception],
                                            status: int) -> None:
    srv.add_fault(fault, times=None)  # type: ignore[arg-type]
    sleep = SleepRecorder()
    with pytest.raises(error) as caught:
        run_connector(router(srv), texts(2), opts=options(srv), sleep=sleep)
    assert caught.value.provider_status == status  # type: ignore[attr-defined]
    assert sleep.delays == []
    assert srv.stats()["hf-router"].requests == 1


def test_batch_refused_with_a_named_limit_is_resent_at_that_size(srv: EmbeddingServer) -> None:
    srv.add_fault("batch_limit", times=None, max_batch=5, routes=["hf-router"])
    vectors, provider = run_connector(router(srv), texts(23), opts=options(srv))
    assert len(vectors) == 23
    stats = srv.stats()["hf-router"]
    # one refused request of 23, then 5+5+5+5+3
    assert stats.requests == 6 and stats.inputs == 23 + 23
    assert provider.batch_size == 5


def test_batch_refused_without_a_limit_is_halved(srv: EmbeddingServer) -> None:
    srv.add_fault("batch_limit", times=None, max_batch=6, announce_limit=False, routes=["hf-router"])
    vectors, provider = run_connector(router(srv), texts(20), opts=options(srv))
    assert len(vectors) == 20
    assert provider.batch_size == 5  # 20 → 10 → 5
    sizes = [len(r.body["inputs"]) for r in srv.requests("hf-router")]
    assert sizes == [20, 10, 5, 5, 5, 5]


def test_halved_vectors_match_a_single_request(srv: EmbeddingServer) -> None:
    whole, _ = run_connector(router(srv), texts(8), opts=options(srv))
    srv.add_fault("batch_limit", times=None, max_batch=3, routes=["hf-router"])
    split, _ = run_connector(router(srv), texts(8), opts=options(srv))
    np.testing.assert_allclose(split, whole, atol=1e-6)


def test_a_single_input_refused_as_too_large_fails(srv: EmbeddingServer) -> None:
    srv.add_fault("batch_limit", times=None, max_batch=0, routes=["hf-router"])
    with pytest.raises(AiBadRequestError, match="maximum allowed batch size 0"):
        run_connector(router(srv), texts(2), opts=options(srv))


def test_batches_never_exceed_max_inputs_per_request(srv: EmbeddingServer) -> None:
    vectors, _ = run_connector(router(srv), texts(30), opts=options(srv, max_inputs_per_request=8))
    assert len(vectors) == 30
    assert [len(r.body["inputs"]) for r in srv.requests("hf-router")] == [8, 8, 8, 6]


def test_dropped_connection_is_unavailable_and_retried(srv: EmbeddingServer) -> None:
    srv.add_fault("drop")
    vectors, _ = run_connector(router(srv), texts(2), opts=options(srv))
    assert len(vectors) == 2


def test_dropped_connection_every_time_raises_unavailable(srv: EmbeddingServer) -> None:
    srv.add_fault("drop", times=None)
    with pytest.raises(AiUnavailableError, match="dropped the connection") as caught:
        run_connector(router(srv), texts(2), opts=options(srv, retry=RetryPolicy(max_attempts=2, jitter=0)))
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert transport_failure_kind(caught.value) == "dropped"


def test_slow_answer_times_out(srv: EmbeddingServer) -> None:
    srv.add_fault("slow", times=None, delay=1.0)
    opts = options(srv, timeouts=Timeouts(connect=1.0, request=0.2), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(AiUnavailableError, match="timed out") as caught:
        run_connector(router(srv), texts(1), opts=opts)
    assert transport_failure_kind(caught.value) == "timeout"


def test_slow_answer_within_the_timeout_succeeds(srv: EmbeddingServer) -> None:
    srv.add_fault("slow", delay=0.05)
    vectors, _ = run_connector(router(srv), texts(1), opts=options(srv))
    assert len(vectors) == 1


def test_refused_connection_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connector = OpenAiConnector(OpenAiSettings(api_key="sk-x", endpoint=f"http://127.0.0.1:{port}/v1",
                                               model="text-embedding-3-small"))
    sleep = SleepRecorder()
    with pytest.raises(AiUnavailableError, match="could not connect") as caught:
        run_connector(connector, ["a"], opts=ProviderOptions(retry=RetryPolicy(max_attempts=2, jitter=0)),
                      sleep=sleep)
    assert transport_failure_kind(caught.value) == "unreachable"
    assert len(sleep.delays) == 1


def test_wrong_response_shape_names_the_shape_not_the_content(srv: EmbeddingServer) -> None:
    srv.add_fault("wrong_shape")
    with pytest.raises(AiResponseShapeError) as caught:
        run_connector(router(srv), ["secret document text"], opts=options(srv))
    assert "keys [count, result]" in caught.value.message
    assert "secret document text" not in caught.value.message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_vectors_reach_the_caller_for_the_texts_they_belong_to(srv: EmbeddingServer, value: str) -> None:
    # Python-based servers write bare NaN/Infinity, which orjson refuses: the answer must still be read,
    # so that only the documents behind those texts fail, not the whole batch.
    srv.add_fault("non_finite", text="broken", value=value)
    vectors, _ = run_connector(router(srv), ["fine text", "broken text", "other text"], opts=options(srv))
    assert np.isfinite(vectors[0]).all() and np.isfinite(vectors[2]).all()
    assert not np.isfinite(vectors[1]).any()


def test_every_httpx_exception_is_mapped() -> None:
    exported = {obj for name in httpx.__all__ if inspect.isclass(obj := getattr(httpx, name))
                and issubclass(obj, Exception)}
    mapped = {klass for klass, _, _ in pipeline.HTTPX_ERRORS}
    assert exported <= mapped


@pytest.mark.parametrize(("exc", "error", "kind"), [
    (httpx.ConnectTimeout("t"), AiUnavailableError, "timeout"),
    (httpx.ReadTimeout("t"), AiUnavailableError, "timeout"),
    (httpx.ConnectError("refused"), AiUnavailableError, "unreachable"),
    (httpx.RemoteProtocolError("eof"), AiUnavailableError, "dropped"),
    (httpx.UnsupportedProtocol("ftp"), AiConfigurationError, "configuration"),
    (httpx.InvalidURL("bad"), AiConfigurationError, "configuration"),
])
def test_mapping_picks_the_most_specific_entry(exc: Exception, error: type[Exception], kind: str) -> None:
    try:
        raise map_httpx_error(exc, "OpenAI", "http://x") from exc
    except Exception as mapped:
        assert type(mapped) is error
        assert transport_failure_kind(mapped) == kind


def test_api_key_is_scrubbed_from_error_bodies() -> None:
    key = "sk-live-abcdefghijklmnop"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": f"Key {key} lacks permission"}})

    async def go() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        connector = OpenAiConnector(OpenAiSettings(api_key=key, endpoint="https://api.example/v1", model="m"))
        provider = HttpEmbeddingProvider(connector, http_client=client, options=ProviderOptions(retry=FAST_RETRY))
        try:
            await provider.embed(["x"])
        finally:
            await client.aclose()

    with pytest.raises(AiBadRequestError) as caught:
        asyncio.run(go())
    assert key not in str(caught.value) and "Key *** lacks permission" in caught.value.message


def test_non_json_success_is_a_shape_error() -> None:
    async def go() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")))
        connector = OpenAiConnector(OpenAiSettings(api_key="k", endpoint="https://api.example/v1", model="m"))
        await HttpEmbeddingProvider(connector, http_client=client).embed(["x"])

    with pytest.raises(AiResponseShapeError, match="not JSON"):
        asyncio.run(go())


def test_retry_policy_schedule_and_validation() -> None:
    policy = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=5.0, jitter=0.0, max_hint=10.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.delay(1, 30.0) == 10.0
    assert 1.0 <= RetryPolicy(initial_backoff=1.0, jitter=0.5).delay(1, None) <= 1.5
    with pytest.raises(AiConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(AiConfigurationError):
        ProviderOptions(max_inputs_per_request=0)


def test_retry_after_forms() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "12"})) == 12.0
    assert 25 < (retry_after_seconds(httpx.Headers({"Retry-After": later})) or 0) <= 30
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"})) == 1.5
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Headers({})) is None


@pytest.mark.parametrize(("body", "text", "expected"), [
    ({"error": "Model X is currently loading", "estimated_time": 3}, "", "Model X is currently loading"),
    ({"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, "", "Incorrect API key"),
    ({"message": "Unauthorized", "request_id": "1"}, "", "Unauthorized"),
    ({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, "",
     "invalid_grant: Invalid JWT Signature."),
    (None, "Not Found", "Not Found"),
])
def test_error_text_reads_each_vendor_shape(body: object, text: str, expected: str) -> None:
    response = ProviderResponse(400, {}, body, text, "http://x")
    assert error_text(response) == expected


def test_rate_limit_error_carries_retry_after(srv: EmbeddingServer) -> None:
    srv.add_fault("rate_limit", times=None, retry_after=2)
    with pytest.raises(AiRateLimitError) as caught:
        run_connector(router(srv), texts(1), opts=options(srv, retry=RetryPolicy(max_attempts=1)))
    assert caught.value.retry_after == 2.0


def test_timeouts_apply_to_a_shared_client(srv: EmbeddingServer) -> None:
    srv.add_fault("slow", times=None, delay=1.0)

    async def go() -> None:
        async with httpx.AsyncClient(timeout=30) as shared:
            provider = HttpEmbeddingProvider(
                router(srv), http_client=shared,
                options=options(srv, timeouts=Timeouts(connect=1.0, request=0.2), retry=RetryPolicy(max_attempts=1)))
            with pytest.raises(AiUnavailableError, match="timed out"):
                await provider.embed(["a"])
            await provider.aclose()
            assert not shared.is_closed  # a shared client is not the provider's to close

    asyncio.run(go())
