"""How embeddings workers and query embedding configure providers from settings."""

from __future__ import annotations

from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embedded_model import EmbeddedModelConfig
from rookdb.ai.providers.pipeline import DEFAULT_TIMEOUTS, ProviderOptions, RetryPolicy, Timeouts
from rookdb.ai.providers.throttle import ProviderThrottle
from rookdb.settings import Settings

__all__ = ["max_concurrent_batches", "provider_options"]


def provider_options(settings: Settings, retry: RetryPolicy,
                     throttle: ProviderThrottle | None = None) -> ProviderOptions:
    """Provider options from the ``Ai.Embeddings.*`` settings, with ``retry`` as the retry policy
    and ``throttle`` pacing the requests (tasks)."""
    request_timeout = float(settings["Ai.Embeddings.ProviderTimeoutInSec"])
    return ProviderOptions(
        retry=retry,
        timeouts=Timeouts(connect=min(DEFAULT_TIMEOUTS.connect, request_timeout), request=request_timeout),
        embedded_model=EmbeddedModelConfig(intra_op_threads=int(settings["Ai.Embeddings.LocalModelThreads"])),
        throttle=throttle,
    )


def max_concurrent_batches(connection_string: AiConnectionString, settings: Settings) -> int:
    """The connection string's ``EmbeddingsMaxConcurrentBatches``, else ``Ai.Embeddings.MaxConcurrentBatches``."""
    configured = getattr(connection_string.settings, "embeddings_max_concurrent_batches", None)
    if isinstance(configured, int) and configured > 0:
        return configured
    return int(settings["Ai.Embeddings.MaxConcurrentBatches"])
