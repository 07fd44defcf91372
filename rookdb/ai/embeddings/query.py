"""Embedding the text of a vector query (``embedding.text(Name, ai.task('my-task'))``) through a task's
connection string, with the embeddings cache in front of the provider."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from rookdb.ai.chunking import chunk
from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embeddings._options import max_concurrent_batches, provider_options
from rookdb.ai.embeddings.cache import Clock, EmbeddingsCache, needs_extension
from rookdb.ai.embeddings.layout import decode_vector
from rookdb.ai.embeddings.usage import DailyUsage, UsageCounts, query_owner
from rookdb.ai.prompts import prompts_for
from rookdb.ai.providers.base import Embedded, EmbeddingProvider, Usage
from rookdb.ai.providers.pipeline import DEFAULT_RETRY_POLICY
from rookdb.ai.providers.registry import create_provider
from rookdb.ai.quantization import VectorEmbeddingType, encode, text_hash
from rookdb.ai.task_config import EmbeddingsGenerationConfiguration
from rookdb.ai.tokens import count_tokens
from rookdb.background import DEFAULT_FORCED_EXIT_SECONDS, ProviderLoop
from rookdb.errors import AiUnavailableError, RookError
from rookdb.settings import Settings
from rookdb.storage.base import DocumentStorage, WriteTransaction

__all__ = ["QueryEmbedder"]

logger = logging.getLogger("rookdb.ai.embeddings")

_T = TypeVar("_T")
# Query vectors are cached unquantized: the search compares the float query with stored vectors
# (quantizing it too would only lose precision), so one cache entry serves Single, Int8 and Binary.
_QUERY_KIND = VectorEmbeddingType.SINGLE
# Search terms served from the cache cost no write; their usage is stored at most this much later.
DEFAULT_USAGE_FLUSH_SECONDS = 10.0


@dataclasses.dataclass
class _Provider:
    provider: EmbeddingProvider
    limit: asyncio.Semaphore


class QueryEmbedder:
    """Embeds query texts for vector search, through the embeddings cache.

    One instance serves a database (it is thread-safe). Providers are async and run on the app's
    ``loop``; they are created on the first cache miss and released by ``close``.
    """

    def __init__(self, storage: DocumentStorage, settings: Settings, loop: ProviderLoop) -> None:
        self._loop = loop
        self._storage = storage
        self._settings = settings
        self._cache = EmbeddingsCache(storage)
        self._timeout = float(settings["Query.TimeoutInSec"])
        self._options = provider_options(settings, dataclasses.replace(DEFAULT_RETRY_POLICY,
                                                                       max_total_time=self._timeout))
        self._lock = threading.Lock()
        self._providers: dict[AiConnectionString, _Provider] = {}
        self._usage = DailyUsage(storage, query_owner(), lambda: self._cache.clock())
        self._usage_written_at = time.monotonic()
        self._usage_pending = False

    @property
    def clock(self) -> Clock:
        return self._cache.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._cache.clock = clock

    def embed(
        self, connection_string: AiConnectionString, task: EmbeddingsGenerationConfiguration, text: str
    ) -> list[npt.NDArray[np.float32]]:
        """The float32 vectors of ``text``: one per chunk of ``task.chunking_options_for_querying``,
        each embedded as the connection string's query prompt + the chunk.

        Contract: blocking and callable from any thread. Each chunk is looked up in
        ``@embeddings-cache`` under ``connection_string.identifier`` (unquantized entries); misses
        are embedded through the connection string's provider, at most its
        ``EmbeddingsMaxConcurrentBatches`` (else ``Ai.Embeddings.MaxConcurrentBatches``) calls at a
        time, and cached with ``task.embeddings_cache_for_querying_expiration``. A hit with less
        than half of that period left is extended to now + period. A repeated query makes no
        provider call and waits for no write. Empty text gives ``[]``. Raises ``ValidationError``
        for unusable chunking options and an ``AiError`` when the provider fails or takes longer
        than ``Query.TimeoutInSec``.
        """
        return self.embed_many(connection_string, task, [text])[0]

    def embed_many(
        self, connection_string: AiConnectionString, task: EmbeddingsGenerationConfiguration, texts: Sequence[str]
    ) -> list[list[npt.NDArray[np.float32]]]:
        """``embed`` for several texts at once: their misses go to the provider together."""
        prompt = prompts_for(connection_string).query
        # Each text's chunks as (hash, text): hashed once, looked up by hash after.
        chunked = [[(text_hash(piece), piece) for piece in (prompt + part for part in
                                                             chunk(text, task.chunking_options_for_querying))]
                   for text in texts]
        chunks = dict(pair for pieces in chunked for pair in pieces)
        if not chunks:
            return [[] for _ in texts]
        identifier = connection_string.identifier
        cached = self._cache.lookup(identifier, list(chunks), _QUERY_KIND)
        misses = {digest: piece for digest, piece in chunks.items() if digest not in cached}
        stored = {digest: entry.data for digest, entry in cached.items()}
        served = [piece for pieces in chunked for digest, piece in pieces if digest in cached]
        saved = count_tokens(getattr(connection_string.settings, "model", None), served)
        usage = UsageCounts(cache_hits=len(served), tokens_saved=saved.tokens,
                            estimated_tokens_saved=saved.tokens if saved.estimated else 0)
        if misses:
            embedded = self._embed_misses(connection_string, list(misses.values()))
            stored.update({digest: encode(vector, _QUERY_KIND)
                           for digest, vector in zip(misses, embedded.vectors, strict=True)})
            spent = embedded.usage
            usage += UsageCounts(provider_calls=spent.requests, tokens=spent.tokens,
                                 estimated_tokens=spent.estimated_tokens)
        self._usage.add(identifier, usage)
        period = task.embeddings_cache_for_querying_expiration
        now = self._cache.clock()
        stale = [digest for digest, entry in cached.items() if needs_extension(entry.expires, period, now)]
        if misses or stale:
            with self._storage.write() as tx:
                now_cached, writes = self._cache.entries_in(tx, identifier, _QUERY_KIND,
                                                            {digest: stored[digest] for digest in misses}, period)
                stored.update(now_cached)
                writes += self._cache.extensions_in(tx, identifier, _QUERY_KIND,
                                                    {digest: cached[digest] for digest in stale}, period)
                tx.write_many(writes)
                self._write_usage(tx)
        elif self._usage_due():
            self._store_usage_later()
        return [[decode_vector(stored[digest], _QUERY_KIND) for digest, _ in pieces] for pieces in chunked]

    def _usage_due(self) -> bool:
        return self._usage.unwritten() and time.monotonic() - self._usage_written_at >= DEFAULT_USAGE_FLUSH_SECONDS

    def _write_usage(self, tx: WriteTransaction) -> None:
        # Taken inside the write transaction: writers are serialized, so a later one never stores less.
        for key, value in self._usage.changed_states().items():
            tx.set_state(key, value)
        self._usage_written_at = time.monotonic()

    def _store_usage_later(self) -> None:
        """Store the usage on a provider thread: a query served from the cache does not wait for the
        write lock (a migration's or a task's batch may hold it)."""
        with self._lock:
            if self._usage_pending:
                return
            self._usage_pending = True
        self._loop.submit(asyncio.to_thread(self._store_usage))

    def _store_usage(self) -> None:
        try:
            if self._usage.unwritten():
                with self._storage.write() as tx:
                    self._write_usage(tx)
        except RookError as error:  # kept in memory: the next query or ``close`` stores it
            logger.warning("Storing the query embeddings usage failed: %s", error.message)
        finally:
            with self._lock:
                self._usage_pending = False

    def close(self) -> None:
        """Store the usage not written yet and close the providers; a later ``embed`` creates them again."""
        if self._usage.unwritten():
            with self._storage.write() as tx:
                self._write_usage(tx)
        with self._lock:
            providers, self._providers = list(self._providers.values()), {}
        for entry in providers:
            with contextlib.suppress(AiUnavailableError):  # a provider that does not close is dropped
                self._run(entry.provider.aclose(), DEFAULT_FORCED_EXIT_SECONDS)

    def _run(self, coroutine: Coroutine[Any, Any, _T], timeout: float) -> _T:
        try:
            return self._loop.run(coroutine, timeout)
        except TimeoutError:
            raise AiUnavailableError(f"The query embedding took longer than {timeout:g} seconds") from None

    def _provider(self, connection_string: AiConnectionString) -> _Provider:
        with self._lock:
            entry = self._providers.get(connection_string)
            if entry is None:
                replaced = [key for key in self._providers if key.name == connection_string.name]
                for key in replaced:  # the connection string was edited: its old provider is done
                    self._loop.submit(self._providers.pop(key).provider.aclose())
                entry = _Provider(
                    create_provider(connection_string.settings, options=self._options),
                    asyncio.Semaphore(max_concurrent_batches(connection_string, self._settings)),
                )
                self._providers[connection_string] = entry
            return entry

    def _embed_misses(self, connection_string: AiConnectionString, texts: list[str]) -> Embedded:
        entry = self._provider(connection_string)
        size = self._options.max_inputs_per_request

        async def one(batch: Sequence[str]) -> Embedded:
            async with entry.limit:
                return await entry.provider.embed_with_usage(list(batch))

        async def every() -> Embedded:
            batches = [texts[start : start + size] for start in range(0, len(texts), size)]
            results = await asyncio.gather(*(one(batch) for batch in batches))
            return Embedded([vector for result in results for vector in result.vectors],
                            sum((result.usage for result in results), Usage()))

        return self._run(every(), self._timeout)
