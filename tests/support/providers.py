"""Running providers in the real pipeline against the local embedding server, without waiting on backoffs."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from rookdb.ai.providers import HttpEmbeddingProvider, ProviderOptions, RetryPolicy, Timeouts
from rookdb.ai.providers.base import Embedded, EmbeddingProvider, HttpConnector
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY

API_KEY = EMBEDDING_API_KEY
# Retries without waiting: tests assert the *requested* delays through SleepRecorder.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.01, max_hint=30.0,
                         max_total_time=60.0, jitter=0.0)
FAST_TIMEOUTS = Timeouts(connect=2.0, request=5.0)


def options(server: EmbeddingServer, **changes: Any) -> ProviderOptions:
    values: dict[str, Any] = {"retry": FAST_RETRY, "timeouts": FAST_TIMEOUTS, "api_base": server.url}
    values.update(changes)
    return ProviderOptions(**values)


class SleepRecorder:
    """Stands in for asyncio.sleep and the pipeline's clock: records the backoff asked for and
    moves a fake clock forward by it, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 1000.0

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay

    def clock(self) -> float:
        return self.now


def run_connector(
    connector: HttpConnector,
    texts: list[str],
    *,
    opts: ProviderOptions | None = None,
    sleep: SleepRecorder | None = None,
) -> tuple[list[list[float]], HttpEmbeddingProvider]:
    """Embed ``texts`` through ``connector`` in the real pipeline; returns vectors and provider."""

    async def go() -> tuple[list[list[float]], HttpEmbeddingProvider]:
        recorder = sleep or SleepRecorder()
        provider = HttpEmbeddingProvider(
            connector, options=opts or ProviderOptions(retry=FAST_RETRY, timeouts=FAST_TIMEOUTS),
            sleep=recorder, clock=recorder.clock)
        try:
            return await provider.embed(texts), provider
        finally:
            await provider.aclose()

    return asyncio.run(go())


def usage_of(connector: HttpConnector, texts: list[str], opts: ProviderOptions) -> Embedded:
    """Embed ``texts`` through ``connector`` in the real pipeline, with what it cost."""

    async def go() -> Embedded:
        async with HttpEmbeddingProvider(connector, options=opts, sleep=SleepRecorder()) as provider:
            return await provider.embed_with_usage(texts)

    return asyncio.run(go())


def cosine(a: list[float], b: list[float]) -> float:
    va, vb = np.asarray(a), np.asarray(b)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))


class CountingProvider(EmbeddingProvider):
    """Counts how many embed calls are in flight at once (what the concurrency limit bounds)."""

    connector = "Counting"
    model = "counting"

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.calls = 0

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        return [[float(len(text)), 1.0] for text in texts]
