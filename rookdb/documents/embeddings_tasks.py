"""The embeddings generation tasks of one database: one worker per enabled task, kept in step with the
database record, plus their progress and errors for the HTTP API.

A task migrating to another connection string has two workers: the one keeping the serving generation
(with the old connection string) and the one building the next generation side by side. When the
builder covers every document, and every vector index of the task has indexed its generation, the
service swaps them in one record transaction and queues the old sections for removal
(``embeddings_cleanup``)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embeddings.cache import utc_now
from rookdb.ai.embeddings.errors_log import ErrorsLog
from rookdb.ai.embeddings.generations import Generation, TaskGenerations
from rookdb.ai.embeddings.progress import TaskProgress, TaskState
from rookdb.ai.embeddings.stats import HealthThresholds, TaskCounters
from rookdb.ai.embeddings.throttles import TaskThrottles
from rookdb.ai.embeddings.usage import UsageRecord, day_of, query_owner, read_usage, summarize, task_owner
from rookdb.ai.embeddings.worker import EmbeddingsWorker, state_key
from rookdb.ai.task_config import EmbeddingsGenerationConfiguration, render_task_configuration
from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, Foreground, ProviderLoop, stop_all
from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.documents.embeddings_cleanup import SectionCleaner, dead_states
from rookdb.documents.task_leases import TaskLeases
from rookdb.errors import NotResponsibleError

__all__ = ["DEFAULT_PROGRESS_REFRESH_SECONDS", "EmbeddingsTasks", "StaticMigrations", "VectorsReady"]

VectorsReady = Callable[[str, int], bool]
"""(task identifier, generation) → True when every vector index of the task has indexed that generation."""
WarmQueries = Callable[[str], None]
"""Task identifier → embed its latest search terms with the task's own (new) model, before a swap."""


class StaticMigrations(Protocol):
    """The static indexes' side of a migration (``IndexingService``): indexes that load a task's
    embeddings are built again from the new generation and take over when the task swaps."""

    def follow_migrations(self, building: Mapping[str, int], serving: Mapping[str, int]) -> None: ...

    def staged_ready(self, task: str, generation: int) -> bool: ...

    def promote_staged(self, task: str, generation: int) -> None: ...

# Pending documents are counted at most once per refresh interval while a task is busy (progress is
# polled by the Studio and the CLI).
DEFAULT_PROGRESS_REFRESH_SECONDS = 1.0


def _same_work(left: EmbeddingsGenerationConfiguration, right: EmbeddingsGenerationConfiguration) -> bool:
    return render_task_configuration(left) == render_task_configuration(right)


class EmbeddingsTasks:
    """A database service (a ``BackgroundService``): ``start`` runs a worker per enabled task,
    ``reload`` follows task and connection-string changes (restarting only what changed), ``stop``
    drains every worker. The catalog calls ``reload`` when the AI record or the set of nodes changes
    and ``wake`` after every committed write. With ``leases`` (several nodes over one storage) every
    node embeds claimed batches of each task, and a migrating task's next generation is built only on
    the node holding the task's lease, committing only while that node still does."""

    def __init__(self, database: Database, ai: AiRecord, provider_loop: ProviderLoop,
                 leases: TaskLeases | None = None, vectors_ready: VectorsReady = lambda identifier, generation: True,
                 static_indexes: StaticMigrations | None = None, *, foreground: Foreground | None = None,
                 warm_queries: WarmQueries = lambda identifier: None) -> None:
        self._database = database
        self._foreground = foreground
        """The requests being answered: the builder of a next generation yields to them."""
        self._warm_queries = warm_queries
        self._warmed: set[tuple[int, int]] = set()
        """(task id, generation) whose latest search terms were embedded with its model already."""
        self._vectors_ready = vectors_ready
        self._static_indexes = static_indexes
        self._builders: dict[int, EmbeddingsWorker] = {}
        """Task id → the worker building the next generation, while the task migrates."""
        self._cleaner = SectionCleaner(database.storage, ai, foreground=foreground)
        self.leases = leases
        self._ai = ai
        self._provider_loop = provider_loop
        self._lock = threading.RLock()
        self._workers: dict[int, EmbeddingsWorker] = {}
        self._connections: dict[int, AiConnectionString | None] = {}
        self._running = False
        self._throttles = TaskThrottles(database.settings)
        self._pending_counts: dict[tuple[int, int], tuple[float, int, int, int]] = {}
        """(Task id, generation) → (when, position, last etag, pending) of the last count."""

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return f"embeddings tasks of {self._database.name}"

    def start(self) -> None:
        with self._lock:
            self._running = True
        self.reload()

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every worker, letting each finish the batch it is writing (in parallel)."""
        with self._lock:
            self._running = False
            workers, self._workers = list(self._workers.values()), {}
            workers += list(self._builders.values())
            self._builders = {}
            self._connections.clear()
        stopped = _stop_all(workers, drain=drain, timeout=timeout)
        self._cleaner.stop()
        return stopped

    def wake(self) -> None:
        for worker in [*self._workers.values(), *self._builders.values()]:
            worker.wake()

    def reload(self) -> None:
        """Bring workers in line with the record: start new or enabled tasks, restart changed ones,
        stop disabled or deleted ones (deleted tasks also lose their stored position and errors), and
        run a builder beside each migrating task."""
        with self._lock:
            if not self._running:
                return
            tasks = {task.task_id: task for task in self._ai.tasks()}
            generations = self._ai.all_generations()
            serving = {task_id: generations.get(task_id, TaskGenerations()).serving_generation()
                       for task_id in tasks}
            connections = {task_id: self._ai.connection_string(serving[task_id].connection_string_name
                                                               or task.connection_string_name)
                           for task_id, task in tasks.items()}
            enabled = {task_id for task_id, task in tasks.items() if not task.disabled}
            held = self._held(sorted(enabled))
            outdated = [
                task_id for task_id, worker in self._workers.items()
                if task_id not in enabled or not _same_work(worker.task, tasks[task_id])
                or connections[task_id] != self._connections.get(task_id)
                or worker.generation != serving[task_id]
            ]
            building = {task_id: generations.get(task_id, TaskGenerations()).building() for task_id in tasks}
            retired = [task_id for task_id, builder in self._builders.items()
                       if task_id not in held or not _same_work(builder.task, tasks[task_id])
                       or builder.generation != building[task_id]]
            _stop_all([self._workers.pop(task_id) for task_id in outdated]
                      + [self._builders.pop(task_id) for task_id in retired])
            forgotten = [state_key(task_id) for task_id in set(outdated + retired) - tasks.keys()]
            forgotten += [key for task_id in tasks for key in dead_states(
                self._database.storage, task_id, generations.get(task_id, TaskGenerations()).live())]
            if forgotten:  # most reloads forget nothing: no write transaction for them
                with self._database.storage.write() as tx:
                    for key in forgotten:
                        tx.delete_state(key)
            if self._static_indexes is not None:  # every node builds its own indexes, lease or not
                self._static_indexes.follow_migrations(
                    {task.identifier: found.number for task_id, task in tasks.items()
                     if (found := building[task_id]) is not None},
                    {task.identifier: serving[task_id].number for task_id, task in tasks.items()})
            for task_id, task in tasks.items():
                if task_id in enabled and task_id not in self._workers:
                    self._start_worker(task, connections[task_id], serving[task_id])
                generation = building[task_id]
                if task_id in held and generation is not None and task_id not in self._builders:
                    self._start_builder(task, generation)
        if self._ai.cleanups():
            self._cleaner.run()

    def _held(self, task_ids: list[int]) -> set[int]:
        """The tasks this node is responsible for (builds the next generation of): all of them, or
        those whose lease it holds (taking free ones)."""
        return set(task_ids) if self.leases is None else self.leases.claim(task_ids)

    def reset(self, task_id: int) -> None:
        """Regenerate every document of a task: forget its position and counters, then restart it."""
        with self._lock:
            worker = self._workers.pop(task_id, None)
            if worker is not None:
                _stop_all([worker])
            generation = self._ai.generations(task_id).serving_generation()
            with self._database.storage.write() as tx:
                tx.delete_state(state_key(task_id, generation.state_part("position")))
                tx.delete_state(state_key(task_id, generation.state_part("stats")))
                tx.delete_state(state_key(task_id, generation.state_part("claims")))
            task = self._ai.task(task_id=task_id)
            if self._running and task is not None and not task.disabled:
                name = generation.connection_string_name or task.connection_string_name
                self._start_worker(task, self._ai.connection_string(name), generation)

    def _start_worker(self, task: EmbeddingsGenerationConfiguration, connection: AiConnectionString | None,
                      generation: Generation = Generation()) -> None:
        worker = self._worker(task, generation)
        self._workers[task.task_id] = worker
        self._connections[task.task_id] = connection
        worker.start()

    def _start_builder(self, task: EmbeddingsGenerationConfiguration, generation: Generation) -> None:
        builder = self._worker(task, generation, on_caught_up=lambda: self._swap(task, generation.number))
        self._builders[task.task_id] = builder
        builder.start()

    def _worker(self, task: EmbeddingsGenerationConfiguration, generation: Generation,
                on_caught_up: Callable[[], bool] | None = None) -> EmbeddingsWorker:
        # Over several nodes each node's worker of the serving generation embeds claimed batches; the
        # next generation is built by the responsible node alone.
        claims = (self.leases.feed_claims(lambda part: state_key(task.task_id, generation.state_part(part)))
                  if self.leases is not None and on_caught_up is None else None)
        return EmbeddingsWorker(self._database.storage, task, self._ai.connection_string,
                                self._database.settings, loop=self._provider_loop,
                                on_committed=self._database.notify_changed, throttles=self._throttles,
                                guard=lambda: self._check(task.task_id, generation, responsible=claims is None),
                                generation=generation, on_caught_up=on_caught_up, claims=claims,
                                foreground=self._foreground if on_caught_up is not None else None)

    def _check(self, task_id: int, generation: Generation, *, responsible: bool) -> None:
        """Inside a batch's write transaction: the generation still lives in the same role (a batch of a
        swapped-out or cancelled generation is not committed), and when only the ``responsible`` node
        may commit, this node still is."""
        if self.leases is not None and responsible:
            self.leases.check(task_id)
        generations = self._ai.generations(task_id)
        if generation not in (generations.serving_generation(), generations.building()):
            raise NotResponsibleError(f"generation {generation.number} of task {task_id} was swapped out")

    def _swap(self, task: EmbeddingsGenerationConfiguration, generation: int) -> bool:
        """The builder of ``generation`` embedded every document: swap it in if the vector indexes have
        indexed it too. Called on the builder's thread; the workers are reloaded on another."""
        storage = self._database.storage

        def covered() -> bool:
            position = storage.get_state(state_key(task.task_id, Generation(generation).state_part("position")))
            if storage.changes_since(position if isinstance(position, int) else 0, 1, task.collection):
                return False
            return self._vectors_ready(task.identifier, generation) and (
                self._static_indexes is None or self._static_indexes.staged_ready(task.identifier, generation))

        # Checked first without the record's write transaction: while a vector index catches up the
        # builder asks again every few hundred ms, and only the swap itself should write the record.
        if not covered():
            return False
        if (task.task_id, generation) not in self._warmed:  # the first queries after the swap hit the cache
            self._warm_queries(task.identifier)
            self._warmed.add((task.task_id, generation))
        if not self._ai.finish_migration(task.task_id, generation, covered):
            return False
        if self._static_indexes is not None:  # at once: queries now embed with the new model
            self._static_indexes.promote_staged(task.identifier, generation)
        threading.Thread(target=self.reload, name="rookdb-embeddings-swap", daemon=True).start()
        return True

    # -- reading -------------------------------------------------------------------------------

    def worker(self, task_id: int) -> EmbeddingsWorker | None:
        return self._workers.get(task_id)

    def status(self, task: EmbeddingsGenerationConfiguration) -> dict[str, Any]:
        """``TaskConnectionStatus`` and ``Error`` of RavenDB's ongoing-task info."""
        worker = self._workers.get(task.task_id)
        if task.disabled or worker is None:
            return {"ConnectionStatus": "NotActive", "Error": None}
        if worker.state is TaskState.FALLBACK:
            return {"ConnectionStatus": "Reconnect", "Error": worker.last_error}
        if worker.state is TaskState.FAILED:
            return {"ConnectionStatus": "NotActive", "Error": worker.last_error}
        if worker.state is TaskState.BUDGET_EXHAUSTED:
            resumes = worker.budget_resumes_at.isoformat() if worker.budget_resumes_at else "tomorrow"
            return {"ConnectionStatus": "NotActive",
                    "Error": f"BudgetExhausted: the daily token budget of {worker.budget.limit} tokens is spent; the "
                             f"task resumes at {resumes} (UTC) or when the budget is raised"}
        return {"ConnectionStatus": "Active", "Error": None}

    def _pending(self, task: EmbeddingsGenerationConfiguration, position: int, busy: bool, generation: int = 0) -> int:
        """Documents of the task's collection changed after ``position`` (not processed yet); while
        the task is ``busy`` a count younger than the refresh interval is reused."""
        storage = self._database.storage
        last_etag = storage.last_etag()
        now = time.monotonic()
        cached = self._pending_counts.get((task.task_id, generation))
        if cached is not None:
            when, cached_position, cached_etag, pending = cached
            unchanged = (cached_position, cached_etag) == (position, last_etag)
            if unchanged or (busy and now - when < DEFAULT_PROGRESS_REFRESH_SECONDS):
                return pending
        pending = storage.count(task.collection, after=position)
        self._pending_counts[(task.task_id, generation)] = (now, position, last_etag, pending)
        return pending

    def progress(self) -> list[dict[str, Any]]:
        """Per task: documents processed of the collection's total, counters, state, health, history,
        and what it cost (``Usage``: today, in total and per day)."""
        storage = self._database.storage
        records = read_usage(storage)
        prices = self._prices()
        today = day_of(utc_now())
        thresholds = HealthThresholds(float(self._database.settings["ETL.ProcessHealthStatusImpairedThreshold"]),
                                      float(self._database.settings["ETL.ProcessHealthStatusFailedThreshold"]))
        entries: list[dict[str, Any]] = []
        for task in self._ai.tasks():
            worker = self._workers.get(task.task_id)
            generations = self._ai.generations(task.task_id)
            serving = generations.serving_generation()
            progress = (worker.snapshot() if worker is not None
                        else self._stored_progress(task, serving, thresholds))
            total = storage.count(task.collection)
            processed = max(0, total - self._pending(task, progress.position, progress.state.busy))
            if task.disabled:
                progress = dataclasses.replace(progress, state=TaskState.DISABLED)
            owner = task_owner(task.task_id)
            usage = summarize([record for record in records if record.owner == owner], prices=prices, today=today)
            if task.daily_token_budget is not None and progress.budget_remaining_today is None:
                progress = dataclasses.replace(
                    progress, budget_remaining_today=max(0, task.daily_token_budget - usage["Today"]["Tokens"]))
            entries.append({
                "TaskId": task.task_id, "Name": task.name, "Identifier": task.identifier,
                "ConnectionStringName": task.connection_string_name, "Collection": task.collection,
                "DocumentsProcessed": processed, "DocumentsTotal": total, **progress.to_wire(), "Usage": usage,
                "Generation": serving.number,
                "ServingConnectionStringName": serving.connection_string_name or task.connection_string_name,
                "Migration": self._migration_progress(task, generations, total, thresholds),
            })
        return entries

    def _migration_progress(self, task: EmbeddingsGenerationConfiguration, generations: TaskGenerations,
                            total: int, thresholds: HealthThresholds) -> dict[str, Any] | None:
        """The generation being built, beside the serving one: how far it is and what it spent."""
        building = generations.building()
        if building is None:
            return None
        builder = self._builders.get(task.task_id)
        progress = (builder.snapshot() if builder is not None
                    else self._stored_progress(task, building, thresholds))
        processed = max(0, total - self._pending(task, progress.position, progress.state.busy, building.number))
        counters = progress.counters
        return {"Generation": building.number, "ConnectionStringName": task.connection_string_name,
                "FromGeneration": generations.serving_generation().number,
                "FromConnectionStringName": generations.serving_generation().connection_string_name,
                "StartedAt": generations.started_at,
                "State": TaskState.DISABLED.value if task.disabled else progress.state.value,
                "DocumentsProcessed": processed, "DocumentsTotal": total,
                "Chunks": counters.chunks, "CacheHits": counters.cache_hits, "ProviderCalls": counters.provider_calls,
                "Tokens": counters.tokens, "LastError": progress.last_error}

    def _stored_progress(self, task: EmbeddingsGenerationConfiguration, generation: Generation,
                         thresholds: HealthThresholds) -> TaskProgress:
        """The progress of a generation no worker runs, from what it stored with its last batch."""
        storage = self._database.storage
        counters = TaskCounters.from_state(storage.get_state(state_key(task.task_id, generation.state_part("stats"))))
        stored = storage.get_state(state_key(task.task_id, generation.state_part("position")))
        last = ErrorsLog(storage.get_state(state_key(task.task_id, generation.state_part("errors")))).last()
        return TaskProgress(state=TaskState.IDLE, health=thresholds.health(counters.failure_ratio),
                            position=stored if isinstance(stored, int) else 0, counters=counters,
                            last_error=last.message if last else None, daily_token_budget=task.daily_token_budget)

    def _prices(self) -> dict[str, float | None]:
        return {connection.identifier: connection.price_per_million_tokens
                for connection in self._ai.connection_strings().values()}

    def connection_string_usage(self) -> list[dict[str, Any]]:
        """Per AI connection string: what every task and search term spent through it (``Usage``),
        with ``Tasks`` and ``Queries`` apart, and money where it has a price."""
        records = read_usage(self._database.storage)
        prices = self._prices()
        today = day_of(utc_now())

        queries = query_owner()

        def of(identifier: str, keep: Callable[[UsageRecord], bool] = lambda record: True) -> dict[str, Any]:
            return summarize([record for record in records if record.connection_string == identifier and keep(record)],
                             prices=prices, today=today)

        return [{"Name": name, "Identifier": connection.identifier,
                 "PricePerMillionTokens": connection.price_per_million_tokens, "Usage": of(connection.identifier),
                 "Tasks": of(connection.identifier, lambda record: record.owner != queries)["Total"],
                 "Queries": of(connection.identifier, lambda record: record.owner == queries)["Total"]}
                for name, connection in sorted(self._ai.connection_strings().items(), key=lambda item: item[0].lower())]

    def _matching(self, name: str | None) -> list[EmbeddingsGenerationConfiguration]:
        return [task for task in self._ai.tasks() if name is None or task.name.lower() == name.lower()]

    def _errors_log(self, task: EmbeddingsGenerationConfiguration) -> ErrorsLog:
        worker = self._workers.get(task.task_id)
        if worker is not None:
            return worker.errors
        return ErrorsLog(self._database.storage.get_state(state_key(task.task_id, "errors")))

    def errors(self, name: str | None = None) -> list[dict[str, Any]]:
        """Item and process errors of every task (or of the task ``name``), oldest first."""
        found = [error.to_json(task.name)
                 for task in self._matching(name) for error in self._errors_log(task).entries()]
        return sorted(found, key=lambda error: str(error["At"]))

    def clear_errors(self, name: str | None = None) -> int:
        """Delete the errors of every task (or of ``name``); health is not reset. Returns the count."""
        cleared = 0
        with self._lock:
            for task in self._matching(name):
                log = self._errors_log(task)
                cleared += log.clear()
                with self._database.storage.write() as tx:
                    tx.set_state(state_key(task.task_id, "errors"), log.to_state())
        return cleared


def _stop_all(workers: list[EmbeddingsWorker], *, drain: bool = True,
              timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
    return stop_all(workers, drain=drain, timeout=timeout)
