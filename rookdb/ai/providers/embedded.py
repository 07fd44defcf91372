"""The embedded model as a provider: same interface as the HTTP vendors, no network."""

from __future__ import annotations

import asyncio

from rookdb.ai.embedded_model import (
    EMBEDDED_MODEL_DIMENSIONS,
    EMBEDDED_MODEL_NAME,
    EmbeddedModel,
    EmbeddedModelConfig,
    RunCancellation,
    get_embedded_model,
)
from rookdb.ai.providers.base import Embedded, EmbeddingProvider, Usage

__all__ = ["EmbeddedProvider"]


class EmbeddedProvider(EmbeddingProvider):
    """Runs ``EmbeddedModel`` in a worker thread so the event loop keeps serving requests; a
    cancelled ``embed`` terminates the model's run and returns once it has stopped."""

    connector = "Embedded"
    model = EMBEDDED_MODEL_NAME
    dimensions = EMBEDDED_MODEL_DIMENSIONS
    detected_protocol = "embedded"

    def __init__(
        self, model: EmbeddedModel | None = None, *, config: EmbeddedModelConfig | None = None
    ) -> None:
        self._model = model
        self._config = config

    def _get_model(self) -> EmbeddedModel:
        if self._model is None:
            # Loaded lazily: creating a provider for a connection string must not cost a model load.
            self._model = get_embedded_model(self._config)
        return self._model

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = await asyncio.to_thread(self._get_model)
        cancellation = RunCancellation()
        running = asyncio.ensure_future(asyncio.to_thread(model.embed, texts, cancellation=cancellation))
        try:
            vectors = await asyncio.shield(running)
        except asyncio.CancelledError:
            cancellation.cancel()
            # Nothing keeps computing for a caller that is gone (at shutdown, nothing outlives the stop).
            await asyncio.gather(running, return_exceptions=True)
            raise
        return vectors.tolist()  # type: ignore[no-any-return]

    async def embed_with_usage(self, texts: list[str]) -> Embedded:
        """One model run; its tokens counted exactly with the model's own tokenizer."""
        vectors = await self.embed(texts)
        return Embedded(vectors, await asyncio.to_thread(Usage.counted, None, texts, 1 if texts else 0))
