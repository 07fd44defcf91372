"""The one HTTP pipeline every vendor connector runs in: client, timeouts, retries, batching.

Written once so that each connector stays a pure adapter (request in, vectors or ``Failure`` out).
``httpx`` exceptions are translated to rookdb errors here, at one boundary, and chained with
``from``; secrets are scrubbed from every provider answer before a connector reads it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from rookdb.ai.chunking import estimate_tokens
from rookdb.ai.embedded_model import EmbeddedModelConfig
from rookdb.ai.providers.base import (
    Embedded,
    EmbeddingProvider,
    Failure,
    HttpConnector,
    ProviderRequest,
    ProviderResponse,
    Usage,
)
from rookdb.ai.providers.throttle import Permit, ProviderThrottle
from rookdb.errors import (
    AiConfigurationError,
    AiError,
    AiResponseShapeError,
    AiUnavailableError,
)

__all__ = [
    "DEFAULT_MAX_INPUTS_PER_REQUEST",
    "DEFAULT_PROVIDER_OPTIONS",
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUTS",
    "HTTPX_ERRORS",
    "HttpEmbeddingProvider",
    "ProviderOptions",
    "RetryPolicy",
    "Timeouts",
    "map_httpx_error",
    "transport_failure_kind",
]

logger = logging.getLogger("rookdb.ai.providers")

# Ai.Embeddings.MaxBatchSize: RavenDB sends at most this many texts per provider call.
DEFAULT_MAX_INPUTS_PER_REQUEST = 128


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again. Attempt ``n`` (1-based) waits ``initial_backoff * multiplier**(n-1)``
    capped at ``max_backoff``, plus up to ``jitter`` of itself so clients that failed together do
    not retry together. A provider's own hint (``Retry-After``, Hugging Face ``estimated_time``)
    replaces the schedule, capped at ``max_hint``. Nothing is retried past ``max_attempts`` or
    after ``max_total_time`` seconds from the first attempt of a batch."""

    max_attempts: int = 5
    initial_backoff: float = 1.0
    multiplier: float = 2.0
    max_backoff: float = 16.0
    max_hint: float = 60.0
    max_total_time: float = 120.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise AiConfigurationError("RetryPolicy.max_attempts must be at least 1")
        if min(self.initial_backoff, self.max_backoff, self.max_hint, self.max_total_time, self.jitter) < 0:
            raise AiConfigurationError("RetryPolicy durations must not be negative")

    def delay(self, attempt: int, hint: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt``."""
        if hint is not None:
            return min(hint, self.max_hint)
        base = min(self.initial_backoff * self.multiplier ** (attempt - 1), self.max_backoff)
        return base * (1.0 + random.uniform(0.0, self.jitter))


@dataclass(frozen=True)
class Timeouts:
    """Per-request HTTP timeouts in seconds (``request`` = Ai.Embeddings.ProviderTimeoutInSec)."""

    connect: float = 10.0
    request: float = 60.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.request, connect=min(self.connect, self.request))


DEFAULT_RETRY_POLICY = RetryPolicy()
DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class ProviderOptions:
    """Everything about how providers run that is not part of a connection string."""

    retry: RetryPolicy = DEFAULT_RETRY_POLICY
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    max_inputs_per_request: int = DEFAULT_MAX_INPUTS_PER_REQUEST
    embedded_model: EmbeddedModelConfig | None = None
    """Threads and batch cap of the embedded model (first provider to load it wins)."""
    api_base: str | None = None
    """Replaces a vendor's fixed host (Google AI, Vertex AI, the Hugging Face router): for proxies
    and for tests against the local embedding server. Connection strings cannot set it."""
    throttle: ProviderThrottle | None = None
    """Paces requests (embeddings tasks): with one, a 429 or a loading model is waited out and the
    request sent again, however long it takes; without one, it is retried per ``retry``."""

    def __post_init__(self) -> None:
        if self.max_inputs_per_request < 1:
            raise AiConfigurationError("max_inputs_per_request must be at least 1")


DEFAULT_PROVIDER_OPTIONS = ProviderOptions()

TransportKind = Literal["timeout", "unreachable", "dropped", "protocol", "configuration"]

# Every exception httpx exports, most specific first, with what it means for a provider call.
HTTPX_ERRORS: tuple[tuple[type[Exception], TransportKind, str], ...] = (
    (httpx.ConnectTimeout, "timeout", "timed out connecting"),
    (httpx.ReadTimeout, "timeout", "timed out waiting for the answer"),
    (httpx.WriteTimeout, "timeout", "timed out sending the request"),
    (httpx.PoolTimeout, "timeout", "timed out waiting for a free connection"),
    (httpx.TimeoutException, "timeout", "timed out"),
    (httpx.ProxyError, "unreachable", "could not go through the proxy"),
    (httpx.ConnectError, "unreachable", "could not connect"),
    (httpx.RemoteProtocolError, "dropped", "dropped the connection or broke the HTTP protocol"),
    (httpx.ReadError, "dropped", "connection failed while reading the answer"),
    (httpx.WriteError, "dropped", "connection failed while sending the request"),
    (httpx.CloseError, "dropped", "connection failed while closing"),
    (httpx.NetworkError, "unreachable", "network error"),
    (httpx.UnsupportedProtocol, "configuration", "URL scheme is not http or https"),
    (httpx.LocalProtocolError, "protocol", "request could not be sent as valid HTTP"),
    (httpx.ProtocolError, "protocol", "HTTP protocol error"),
    (httpx.DecodingError, "protocol", "answer could not be decoded"),
    (httpx.TooManyRedirects, "configuration", "redirected too many times"),
    (httpx.TransportError, "unreachable", "transport error"),
    (httpx.RequestError, "unreachable", "request failed"),
    (httpx.HTTPStatusError, "protocol", "answered an error status"),
    (httpx.InvalidURL, "configuration", "URL is invalid"),
    (httpx.CookieConflict, "protocol", "cookie conflict"),
    (httpx.StreamConsumed, "protocol", "stream already consumed"),
    (httpx.StreamClosed, "protocol", "stream closed"),
    (httpx.ResponseNotRead, "protocol", "response not read"),
    (httpx.RequestNotRead, "protocol", "request not read"),
    (httpx.StreamError, "protocol", "stream error"),
    (httpx.HTTPError, "protocol", "HTTP error"),
)
_RETRYABLE_KINDS: frozenset[TransportKind] = frozenset({"timeout", "unreachable", "dropped"})


def map_httpx_error(exc: Exception, vendor: str, url: str) -> AiError:
    """The rookdb error for an httpx exception (the caller chains it with ``from``)."""
    kind: TransportKind = "protocol"
    meaning = "unexpected client error"
    for klass, klass_kind, klass_meaning in HTTPX_ERRORS:
        if isinstance(exc, klass):
            kind, meaning = klass_kind, klass_meaning
            break
    message = f"{vendor} {url}: {meaning} ({type(exc).__name__})"
    error: AiError
    if kind in _RETRYABLE_KINDS:
        error = AiUnavailableError(message)
    elif kind == "configuration":
        error = AiConfigurationError(message)
    else:
        error = AiError(message)
    return error


def transport_failure_kind(error: BaseException) -> TransportKind | None:
    """How the transport failed for an error from ``map_httpx_error`` (read from the chained
    cause); None when the provider answered."""
    cause = error.__cause__
    if not isinstance(cause, Exception):
        return None
    for klass, kind, _ in HTTPX_ERRORS:
        if isinstance(cause, klass):
            return kind
    return None


Sleep = Callable[[float], Awaitable[None]]


class _BatchTooLarge(Exception):
    """The batch must be resent smaller: the provider refused it, or ``prepare`` learned a lower
    limit (TEI's ``/info``) after the batch was cut."""

    def __init__(self, error: AiError | None, limit: int | None, requests: int = 0) -> None:
        super().__init__()
        self.error = error
        self.limit = limit
        self.requests = requests


class HttpEmbeddingProvider(EmbeddingProvider):
    """Runs an ``HttpConnector``: splits inputs into request-sized batches, sends them one after
    another, retries what is retryable per ``RetryPolicy`` and halves a batch the provider says
    is too large (remembering the smaller size for later calls)."""

    def __init__(
        self,
        connector: HttpConnector,
        *,
        http_client: httpx.AsyncClient | None = None,
        options: ProviderOptions = DEFAULT_PROVIDER_OPTIONS,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connector = connector
        self._options = options
        self._owns_client = http_client is None
        self._timeout = options.timeouts.to_httpx()
        self._client = http_client or httpx.AsyncClient(timeout=self._timeout)
        self._sleep = sleep
        self._clock = clock
        self._prepare_lock = asyncio.Lock()
        self._batch_size = options.max_inputs_per_request
        self._learned_dimensions: int | None = None
        self.connector = connector.connector
        self.model = connector.model
        self.provider_calls = 0
        """HTTP requests sent, including retries and probes (for stats)."""

    @property
    def dimensions(self) -> int | None:
        return self._connector.dimensions or self._learned_dimensions

    @property
    def detected_protocol(self) -> str | None:
        return self._connector.protocol

    @property
    def batch_size(self) -> int:
        """Inputs per request currently used (shrinks when the provider refuses a batch)."""
        return min(self._batch_size, self._connector.max_batch_size)

    def resolved_url(self) -> str | None:
        return self._connector.endpoint_url()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return (await self.embed_with_usage(texts)).vectors

    async def embed_with_usage(self, texts: list[str]) -> Embedded:
        """Vectors with their cost: the embedding requests sent (retries and 429s included) and the
        tokens each answer reported, or that rookdb counted when it reported none."""
        vectors: list[list[float]] = []
        usage = Usage()
        start = 0
        while start < len(texts):
            size = min(self._batch_size, self._connector.max_batch_size, len(texts) - start)
            batch = texts[start : start + size]
            try:
                batch_vectors, requests, tokens = await self._embed_batch(batch)
            except _BatchTooLarge as refused:
                if size <= 1 and refused.error is not None:
                    raise refused.error from None
                limit = refused.limit
                self._batch_size = limit if limit is not None and 0 < limit < size else max(1, size // 2)
                logger.info("%s refused %d inputs per request; using %d",
                            self._connector.vendor, size, self._batch_size)
                usage += Usage(refused.requests)
                continue
            vectors.extend(batch_vectors)
            usage += Usage(requests, tokens) if tokens is not None else Usage.counted(self.model, batch, requests)
            start += size
        return Embedded(vectors, usage)

    async def _embed_batch(self, batch: Sequence[str]) -> tuple[list[list[float]], int, int | None]:
        """The batch's vectors, the requests sent for it and the tokens the provider reported."""
        policy = self._options.retry
        throttle = self._options.throttle
        deadline = self._clock() + policy.max_total_time
        attempt = requests = 0
        while True:
            permit = await throttle.acquire(sum(map(estimate_tokens, batch))) if throttle is not None else None
            requests += 1
            try:
                vectors, tokens, failure = await self._attempt(batch)
            except BaseException:
                if throttle is not None and permit is not None:
                    throttle.failed(permit)
                raise
            if throttle is not None and permit is not None and self._settle(throttle, permit, failure, tokens):
                continue  # the provider's wait is not a failed attempt: send again once it is over
            if failure is None:
                return vectors, requests, tokens
            attempt += 1
            if failure.batch_too_large:
                raise _BatchTooLarge(failure.error, failure.batch_limit, requests)
            if not failure.retryable or attempt >= policy.max_attempts:
                raise failure.error
            wait = policy.delay(attempt, failure.retry_after)
            if self._clock() + wait > deadline:
                raise failure.error
            logger.warning("%s attempt %d failed (%s); retrying in %.2fs",
                           self._connector.vendor, attempt, failure.error.message, wait)
            await self._sleep(wait)

    async def _attempt(self, batch: Sequence[str]) -> tuple[list[list[float]], int | None, Failure | None]:
        """Send ``batch`` once: its vectors and reported tokens, or the classified failure."""
        try:
            async with self._prepare_lock:
                await self._connector.prepare(self._send)
            if len(batch) > self._connector.max_batch_size:
                raise _BatchTooLarge(None, self._connector.max_batch_size)
            response = await self._send(self._connector.build_request(batch))
            if response.ok:
                return self._parse(response, len(batch)), self._connector.usage(response), None
            return [], None, self._connector.classify(response)
        except AiError as error:
            return [], None, Failure(error, retry_after=getattr(error, "retry_after", None))

    def _settle(self, throttle: ProviderThrottle, permit: Permit, failure: Failure | None,
                tokens: int | None) -> bool:
        """Tell the throttle how the request went; True when the provider asked to wait and retry."""
        if failure is None:
            throttle.accepted(permit, tokens)
            return False
        if failure.slow_down:
            wait = throttle.slowed(permit, failure.retry_after, congestion=failure.congestion)
            logger.info("%s asked to slow down (%s); waiting %.2fs", self._connector.vendor,
                        failure.error.message, wait)
            return True
        throttle.failed(permit)
        return False

    def _parse(self, response: ProviderResponse, count: int) -> list[list[float]]:
        if response.body is None:
            raise AiResponseShapeError(
                f"{self._connector.vendor} {response.url} answered {response.status} with a body that is "
                f"not JSON ({response.headers.get('content-type', 'no content type')}, "
                f"{len(response.text)} characters)")
        vectors = self._connector.parse_response(response.body, count)
        width = len(vectors[0]) if vectors else 0
        expected = self._connector.dimensions or self._learned_dimensions
        if vectors and expected is not None and width != expected:
            raise AiResponseShapeError(
                f"{self._connector.vendor} returned {width}-dimensional vectors, expected {expected}")
        if vectors and self._learned_dimensions is None:
            self._learned_dimensions = width
        return vectors

    async def _send(self, request: ProviderRequest) -> ProviderResponse:
        """Send once. Transport failures become ``AiError``; HTTP statuses are returned."""
        self.provider_calls += 1
        headers = dict(request.headers)
        content: bytes | None = None
        if request.json is not None:
            content = orjson.dumps(request.json)
            headers.setdefault("Content-Type", "application/json")
        try:
            # Timeouts per request, so they hold for a shared client too.
            response = await self._client.request(
                request.method, request.url, headers=headers, content=content, data=request.form,
                timeout=self._timeout)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError) as exc:
            raise map_httpx_error(exc, self._connector.vendor, request.url) from exc
        return self._to_response(response, request.url)

    def _to_response(self, response: httpx.Response, url: str) -> ProviderResponse:
        body: Any = None
        if response.content:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                body = _lenient_json(response.content)
        text = response.text if body is None else ""
        if not 200 <= response.status_code < 300:
            # Error bodies reach messages; some vendors echo the key they refused.
            body = _scrub(body, self._connector.secrets())
            text = _scrub(text, self._connector.secrets())
        return ProviderResponse(response.status_code, response.headers, body, text, url)


def _lenient_json(content: bytes) -> Any:
    """JSON with the ``NaN``/``Infinity`` that Python-based servers write and orjson refuses; None if
    it is not JSON at all. A vector holding them then fails its own documents, not the whole batch."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret and len(secret) >= 4:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, secrets) for item in value]
    return value

