"""One embeddings generation task at work: follows its collection's change feed and keeps the
embeddings of every document in sync.

Lifecycle (owned by the database's task service, never started at import): a worker is a
``CoroutineService`` on the app's provider loop. ``start`` runs its loop; ``wake`` asks it to look
for new changes now; ``stop`` lets the batch in flight finish (draining) and cancels it after the
timeout (forced exit), which is safe because an uncommitted batch leaves nothing behind.

Each tick reads up to ``Ai.Embeddings.MaxBatchSize`` changes after the stored position, plans them
(extract, chunk, hash), serves what it can from the cache, embeds the rest with at most the
connection string's ``EmbeddingsMaxConcurrentBatches`` provider calls in flight, and commits the
sections, attachments, cache entries, new position and counters in one write transaction. The
batches are pipelined by ``batch_loop``: while one is being written the next one is already planned
and embedded, so the provider is never idle waiting for the database.

Over several nodes (``claims``) every node runs a worker for the task: each batch is a claimed range
of the feed (``claims.py``), its commit completes the claim and adds to the stored counters, usage
and errors, and the position moves over the lowest finished ranges only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embeddings._options import max_concurrent_batches, provider_options
from rookdb.ai.embeddings.batch import BatchPlan, plan_batch, prepare_sections, write_batch
from rookdb.ai.embeddings.batch_loop import BatchLoop
from rookdb.ai.embeddings.budget import DailyBudget
from rookdb.ai.embeddings.cache import Clock, EmbeddingsCache, utc_now
from rookdb.ai.embeddings.claims import FeedClaims, superseded
from rookdb.ai.embeddings.errors_log import ErrorsLog
from rookdb.ai.embeddings.extraction import Extractor, create_extractor
from rookdb.ai.embeddings.failure_policy import FailureKind, FallbackPolicy, Step, classify, step_of
from rookdb.ai.embeddings.generations import Generation
from rookdb.ai.embeddings.progress import TaskProgress, TaskState
from rookdb.ai.embeddings.stats import BatchCounts, HealthThresholds, NodeBatches, TaskCounters, TaskStats
from rookdb.ai.embeddings.throttles import TaskThrottles
from rookdb.ai.embeddings.usage import DailyUsage, UsageCounts, next_day_start, task_owner
from rookdb.ai.prompts import prompts_for
from rookdb.ai.providers.base import EmbeddingProvider
from rookdb.ai.providers.pipeline import RetryPolicy
from rookdb.ai.providers.registry import create_provider
from rookdb.ai.providers.throttle import ProviderThrottle
from rookdb.ai.task_config import EmbeddingsGenerationConfiguration
from rookdb.ai.tokens import count_tokens
from rookdb.background import CoroutineService, Foreground, ProviderLoop
from rookdb.errors import AiConfigurationError, AiError, NotResponsibleError, RookError
from rookdb.settings import Settings
from rookdb.storage.base import DocumentStorage, WriteTransaction
from rookdb.wire import format_timestamp

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT_SECONDS",
    "DEFAULT_IDLE_POLL_SECONDS",
    "DEFAULT_SWAP_POLL_SECONDS",
    "DEFAULT_TASK_RETRY",
    "ConnectionStringResolver",
    "EmbeddingsWorker",
    "provider_batches",
    "state_key",
]

logger = logging.getLogger("rookdb.ai.embeddings")

# The pipeline's own retries cover a blip; anything longer is the fallback schedule's job, so a
# task does not sit for minutes inside one provider call.
DEFAULT_TASK_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.5, max_backoff=2.0, max_hint=5.0,
                                 max_total_time=10.0)
# A missed wake-up (a change committed by another process) is noticed at most this late.
DEFAULT_IDLE_POLL_SECONDS = 5.0
DEFAULT_DRAIN_TIMEOUT_SECONDS = 10.0
# Provider batches are split so that each in-flight call carries at least this many texts.
_MIN_TEXTS_PER_PROVIDER_CALL = 16
# A generation that covers every document checks this often whether it can swap in.
DEFAULT_SWAP_POLL_SECONDS = 0.2
# A commit of a generation built side by side pauses between its parts for the requests in flight at
# most this long each (it holds the write lock meanwhile: bounded, and never while a writer waits).
TRANSACTION_PAUSE_SECONDS = 0.02

ConnectionStringResolver = Callable[[str], AiConnectionString | None]


def state_key(task_id: int, part: str = "") -> str:
    """Storage state key of a task: ``embeddings/<task id>/<part>`` (position, stats, errors)."""
    return f"embeddings/{task_id}/{part}"


def _model_of(connection_string: AiConnectionString) -> str | None:
    model: str | None = getattr(connection_string.settings, "model", None)
    return model


def provider_batches(texts: Sequence[str], concurrency: int, max_size: int) -> list[list[str]]:
    """Split ``texts`` into at most ``concurrency``-ish calls of at most ``max_size`` texts each."""
    if not texts:
        return []
    size = max(_MIN_TEXTS_PER_PROVIDER_CALL, -(-len(texts) // max(1, concurrency)))
    size = min(size, max_size)
    return [list(texts[start : start + size]) for start in range(0, len(texts), size)]


class EmbeddingsWorker:
    """Runs one task (a ``BackgroundService``). ``wake``, ``stop``, ``snapshot`` and the public
    attributes are safe from any thread."""

    def __init__(
        self,
        storage: DocumentStorage,
        task: EmbeddingsGenerationConfiguration,
        resolve_connection_string: ConnectionStringResolver,
        settings: Settings,
        *,
        loop: ProviderLoop,
        on_committed: Callable[[], None] | None = None,
        guard: Callable[[], None] | None = None,
        clock: Clock = utc_now,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_SECONDS,
        throttles: TaskThrottles | None = None,
        generation: Generation = Generation(),
        on_caught_up: Callable[[], bool] | None = None,
        claims: FeedClaims | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.task = task
        self.generation = generation
        """Which generation of the task's embeddings this worker keeps (or builds, while migrating)."""
        self._on_caught_up = on_caught_up
        """Called (on a thread) when a generation being built has embedded every document: True when it
        swapped in, and this worker's work is done."""
        self._claims = claims
        """With several nodes: the batches this worker embeds are claimed ranges of the feed, and
        counters, usage and errors are added to the stored ones (other nodes commit batches too)."""
        self._foreground = foreground
        """Requests this worker yields to before reading and before writing each batch (a generation
        built side by side can wait; queries cannot)."""
        self._throttles = throttles or TaskThrottles(settings)
        self.throttle: ProviderThrottle | None = None
        """The connection string's throttle, once the worker has resolved it."""
        self._storage = storage
        self._resolve = resolve_connection_string
        self._settings = settings
        self._on_committed = on_committed
        self._guard = guard
        """Called inside each batch's write transaction; raises NotResponsibleError when another node
        runs the task now (the batch is then not committed)."""
        self._cache = EmbeddingsCache(storage, clock)
        self._clock = clock
        self._drain_timeout = drain_timeout
        self._batch_size = int(settings["Ai.Embeddings.MaxBatchSize"])
        self._policy = FallbackPolicy(float(settings["Ai.Embeddings.MaxFallbackTimeInSec"]))
        thresholds = HealthThresholds(float(settings["ETL.ProcessHealthStatusImpairedThreshold"]),
                                      float(settings["ETL.ProcessHealthStatusFailedThreshold"]))
        self.errors = ErrorsLog(storage.get_state(self._state_key("errors")))
        self.stats = TaskStats(TaskCounters.from_state(storage.get_state(self._state_key("stats"))),
                               thresholds, wall_clock=clock)
        stored_position = storage.get_state(self._state_key("position"))
        self.position = int(stored_position) if isinstance(stored_position, int) else 0
        self.usage = DailyUsage(storage, task_owner(task.task_id), clock)
        self.budget = DailyBudget(task.daily_token_budget, self.usage)
        self.budget_resumes_at: datetime | None = None
        """When a spent daily budget starts again, while the task waits for it."""
        self.state = TaskState.IDLE
        self.last_error: str | None = None
        self.fallback_until: float | None = None
        """Wall-clock time (``time.time()``) the fallback ends, while in fallback."""
        self._errors_version_stored = self.errors.version
        self.this_node = NodeBatches()
        self._service = CoroutineService(f"Embeddings task {task.name}", loop, self._serve, log=logger)

    def _state_key(self, part: str) -> str:
        return state_key(self.task.task_id, self.generation.state_part(part))

    @property
    def connection_string_name(self) -> str:
        """The connection string of the generation it keeps."""
        return self.generation.connection_string_name or self.task.connection_string_name

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._service.name

    def start(self) -> None:
        self._service.start()

    def wake(self) -> None:
        """Look for changes now (called after every committed document write)."""
        self._service.wake()

    def stop(self, *, drain: bool = True, timeout: float | None = None) -> bool:
        """Finish the batch in flight (``drain``), then stop; cancel it after ``timeout`` (default: the
        drain timeout). True if stopped."""
        return self._service.stop(drain=drain, timeout=self._drain_timeout if timeout is None else timeout)

    @property
    def running(self) -> bool:
        return self._service.running

    async def _serve(self) -> None:
        try:
            await self._work()
        except NotResponsibleError as error:
            logger.info("Embeddings task %s: %s", self.task.name, error.message)
            self.state = TaskState.IDLE
            await self._idle_until_stopped()
        except Exception:  # the loop catches per batch; this is a bug, not a provider failure
            logger.exception("Embeddings task %s stopped unexpectedly", self.task.name)
            self.state = TaskState.FAILED

    async def _work(self) -> None:
        prepared = await self._setup()
        if prepared is None:
            await self._idle_until_stopped()
            return
        connection_string, provider, extractor = prepared
        try:
            steps = _Steps(self, connection_string, provider, extractor,
                           max_concurrent_batches(connection_string, self._settings))
            await BatchLoop(steps, self.task.name, claimed=self._claims is not None).run()
        finally:
            await provider.aclose()
            await asyncio.to_thread(extractor.close)  # may wait for a script host to exit

    async def _setup(self) -> tuple[AiConnectionString, EmbeddingProvider, Extractor] | None:
        """Resolve the connection string, create the provider and compile the script; on failure the
        task is Failed until its configuration changes (the service then starts a new worker)."""
        try:
            connection_string = await asyncio.to_thread(self._resolve, self.connection_string_name)
            if connection_string is None:
                raise AiConfigurationError(
                    f"AI connection string '{self.connection_string_name}' does not exist")
            self.throttle = self._throttles.get(connection_string)
            provider = create_provider(connection_string.settings,
                                       options=provider_options(self._settings, DEFAULT_TASK_RETRY, self.throttle))
        except RookError as error:
            await self._record_process_error(Step.CONFIGURATION, 0, error.message)
            self.state = TaskState.FAILED
            return None
        try:
            extractor = await asyncio.to_thread(create_extractor, self.task, self._settings)
        except RookError as error:
            await provider.aclose()
            await self._record_process_error(Step.TRANSFORMATION, 0, error.message)
            self.state = TaskState.FAILED
            return None
        return connection_string, provider, extractor

    async def _idle_until_stopped(self) -> None:
        while not self._service.stopping:
            await self._service.sleep(DEFAULT_IDLE_POLL_SECONDS)

    # -- the loop's steps (``batch_loop``) -----------------------------------------------------

    def _prepare_now(self, position: int, extractor: Extractor, connection_string: AiConnectionString
                     ) -> BatchPlan | None:
        """The next batch after ``position`` (or claimed), planned, with its cache hits; None when none."""
        self._yield_to_foreground()
        if self._claims is not None:
            claiming = time.perf_counter()
            claimed = self._claims.take(self.task.collection, self._batch_size)
            self.this_node.claim += time.perf_counter() - claiming
            self.this_node.claim_lock_wait += self._claims.lock_wait
            if claimed is None:  # caught up: show where the task is, whichever node moved it
                self.position = self._claims.position()
                self.stats.counters = TaskCounters.from_state(self._storage.get_state(self._state_key("stats")))
                return None
            plan = plan_batch(claimed.changes, extractor, prompts_for(connection_string).document)
            plan.last_etag, plan.claim = claimed.end, claimed.claim
        else:
            changes = self._storage.changes_since(position, self._batch_size, self.task.collection)
            if not changes:
                return None
            plan = plan_batch(changes, extractor, prompts_for(connection_string).document)
        plan.hits = self._cache.lookup(connection_string.identifier, plan.texts, self.task.quantization)
        plan.vectors = {digest: cached.data for digest, cached in plan.hits.items()}
        return plan

    async def _within_budget(self, plan: BatchPlan, connection_string: AiConnectionString) -> BatchPlan | None:
        """``plan`` cut to the documents today's token budget still pays for; None when none fits."""
        if self.budget.limit is None:
            return plan
        model = _model_of(connection_string)
        fitting = await asyncio.to_thread(self.budget.fit, plan, lambda texts: count_tokens(model, texts).tokens)
        if fitting == len(plan.documents):
            return plan
        return plan.prefix(fitting) if fitting else None

    async def _wait_for_budget(self) -> None:
        now = self._clock()
        self.budget_resumes_at = next_day_start(now)
        self.state = TaskState.BUDGET_EXHAUSTED
        logger.info("Embeddings task %s spent its daily budget of %s tokens; resuming at %s", self.task.name,
                    self.budget.limit, self.budget_resumes_at.isoformat())
        while not self._service.stopping:
            remaining = (self.budget_resumes_at - self._clock()).total_seconds()
            if remaining <= 0:
                break
            # Re-read the clock now and then (and on any wake-up), not once: days are the clock's.
            await self._service.sleep(min(remaining, DEFAULT_IDLE_POLL_SECONDS))
        self.budget_resumes_at = None

    async def _commit(self, plan: BatchPlan, connection_string: AiConnectionString) -> None:
        saved = await asyncio.to_thread(count_tokens, _model_of(connection_string), plan.served_texts())
        counts = BatchCounts(
            documents=len(plan.documents), chunks=plan.chunk_count, cache_hits=plan.cache_hit_count,
            provider_calls=plan.provider_calls, tokens=plan.tokens, estimated_tokens=plan.estimated_tokens,
            tokens_saved=saved.tokens,
            failed_items=sum(1 for document in plan.documents if document.error is not None))
        usage = UsageCounts(provider_calls=plan.provider_calls, tokens=plan.tokens,
                            estimated_tokens=plan.estimated_tokens, cache_hits=counts.cache_hits,
                            tokens_saved=saved.tokens, estimated_tokens_saved=saved.tokens if saved.estimated else 0)
        at = format_timestamp(self._clock())
        failed = [(document.error, document.source_id) for document in plan.documents if document.error is not None]

        def log_items(log: ErrorsLog) -> None:
            for (step, message), source_id in failed:
                log.add_item(step, source_id, message, at)

        counters, position = await asyncio.to_thread(self._write, plan, connection_string, counts, usage, log_items)
        self.usage.add(connection_string.identifier, usage)
        self.budget.in_flight = max(0, self.budget.in_flight - plan.tokens)
        self.position = position
        self.stats.committed(counters, counts.documents)
        self._policy.on_success()
        self.fallback_until = None
        if self._on_committed is not None:
            self._on_committed()

    def _write(self, plan: BatchPlan, connection_string: AiConnectionString, counts: BatchCounts,
               usage: UsageCounts, log_items: Callable[[ErrorsLog], None]) -> tuple[TaskCounters, int]:
        """Commit the batch; returns the task's counters and position after it."""
        # The sections' merge is worked out first, pausing for requests, so that the write lock is held
        # for little more than the statements (a query beside a commit waited for all of it).
        prepared = prepare_sections(self._storage, plan, task_identifier=self.task.identifier,
                                    source_collection=self.task.collection, quantization=self.task.quantization,
                                    generation=self.generation, pause=self._yield_to_foreground)
        self._yield_to_foreground()
        started = time.perf_counter()
        with self._storage.write() as tx:
            self.this_node.commit_lock_wait += time.perf_counter() - started
            if self._guard is not None:
                self._guard()
            position, counters = plan.last_etag, self.stats.counters
            if self._claims is not None and plan.claim is not None:
                coordinating = time.perf_counter()
                position = self._claims.complete(tx, plan.claim, plan.last_etag)
                plan = plan.without(superseded(self._storage, [(document.source_id, document.etag, document.deleted)
                                                    for document in plan.documents]))
                # Other nodes commit batches of this task too: add to what is stored, under the write lock.
                counters = TaskCounters.from_state(self._storage.get_state(self._state_key("stats")))
                self.usage.reload()
                self.this_node.coordination += time.perf_counter() - coordinating
            counters = counters.after_batch(counts)
            for key, value in self.usage.pending(connection_string.identifier, usage).items():
                tx.set_state(key, value)
            write_batch(tx, self._cache, plan, task_identifier=self.task.identifier,
                        source_collection=self.task.collection,
                        connection_string_identifier=connection_string.identifier,
                        quantization=self.task.quantization, cache_period=self.task.embeddings_cache_expiration,
                        generation=self.generation, prepared=prepared, pause=self._pause_in_transaction)
            tx.set_state(self._state_key("position"), position)
            tx.set_state(self._state_key("stats"), counters.to_state())
            self._log_errors(tx, log_items)
        self.this_node.commit += time.perf_counter() - started
        self.this_node.batches += 1
        self.this_node.documents += len(plan.documents)
        return counters, position

    def _yield_to_foreground(self) -> None:
        if self._foreground is not None:
            self._foreground.yield_to()

    def _pause_in_transaction(self) -> None:
        # Between parts of a commit, holding the write lock: readers never wait for it, and a writer
        # waiting for it ends the pause.
        if self._foreground is not None:
            self._foreground.yield_while(lambda: not self._storage.writers_waiting, TRANSACTION_PAUSE_SECONDS)

    def _log_errors(self, tx: WriteTransaction, add: Callable[[ErrorsLog], None]) -> None:
        """Add errors to the task's log and store it in ``tx`` if it changed; with claims the stored
        log is the one added to (other nodes add theirs)."""
        log = self.errors
        if self._claims is not None:
            log = ErrorsLog(self._storage.get_state(self._state_key("errors")))
            self._errors_version_stored = log.version
        add(log)
        if log.version != self._errors_version_stored:
            tx.set_state(self._state_key("errors"), log.to_state())
        self.errors, self._errors_version_stored = log, log.version

    # -- embedding -----------------------------------------------------------------------------

    async def _fill_vectors(self, plan: BatchPlan, provider: EmbeddingProvider, limit: asyncio.Semaphore,
                            concurrency: int, uncommitted: deque[dict[str, bytes]]) -> None:
        wanted = plan.to_embed
        if not wanted:
            return
        kind = self.task.quantization
        calls_before = getattr(provider, "provider_calls", None)
        batches = provider_batches(wanted, concurrency, self._batch_size)
        results = await asyncio.gather(*(self._embed(plan, provider, batch, limit) for batch in batches))
        refused: list[str] = []
        for batch, vectors in zip(batches, results, strict=True):
            if vectors is None:
                refused.extend(batch)
                continue
            for digest, vector in zip(batch, vectors, strict=True):
                plan.store_vector(digest, vector, kind)
        for digest in refused:
            await self._isolate_refused(plan, provider, digest, limit)
        calls_after = getattr(provider, "provider_calls", None)
        if isinstance(calls_before, int) and isinstance(calls_after, int):
            plan.provider_calls = calls_after - calls_before  # HTTP requests, retries included
        self.budget.in_flight += plan.tokens
        if self.budget.limit is not None and plan.tokens and not plan.estimated_tokens:
            counted = await asyncio.to_thread(count_tokens, provider.model, [plan.texts[digest] for digest in wanted])
            self.budget.calibrate(counted.tokens, plan.tokens)
        uncommitted.append({digest: plan.vectors[digest] for digest in wanted if digest in plan.vectors})

    async def _embed(self, plan: BatchPlan, provider: EmbeddingProvider, digests: list[str],
                     limit: asyncio.Semaphore) -> list[list[float]] | None:
        """Vectors for the chunks ``digests``, or None when the provider refused the input (400/422)."""
        async with limit:
            plan.provider_calls += 1
            try:
                embedded = await provider.embed_with_usage([plan.texts[digest] for digest in digests])
            except AiError as error:
                if classify(error) is FailureKind.ITEM:
                    return None
                raise
            plan.tokens += embedded.usage.tokens
            plan.estimated_tokens += embedded.usage.estimated_tokens
            return embedded.vectors

    async def _isolate_refused(self, plan: BatchPlan, provider: EmbeddingProvider, digest: str,
                               limit: asyncio.Semaphore) -> None:
        """Embed a refused chunk alone: only the documents holding a text the provider refuses fail."""
        vectors = await self._embed(plan, provider, [digest], limit)
        if vectors is not None:
            plan.store_vector(digest, vectors[0], self.task.quantization)
            return
        plan.fail_chunk(digest, Step.MODEL_INFERENCE,
                        "The provider refused the text of this document (400/422 for its input)")

    # -- failures ------------------------------------------------------------------------------

    async def _on_batch_failure(self, error: Exception, documents: int) -> None:
        kind = classify(error)
        message = error.message if isinstance(error, RookError) else f"{type(error).__name__}: {error}"
        if not isinstance(error, RookError):
            logger.exception("Embeddings task %s failed a batch", self.task.name, exc_info=error)
        self.stats.counters = self.stats.counters.after_failed_batch()
        await self._record_process_error(step_of(error), documents, message, failed_batch=True)
        if kind is FailureKind.CONFIGURATION:
            self.state = TaskState.FAILED
            await self._idle_until_stopped()
            return
        delay = self._policy.on_failure(getattr(error, "retry_after", None))
        self.fallback_until = time.time() + delay  # first: a snapshot in Fallback always has an end
        self.state = TaskState.FALLBACK
        logger.warning("Embeddings task %s suspended for %.1fs after: %s", self.task.name, delay, message)
        await self._service.sleep(delay, wakeable=False)

    async def _record_process_error(self, step: Step, documents: int, message: str, *, failed_batch: bool = False
                                    ) -> None:
        self.last_error = message
        at = format_timestamp(self._clock())

        def add(log: ErrorsLog) -> None:
            log.add_process(step, documents, message, at)

        if self._claims is None:  # kept even if it cannot be stored now (stored with the next batch)
            add(self.errors)
        try:
            await asyncio.to_thread(self._store_errors, add if self._claims is not None else None, failed_batch)
        except RookError as error:
            logger.warning("Could not store the errors of embeddings task %s: %s", self.task.name, error.message)

    def _store_errors(self, add: Callable[[ErrorsLog], None] | None, failed_batch: bool) -> None:
        with self._storage.write() as tx:
            self._log_errors(tx, add or (lambda log: None))
            counters = self.stats.counters
            if self._claims is not None:
                counters = TaskCounters.from_state(self._storage.get_state(self._state_key("stats")))
                self.stats.counters = counters = counters.after_failed_batch() if failed_batch else counters
            tx.set_state(self._state_key("stats"), counters.to_state())

    # -- reading -------------------------------------------------------------------------------

    def snapshot(self) -> TaskProgress:
        """Live figures for progress (state, health, counters, throughput, history)."""
        throttle = self.throttle
        state = self.state
        if state is TaskState.RUNNING and throttle is not None and throttle.gate_remaining() > 0:
            state = TaskState.THROTTLED
        return TaskProgress(
            state=state,
            health=self.stats.health,
            position=self.position,
            counters=self.stats.counters,
            throughput_per_second=self.stats.throughput(),
            last_error=self.last_error,
            fallback_until=(format_timestamp(datetime.fromtimestamp(self.fallback_until, UTC))
                            if self.fallback_until is not None and self.state is TaskState.FALLBACK else None),
            history=self.stats.history_snapshot(),
            throttle=throttle.snapshot() if throttle is not None else None,
            daily_token_budget=self.budget.limit,
            budget_remaining_today=self.budget.remaining(),
            budget_resumes_at=(format_timestamp(self.budget_resumes_at)
                               if self.budget_resumes_at is not None and state is TaskState.BUDGET_EXHAUSTED
                               else None),
            this_node=self.this_node.to_wire(),
        )


class _Steps:
    """One run of a worker's ``BatchLoop``: its steps, with the provider and extractor of the run."""

    def __init__(self, worker: EmbeddingsWorker, connection_string: AiConnectionString, provider: EmbeddingProvider,
                 extractor: Extractor, concurrency: int) -> None:
        self._worker = worker
        self._connection_string = connection_string
        self._provider = provider
        self._extractor = extractor
        self._concurrency = concurrency
        self._limit = asyncio.Semaphore(concurrency)

    @property
    def stopping(self) -> bool:
        return self._worker._service.stopping

    @property
    def position(self) -> int:
        return self._worker.position

    def clear_wake(self) -> None:
        self._worker._service.clear_wake()

    async def prepare(self, position: int) -> BatchPlan | None:
        return await asyncio.to_thread(self._worker._prepare_now, position, self._extractor, self._connection_string)

    async def caught_up(self) -> bool:
        worker = self._worker
        worker.state = TaskState.IDLE
        if worker._on_caught_up is None:
            await worker._service.sleep(DEFAULT_IDLE_POLL_SECONDS)
            return False
        if await asyncio.to_thread(worker._on_caught_up):
            await worker._idle_until_stopped()  # swapped in: the service starts its successor
            return True
        await worker._service.sleep(DEFAULT_SWAP_POLL_SECONDS)  # a vector index still catching up: soon again
        return False

    async def within_budget(self, plan: BatchPlan) -> BatchPlan | None:
        self._worker.state = TaskState.RUNNING
        self._worker.stats.started_batch()
        return await self._worker._within_budget(plan, self._connection_string)

    async def wait_for_budget(self) -> None:
        await self._worker._wait_for_budget()

    async def embed(self, plan: BatchPlan, uncommitted: deque[dict[str, bytes]]) -> None:
        started = time.perf_counter()
        await self._worker._fill_vectors(plan, self._provider, self._limit, self._concurrency, uncommitted)
        self._worker.this_node.embed += time.perf_counter() - started

    async def commit(self, plan: BatchPlan) -> None:
        await self._worker._commit(plan, self._connection_string)

    async def failed(self, error: Exception, documents: int) -> None:
        self._worker.budget.in_flight = 0
        await self._worker._on_batch_failure(error, documents)

    def release_claims(self) -> None:
        claims = self._worker._claims
        if claims is None:
            return
        try:
            claims.release()
        except RookError as error:  # the storage is away: the claims free up when this node goes
            logger.warning("Embeddings task %s could not release its claims: %s", self._worker.task.name,
                           error.message)
