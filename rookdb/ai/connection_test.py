"""Test Connection: embed RavenDB's two probe values with unsaved settings and report precisely.

The one place where a provider failure becomes a result instead of an exception: the Studio shows
what went wrong (kind + message) next to the form. Refusing the embedded connector is an error,
as in RavenDB, which offers no Test Connection for it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from rookdb.ai.connection_strings import AiSettings, EmbeddedSettings, connector_name
from rookdb.ai.prompts import Prompts
from rookdb.ai.providers.base import EmbeddingProvider
from rookdb.ai.providers.pipeline import (
    DEFAULT_PROVIDER_OPTIONS,
    ProviderOptions,
    RetryPolicy,
    Timeouts,
    transport_failure_kind,
)
from rookdb.ai.providers.registry import create_provider
from rookdb.errors import (
    AiAuthenticationError,
    AiBadRequestError,
    AiConfigurationError,
    AiEndpointRetiredError,
    AiError,
    AiModelNotFoundError,
    AiRateLimitError,
    AiResponseShapeError,
    AiUnavailableError,
)

__all__ = [
    "DEFAULT_TEST_CONNECTION_TIMEOUT",
    "TEST_CONNECTION_RETRY",
    "TEST_CONNECTION_VALUES",
    "ConnectionTestResult",
    "FailureKind",
    "test_connection",
]

# RavenDB's EmbeddingsHelper.ValuesListToVerifyConnection.
TEST_CONNECTION_VALUES = ("TestValue", "TestValue2")
# Ai.Embeddings.TestConnectionTimeoutInSec.
DEFAULT_TEST_CONNECTION_TIMEOUT = 15.0
# A person is waiting: one retry for a blip, and a loading model's estimated_time honoured only
# while it fits the budget (max_total_time is set to the timeout per call).
TEST_CONNECTION_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.5, max_backoff=2.0, max_hint=5.0)

FailureKind = Literal["authentication", "model-not-found", "unreachable", "retired-host", "response-shape",
                      "rate-limited", "timeout", "unavailable", "bad-request", "configuration", "error"]

_KINDS: tuple[tuple[type[AiError], FailureKind], ...] = (
    (AiConfigurationError, "configuration"),
    (AiAuthenticationError, "authentication"),
    (AiModelNotFoundError, "model-not-found"),
    (AiEndpointRetiredError, "retired-host"),
    (AiResponseShapeError, "response-shape"),
    (AiRateLimitError, "rate-limited"),
    (AiBadRequestError, "bad-request"),
    (AiUnavailableError, "unavailable"),
)


@dataclass(frozen=True)
class ConnectionTestResult:
    """What Test Connection found: success with protocol/dimensions/latency, or the failure."""

    success: bool
    connector: str
    model: str | None
    detected_protocol: str | None
    dimensions: int | None
    latency_ms: float
    resolved_url: str | None
    failure_kind: FailureKind | None = None
    error: str | None = None
    provider_status: int | None = None
    prompts: Prompts = field(default_factory=Prompts)
    """The prompts the connection string puts before documents and search terms."""

    def to_json(self) -> dict[str, Any]:
        """RavenDB's ``{Success, Error}`` plus what rookdb found out."""
        return {
            "Success": self.success,
            "Error": self.error,
            "Connector": self.connector,
            "Model": self.model,
            "DetectedProtocol": self.detected_protocol,
            "Dimensions": self.dimensions,
            "LatencyMs": round(self.latency_ms, 1),
            "ResolvedUrl": self.resolved_url,
            "FailureKind": self.failure_kind,
            "ProviderStatus": self.provider_status,
            **self.prompts.to_json(),
        }


def failure_kind(error: AiError) -> FailureKind:
    """The Test Connection category of an error raised by a provider."""
    transport = transport_failure_kind(error)
    if transport == "timeout":
        return "timeout"
    if transport in ("unreachable", "dropped"):
        return "unreachable"
    for klass, kind in _KINDS:
        if isinstance(error, klass):
            return kind
    return "error"


async def test_connection(
    settings: AiSettings,
    *,
    timeout: float = DEFAULT_TEST_CONNECTION_TIMEOUT,
    http_client: httpx.AsyncClient | None = None,
    options: ProviderOptions = DEFAULT_PROVIDER_OPTIONS,
    prompts: Prompts | None = None,
) -> ConnectionTestResult:
    """Embed ``TEST_CONNECTION_VALUES`` (as documents: after ``prompts.document``) through ``settings``
    within ``timeout`` seconds. Raises ``AiConfigurationError`` for the embedded connector; reports
    everything else, with ``prompts``."""
    if isinstance(settings, EmbeddedSettings):
        raise AiConfigurationError(
            "The embedded model has no Test Connection: it runs inside rookdb and needs no credentials.")
    options = replace(
        options,
        retry=replace(TEST_CONNECTION_RETRY, max_total_time=timeout),
        timeouts=Timeouts(connect=min(options.timeouts.connect, timeout), request=timeout),
    )
    prompts = prompts or Prompts()
    name = connector_name(settings)
    model: str | None = getattr(settings, "model", None)
    started = time.perf_counter()

    def result(provider: EmbeddingProvider | None, **fields: Any) -> ConnectionTestResult:
        return ConnectionTestResult(
            connector=name,
            model=model,
            detected_protocol=provider.detected_protocol if provider else None,
            dimensions=provider.dimensions if provider and fields.get("success") else None,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            resolved_url=provider.resolved_url() if provider else None,
            prompts=prompts,
            **fields,
        )

    try:
        provider = create_provider(settings, http_client=http_client, options=options)
    except AiError as error:
        return result(None, success=False, failure_kind=failure_kind(error), error=error.message)
    try:
        async with asyncio.timeout(timeout):
            vectors = await provider.embed([prompts.document + value for value in TEST_CONNECTION_VALUES])
    except AiError as error:
        return result(provider, success=False, failure_kind=failure_kind(error), error=error.message,
                      provider_status=error.provider_status)
    except TimeoutError:
        return result(provider, success=False, failure_kind="timeout",
                      error=f"No answer within {timeout:g} seconds")
    finally:
        await provider.aclose()
    if len(vectors) != len(TEST_CONNECTION_VALUES):  # RavenDB's own check
        return result(provider, success=False, failure_kind="response-shape",
                      error=f"Expected {len(TEST_CONNECTION_VALUES)} embeddings, got {len(vectors)}")
    return result(provider, success=True)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name
