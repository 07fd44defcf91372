"""The throttles of a database's embeddings tasks: one per connection string (and its limits)."""

from __future__ import annotations

import threading

from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embeddings._options import max_concurrent_batches
from rookdb.ai.providers.throttle import DeclaredLimits, ProviderThrottle
from rookdb.settings import Settings

__all__ = ["TaskThrottles"]


class TaskThrottles:
    """The throttles of a database's tasks: one per connection string and limits, shared by every task
    that uses it (so that together they keep to what the provider accepts)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._throttles: dict[tuple[str, int, int | None, int | None], ProviderThrottle] = {}

    def get(self, connection_string: AiConnectionString) -> ProviderThrottle:
        key = (connection_string.identifier, max_concurrent_batches(connection_string, self._settings),
               connection_string.requests_per_minute, connection_string.tokens_per_minute)
        with self._lock:
            throttle = self._throttles.get(key)
            if throttle is None:
                limits = DeclaredLimits(connection_string.requests_per_minute, connection_string.tokens_per_minute)
                throttle = ProviderThrottle(key[1], limits,
                                            max_wait=float(self._settings["Ai.Embeddings.MaxFallbackTimeInSec"]))
                self._throttles = {k: v for k, v in self._throttles.items() if k[0] != key[0]}
                self._throttles[key] = throttle
            return throttle
