"""The databases as the HTTP API uses them: every operation awaitable, none blocking the event loop.

``AsyncCatalog`` wraps the catalog (the composition root) and owns the request threads; each of its
``AsyncDatabase`` objects is one database with its services. A method runs the synchronous domain
work on those threads, so an endpoint only parses its input, awaits one method and renders the
answer. The threads are daemons: a request still running when the server stops does not hold up
its exit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from rookdb.ai.connection_strings import (
    keep_unsent,
    parse_connection_string,
    render_connection_string,
    restore_masked,
)
from rookdb.ai.connection_test import ConnectionTestResult, test_connection
from rookdb.ai.embedded_model import EmbeddedModelConfig, get_embedded_model
from rookdb.ai.prompts import prompts_for
from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, DaemonThreadPool
from rookdb.documents import ongoing_tasks
from rookdb.documents.ai_record import AiRecord, TaskWrite
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.database import HiloRange, PutResult
from rookdb.documents.loading import LoadResult, load_documents
from rookdb.documents.querying import run_query
from rookdb.documents.sample_data import import_sample
from rookdb.documents.services import DatabaseServices
from rookdb.errors import AttachmentNotFoundError, DocumentNotFoundError, NotFoundError, RookError
from rookdb.query.executor import QueryResult
from rookdb.settings import Settings
from rookdb.storage.base import Attachment, StoredDocument
from rookdb.storage.metadata import format_timestamp

__all__ = ["DEFAULT_REQUEST_THREADS", "AsyncCatalog", "AsyncDatabase", "AttachmentContent", "QueryAnswer"]

logger = logging.getLogger("rookdb.documents")

# As many blocking calls at once as Starlette's thread pool allowed before (queries may wait long
# for an index to catch up, so this is more than the cores).
DEFAULT_REQUEST_THREADS = 40

_T = TypeVar("_T")
_P = ParamSpec("_P")


@dataclass(frozen=True)
class QueryAnswer:
    """A query's result with the etag and time it reflects: its index's when an index answered it,
    else the database's last etag and the time of the query."""

    result: QueryResult
    result_etag: int
    index_timestamp: str
    query_time: str


@dataclass(frozen=True)
class AttachmentContent:
    attachment: Attachment
    content: bytes
    change_vector: str
    """The change vector of the document holding the attachment (its ``ETag``)."""


class AsyncCatalog:
    """The server's databases, awaitable; started and closed by the app's lifespan."""

    def __init__(self, catalog: DatabaseCatalog, *, threads: int = DEFAULT_REQUEST_THREADS) -> None:
        self._catalog = catalog
        self._pool = DaemonThreadPool(threads, "rookdb-requests")
        self._open: dict[str, AsyncDatabase] = {}

    async def run(self, call: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``call`` on a request thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    async def start(self) -> None:
        """Check the embedded model (a broken install shows at startup) and open every database, so
        that their services resume."""
        await self.run(_check_embedded_model, self._catalog.settings)
        await self.run(self._catalog.open_all)

    def close(self, *, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every database's services within ``timeout`` (see ``DatabaseCatalog.close``)."""
        self._open.clear()
        stopped = self._catalog.close(timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return stopped

    async def database(self, name: str) -> AsyncDatabase:
        """The database ``name`` (opened, with its services, on first use); DatabaseDoesNotExistError."""
        found = self._open.get(name.lower())
        if found is None:
            found = AsyncDatabase(await self.run(self._catalog.get, name), self)
            self._open[found.name.lower()] = found
        return found

    async def names(self, start: int, page_size: int) -> list[str]:
        return (await self.run(self._catalog.names))[start : start + page_size]

    async def describe(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """The databases ``names`` with their document counts (opening those not open yet)."""

        def describe() -> list[dict[str, Any]]:
            described = []
            for name in names:
                stats = self._catalog.get(name).database.statistics()
                described.append({"Name": name, "Disabled": False, "DocumentsCount": stats["CountOfDocuments"],
                                  "Collections": stats["Collections"]})
            return described

        return await self.run(describe)

    async def create(self, name: str) -> tuple[str, int]:
        """Create the database ``name``; (its name, its record etag)."""

        def create() -> tuple[str, int]:
            created = self._catalog.create(name)
            return created.name, created.database.record()[1]

        return await self.run(create)

    async def delete(self, names: Sequence[str]) -> None:
        for name in names:
            await self.run(self._catalog.delete, name)
            self._open.pop(name.lower(), None)

    async def record(self, name: str) -> tuple[str, dict[str, Any], int]:
        """(the database's name, its record, the record etag); NotFoundError when there is none."""

        def record() -> tuple[str, dict[str, Any], int]:
            if not self._catalog.exists(name):
                raise NotFoundError(f"Database '{name}' does not exist.")
            services = self._catalog.get(name)
            return (services.name, *services.database.record())

        return await self.run(record)


def _describe_connection_strings(ai: AiRecord, name: str | None) -> dict[str, Any]:
    strings = ai.connection_strings()
    if name is not None:
        # A name that does not exist answers an empty result, as RavenDB does.
        strings = {key: value for key, value in strings.items() if key == name}
    return {
        key: {**render_connection_string(value), "UsedBy": [usage.to_json() for usage in ai.usage(key)]}
        for key, value in sorted(strings.items(), key=lambda item: item[0].lower())
    }


def _check_embedded_model(settings: Settings) -> None:
    try:
        get_embedded_model(EmbeddedModelConfig(intra_op_threads=settings["Ai.Embeddings.LocalModelThreads"])).check()
    except RookError as error:
        logger.error("The embedded embedding model is not usable: %s", error.message)


class AsyncDatabase:
    """One database with its services, awaitable: one method per operation of the HTTP API."""

    def __init__(self, services: DatabaseServices, catalog: AsyncCatalog) -> None:
        self._services = services
        self._database = services.database
        self._run = catalog.run

    @property
    def name(self) -> str:
        return self._services.name

    # -- documents -----------------------------------------------------------------------------

    async def load(self, ids: Sequence[str], includes: Sequence[str]) -> LoadResult:
        return await self._run(load_documents, self._database, ids, includes)

    async def list_documents(self, *, start: int, page_size: int, collection: str | None = None,
                             prefix: str | None = None, start_after: str | None = None) -> LoadResult:
        """A page of documents whose id starts with ``prefix``, or else the latest of ``collection``."""
        if prefix is not None:
            found = await self._run(self._database.storage.list_by_prefix, prefix, start, page_size, start_after)
        else:
            found = await self._run(self._database.storage.list_recent, collection, start, page_size)
        return LoadResult(list(found), {})

    async def get(self, doc_id: str) -> StoredDocument | None:
        return await self._run(self._database.get, doc_id)

    async def put(self, doc_id: str | None, body: Any, change_vector: str | None) -> PutResult:
        return await self._run(self._database.put, doc_id, body, change_vector)

    async def delete(self, doc_id: str, change_vector: str | None) -> bool:
        return await self._run(self._database.delete, doc_id, change_vector)

    async def batch(self, commands: list[Any]) -> list[dict[str, Any]]:
        return await self._run(self._database.batch, commands)

    async def insert_many(self, documents: list[tuple[str | None, Any]]) -> int:
        return await self._run(self._database.insert_many, documents)

    async def attachment(self, doc_id: str, name: str) -> AttachmentContent:
        """An attachment's bytes; DocumentNotFoundError or AttachmentNotFoundError when either is missing."""

        def read() -> AttachmentContent:
            found = self._database.storage.attachment_content(doc_id, name)
            document = self._database.get(doc_id)
            if document is None:
                raise DocumentNotFoundError(f"Document '{doc_id}' does not exist.")
            if found is None:
                raise AttachmentNotFoundError(f"Attachment '{name}' of document '{doc_id}' does not exist.")
            return AttachmentContent(found[0], found[1], document.change_vector)

        return await self._run(read)

    async def hilo_next(self, tag: str, last_batch_size: int, last_range_at: str | None, last_max: int,
                        separator: str) -> HiloRange:
        return await self._run(self._database.hilo_next, tag, last_batch_size, last_range_at, last_max, separator)

    async def hilo_return(self, tag: str, end: int, last: int) -> None:
        await self._run(self._database.hilo_return, tag, end, last)

    async def statistics(self) -> dict[str, Any]:
        return await self._run(self._database.statistics)

    async def import_sample(self, sample: str) -> int:
        return await self._run(import_sample, self._database, sample)

    # -- queries and indexes ---------------------------------------------------------------------

    async def query(self, text: str, parameters: dict[str, Any], *, start: int, page_size: int | None,
                    wait_for_non_stale: float | None) -> QueryAnswer:
        """Run RQL (see ``run_query``)."""

        def answer() -> QueryAnswer:
            result = run_query(self._database, text, parameters, start=start, page_size=page_size,
                               wait_for_non_stale=wait_for_non_stale, indexes=self._services.indexes,
                               vectors=self._services.vectors)
            now = format_timestamp(datetime.now(UTC))
            etag = result.result_etag if result.result_etag is not None else self._database.storage.last_etag()
            return QueryAnswer(result, etag, result.index_timestamp or now, now)

        return await self._run(answer)

    async def indexes(self) -> list[dict[str, Any]]:
        """Every index as ``GET /indexes`` lists it, vector fields included."""
        return await self._run(lambda: self._services.indexes.listing(self._services.vectors.describe()))

    async def index_names(self) -> list[str]:
        return await self._run(lambda: [name for name, _ in self._services.indexes.registry.named_indexes()])

    async def put_indexes(self, definitions: Sequence[Any], *, javascript_only: bool = False) -> list[dict[str, Any]]:
        """Define static indexes (``IndexingService.put_indexes``)."""
        return await self._run(self._services.indexes.put_indexes, definitions, javascript_only=javascript_only)

    async def index_has_changed(self, definition: Any) -> bool:
        return await self._run(self._services.indexes.has_changed, definition)

    async def set_index_state(self, name: str, state: str) -> None:
        await self._run(self._services.indexes.set_state, name, state)

    async def pause_indexing(self, name: str | None) -> None:
        await self._run(self._services.indexes.pause, name)

    async def resume_indexing(self, name: str | None) -> None:
        await self._run(self._services.indexes.resume, name)

    async def set_indexes_lock(self, names: Sequence[str], mode: str) -> None:
        await self._run(self._services.indexes.set_lock_mode, names, mode)

    async def set_indexes_priority(self, names: Sequence[str], priority: str) -> None:
        await self._run(self._services.indexes.set_priority, names, priority)

    async def indexing_status(self) -> dict[str, Any]:
        return await self._run(self._services.indexes.status)

    async def index_statistics(self, name: str | None) -> list[dict[str, Any]]:
        return await self._run(self._services.indexes.statistics, name)

    async def index_errors(self, names: Sequence[str]) -> list[dict[str, Any]]:
        return await self._run(lambda: self._services.indexes.errors(names, self._services.vectors.describe()))

    async def clear_index_errors(self, names: Sequence[str]) -> None:
        await self._run(self._services.indexes.clear_errors, names)

    async def delete_index(self, name: str) -> None:
        await self._run(self._services.indexes.delete, name)

    async def reset_index(self, name: str) -> None:
        await self._run(self._services.indexes.reset, name)

    # -- AI connection strings -------------------------------------------------------------------

    async def put_connection_string(self, data: Any) -> int:
        return await self._run(self._services.ai.put_connection_string, data)

    async def connection_strings(self, name: str | None) -> dict[str, Any]:
        """The AI connection strings (or the one named ``name``), each with the tasks using it."""
        return await self._run(_describe_connection_strings, self._services.ai, name)

    async def remove_connection_string(self, name: str) -> int:
        return await self._run(self._services.ai.remove_connection_string, name)

    async def test_connection(self, data: Any) -> tuple[ConnectionTestResult, dict[str, Any]]:
        """Embed two probe values with unsaved settings (masked or unsent secrets fall back to the stored
        ones); (what the test found, the prompts the connection string will use as wire JSON)."""
        connection_string = parse_connection_string(data)
        stored = await self._run(self._services.ai.connection_string, connection_string.name)
        connection_string = keep_unsent(restore_masked(connection_string, stored), stored, data)
        timeout = float(self._database.settings["Ai.Embeddings.TestConnectionTimeoutInSec"])
        prompts = prompts_for(connection_string)
        result = await test_connection(connection_string.settings, timeout=timeout, prompts=prompts)
        return result, prompts.to_json()

    # -- embeddings generation tasks -------------------------------------------------------------

    async def save_task(self, data: Any, task_id: int | None, reset: bool) -> TaskWrite:
        return await self._run(ongoing_tasks.save_task, self._services, data, task_id, reset)

    async def ongoing_task(self, task_id: int | None, name: str | None, node_url: str) -> dict[str, Any] | None:
        def describe() -> dict[str, Any] | None:
            task = ongoing_tasks.find_task(self._services, task_id, name)
            return None if task is None else ongoing_tasks.describe_task(self._services, task, node_url)

        return await self._run(describe)

    async def ongoing_tasks(self, node_url: str) -> list[dict[str, Any]]:
        def describe() -> list[dict[str, Any]]:
            return [ongoing_tasks.describe_task(self._services, task, node_url) for task in self._services.ai.tasks()]

        return await self._run(describe)

    async def set_task_disabled(self, task_id: int | None, name: str | None, disabled: bool) -> tuple[int, int]:
        """(the task id, the new record etag)."""
        task, etag = await self._run(ongoing_tasks.set_task_disabled, self._services, task_id, name, disabled)
        return task.task_id, etag

    async def delete_task(self, task_id: int) -> int:
        return await self._run(self._services.ai.delete_task, task_id)

    async def tasks_progress(self) -> list[dict[str, Any]]:
        return await self._run(self._services.embeddings.progress)

    async def task_errors(self, name: str | None) -> list[dict[str, Any]]:
        return await self._run(self._services.embeddings.errors, name)

    async def clear_task_errors(self, name: str | None) -> int:
        return await self._run(self._services.embeddings.clear_errors, name)
