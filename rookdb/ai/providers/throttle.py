"""Pacing one connection string's provider requests: a 429 is a signal to slow down, not a failure.

A ``ProviderThrottle`` is shared by every embeddings task of a database that uses one connection
string (tasks run on their own threads and event loops, so it is thread-safe). Before each HTTP
request the pipeline takes a permit; a request waits while

1. the provider asked everyone to wait: a 429's ``Retry-After`` (or, without one, 1 s doubling
   with each 429 in a row) or a loading model's ``estimated_time`` closes a gate until then;
2. the connection string's declared ``RequestsPerMinute`` / ``TokensPerMinute`` would be exceeded:
   two token buckets, refilled continuously, holding one second's worth (a request larger than
   that waits for a full bucket, then goes, and the next one waits for the debt);
3. ``window`` requests are already in flight: a congestion window as TCP keeps one. Each accepted
   request widens it by 1/window, up to the configured concurrency; a 429 halves it, at most once
   per round trip (answers to requests sent before the last cut do not cut again).

So the task's concurrency and request rate follow what the provider accepts: after a burst of 429s
it sends one request at a time, spaced by what the provider asked, and widens again as requests go
through.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_FIRST_BACKOFF_SECONDS",
    "DEFAULT_MAX_BACKOFF_SECONDS",
    "DeclaredLimits",
    "Permit",
    "ProviderThrottle",
]

# A 429 without Retry-After closes the gate this long, doubled for each 429 in a row, at most the max.
DEFAULT_FIRST_BACKOFF_SECONDS = 1.0
DEFAULT_MAX_BACKOFF_SECONDS = 60.0
_MINIMUM_WINDOW = 1.0


@dataclass(frozen=True)
class DeclaredLimits:
    """What the user knows of the provider's limits (``RequestsPerMinute``, ``TokensPerMinute``)."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


@dataclass(frozen=True)
class Permit:
    """One request let through: when it started and the tokens it was charged."""

    started: float
    tokens: int


class _Bucket:
    """A token bucket of ``per_minute`` holding one second's worth; it may go into debt."""

    def __init__(self, per_minute: int, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    def wait(self, now: float, cost: float) -> float:
        """Seconds until ``cost`` may be taken (a cost above the capacity needs a full bucket)."""
        self._refill(now)
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def take(self, now: float, cost: float) -> None:
        self._refill(now)
        self.level -= cost


class ProviderThrottle:
    """Permits for one connection string's requests (see the module docstring).

    ``max_concurrency`` is the most requests in flight (``EmbeddingsMaxConcurrentBatches``);
    ``max_wait`` caps one closing of the gate (``Ai.Embeddings.MaxFallbackTimeInSec``).
    """

    def __init__(self, max_concurrency: int, limits: DeclaredLimits = DeclaredLimits(), *,
                 max_wait: float = 900.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._sleep = sleep
        self.limits = limits
        self._max_wait = max_wait
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._window = float(self.max_concurrency)
        self._in_flight = 0
        self._gate_until = 0.0
        self._last_cut = -math.inf
        self._in_a_row = 0
        self._requests = _Bucket(limits.requests_per_minute, now) if limits.requests_per_minute else None
        self._tokens = _Bucket(limits.tokens_per_minute, now) if limits.tokens_per_minute else None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.slowed_down = 0
        """Answers that asked to slow down (429, a loading model), since the throttle was made."""
        self.gated_seconds = 0.0
        """Total time the gate was closed."""

    # -- taking and giving back permits ---------------------------------------------------------

    async def acquire(self, tokens: int = 0) -> Permit:
        """Wait until a request charged ``tokens`` may be sent (cancellable)."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(now, tokens)
                if delay == 0.0:
                    self._in_flight += 1
                    for bucket, cost in ((self._requests, 1), (self._tokens, tokens)):
                        if bucket is not None:
                            bucket.take(now, cost)
                    return Permit(now, tokens)
                slot: asyncio.Future[None] | None = None
                if delay is None:
                    slot = loop.create_future()
                    self._waiters.append((loop, slot))
            if slot is None:
                assert delay is not None
                await self._sleep(delay)
                continue
            try:
                await slot
            except asyncio.CancelledError:
                with self._lock:
                    self._waiters = [(other, waiter) for other, waiter in self._waiters if waiter is not slot]
                raise

    def _delay(self, now: float, tokens: int) -> float | None:
        """0 to go now, seconds to wait, or None to wait for a request in flight to finish."""
        if now < self._gate_until:
            return self._gate_until - now
        waits = [bucket.wait(now, cost) for bucket, cost in ((self._requests, 1), (self._tokens, tokens))
                 if bucket is not None]
        if waits and max(waits) > 0:
            return max(waits)
        return None if self._in_flight >= math.floor(self._window) else 0.0

    def accepted(self, permit: Permit, tokens: int | None = None) -> None:
        """The provider answered: widen the window; ``tokens`` it reported settle the token bucket."""
        with self._lock:
            self._in_a_row = 0
            self._window = min(float(self.max_concurrency), self._window + 1.0 / self._window)
            if self._tokens is not None and tokens is not None and tokens != permit.tokens:
                self._tokens.take(self._clock(), tokens - permit.tokens)
            self._release()

    def slowed(self, permit: Permit, retry_after: float | None, *, congestion: bool = True) -> float:
        """The provider asked to wait (429, or a loading model with ``congestion=False``): close the
        gate for everyone and, for a 429, cut the window. Returns how long the gate stays closed."""
        with self._lock:
            now = self._clock()
            self.slowed_down += 1
            self._in_a_row += 1
            if retry_after is None:
                backoff = DEFAULT_FIRST_BACKOFF_SECONDS * 2 ** (self._in_a_row - 1)
                retry_after = min(backoff, DEFAULT_MAX_BACKOFF_SECONDS)
            wait = min(max(0.0, retry_after), self._max_wait)
            until = now + wait
            if until > self._gate_until:
                self.gated_seconds += until - max(now, self._gate_until)
                self._gate_until = until
            if congestion and permit.started > self._last_cut:
                self._window = max(_MINIMUM_WINDOW, self._window / 2.0)
                self._last_cut = now
            self._release()
            return wait

    def failed(self, permit: Permit) -> None:
        """The request failed otherwise (or was cancelled): give the slot back."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its waiter is gone
                loop.call_soon_threadsafe(_wake, waiter)

    # -- reading ---------------------------------------------------------------------------------

    def gate_remaining(self) -> float:
        """Seconds until the provider's wait ends (0 when requests may go)."""
        with self._lock:
            return max(0.0, self._gate_until - self._clock())

    def snapshot(self) -> dict[str, Any]:
        """What progress shows: the current window, requests in flight, slow-downs and waits."""
        with self._lock:
            return {
                "Concurrency": round(self._window, 2),
                "MaxConcurrency": self.max_concurrency,
                "InFlight": self._in_flight,
                "RateLimited": self.slowed_down,
                "WaitedSeconds": round(self.gated_seconds, 2),
                "WaitRemainingSeconds": round(max(0.0, self._gate_until - self._clock()), 2),
                "RequestsPerMinute": self.limits.requests_per_minute,
                "TokensPerMinute": self.limits.tokens_per_minute,
            }


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
