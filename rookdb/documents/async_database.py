"""The databases as the HTTP API uses them: every operation awaitable, none blocking the event loop.

``AsyncCatalog`` wraps the catalog (the composition root) and owns the request threads; each of its
``AsyncDatabase`` objects is one database with its services. A method runs the synchronous domain
work on those threads, so an endpoint only parses its input, awaits one method and renders the
answer. The threads are daemons: a request still running when the server stops does not hold up
its exit. Work shorter than the hand-off to a thread and back (a document load, a vector query on
current indexes) runs on the event loop instead, as long as nothing it needs would make it wait
(``rookdb.inline``).
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
from rookdb.documents import attachments, compare_exchange, ongoing_tasks, statistics
from rookdb.documents.ai_record import AiRecord, TaskWrite
from rookdb.documents.attachments import AttachmentChange
from rookdb.documents.batch import AttachmentStream, BatchResult, run_batch
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.changes import ChangesHub
from rookdb.documents.compare_exchange import CompareExchangeOutcome
from rookdb.documents.database import Database, PutResult
from rookdb.documents.database_record import (
    client_configuration,
    is_disabled,
    put_client_configuration,
    render_record,
)
from rookdb.documents.hilo import HiloRange, next_range, return_range
from rookdb.documents.loading import (
    LoadResult,
    combined_etag,
    compare_exchange_includes,
    include_compare_exchange,
    load_documents,
    load_starting_with,
)
from rookdb.documents.membership import NodeMembership
from rookdb.documents.operations import Operation, OperationWork
from rookdb.documents.patching.by_query import delete_by_query, patch_by_query
from rookdb.documents.patching.engine import PatchEngine
from rookdb.documents.patching.patcher import Patcher, PatchResult
from rookdb.documents.patching.request import PatchRequest
from rookdb.documents.querying import DatabaseQuerySource, is_short, matching_ids, run_query
from rookdb.documents.sample_data import import_sample
from rookdb.documents.services import DatabaseServices
from rookdb.errors import AttachmentNotFoundError, DocumentNotFoundError, NotFoundError, RookError
from rookdb.indexes.definitions import AutoMapDefinition
from rookdb.indexes.describe import auto_index_record_json
from rookdb.inline import WouldBlock, without_waiting
from rookdb.query.executor import QueryResult
from rookdb.query.explain import Explanation, explain_index_selection
from rookdb.query.parser import prepare_parser
from rookdb.settings import Settings
from rookdb.storage.base import Attachment, CompareExchangeValue, StoredDocument
from rookdb.wire import format_timestamp

__all__ = ["DEFAULT_REQUEST_THREADS", "INLINE_LOAD_MAX_IDS", "AsyncCatalog", "AsyncDatabase", "AttachmentContent",
           "QueryAnswer"]

logger = logging.getLogger("rookdb.documents")

# As many blocking calls at once as Starlette's thread pool allowed before (queries may wait long
# for an index to catch up, so this is more than the cores).
DEFAULT_REQUEST_THREADS = 40

# A load of at most this many ids from storage with local reads (SQLite) runs on the event loop: the
# lookups take microseconds, while the hop to a request thread and back costs more than the work
# itself under load (a thread waits for the GIL the busy event loop holds).
INLINE_LOAD_MAX_IDS = 32

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
    database_etag: int
    """The database's last etag when the query ran (with ``result_etag``, what the HTTP ETag follows)."""
    compare_exchange: dict[str, Any] | None = None
    """``CompareExchangeValueIncludes`` (None: the query included none)."""


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
        """``call`` on a request thread, counted as foreground work while it waits and runs."""
        loop = asyncio.get_running_loop()
        with self._catalog.foreground.serving():
            return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    async def run_short(self, call: Callable[[], _T]) -> _T:
        """``call`` on the event loop when nothing it needs would make it wait (``rookdb.inline``), else
        on a request thread: for work shorter than the hand-off to a thread and back."""
        try:
            with self._catalog.foreground.serving(), without_waiting():
                return call()
        except WouldBlock:
            return await self.run(call)

    async def start(self) -> None:
        """Check the embedded model (a broken install shows at startup) and open every database, so
        that their services resume."""
        await self.run(prepare_parser)  # before serving (about half a second): no query waits for it
        await self.run(_check_embedded_model, self._catalog.settings)
        await self.run(self._catalog.join)
        await self.run(self._catalog.open_all)

    def close(self, *, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every database's services within ``timeout`` (see ``DatabaseCatalog.close``)."""
        self._open.clear()
        stopped = self._catalog.close(timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return stopped

    @property
    def membership(self) -> NodeMembership | None:
        """This node among the nodes serving the storage (None for a catalog that is not a server's)."""
        return self._catalog.membership

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
                database = self._catalog.documents(name)
                counts = database.storage.collection_counts()
                described.append({"Name": name, "Disabled": is_disabled(database),
                                  "DocumentsCount": sum(counts.values()), "Collections": counts})
            return described

        return await self.run(describe)

    async def create(self, name: str) -> tuple[str, int]:
        """Create the database ``name``; (its name, its record etag)."""

        def create() -> tuple[str, int]:
            created = self._catalog.create(name)
            return created.name, created.database.record()[1]

        return await self.run(create)

    async def delete(self, names: Sequence[str]) -> int:
        """Delete databases; how many were deleted (a PreventDeletesIgnore lock mode keeps one)."""
        deleted = 0
        for name in names:
            deleted += await self.run(self._catalog.delete, name)
            self._open.pop(name.lower(), None)
        return deleted

    async def record(self, name: str) -> dict[str, Any]:
        """The database record as RavenDB's clients read it; NotFoundError when there is none."""

        def record() -> dict[str, Any]:
            if not self._catalog.exists(name):
                raise NotFoundError(f"Database '{name}' does not exist.")
            database = self._catalog.documents(name)
            stored, etag = database.record()
            auto_indexes: dict[str, Any] = {}
            if not is_disabled(database):  # auto-indexes live beside the database, not in its stored record
                for index in self._catalog.get(name).indexes.registry.indexes():
                    if isinstance(index.definition, AutoMapDefinition):
                        auto_indexes[index.name] = auto_index_record_json(index.definition)
            return render_record(database.name, database.storage.database_id, stored, etag, auto_indexes)

        return await self.run(record)

    async def set_lock_mode(self, names: list[str], mode: str) -> None:
        await self.run(self._catalog.set_lock_mode, names, mode)

    async def set_disabled(self, name: str, disabled: bool) -> bool:
        self._open.pop(name.lower(), None)
        return await self.run(self._catalog.set_disabled, name, disabled)

    async def compact(self, name: str) -> Operation:
        return await self.run(self._catalog.compact, name)

    async def database_id(self, name: str) -> tuple[str, str, int]:
        """(the database's name, its id, its record etag), without opening its services."""

        def read() -> tuple[str, str, int]:
            database = self._catalog.documents(name)
            return database.name, database.storage.database_id, database.record()[1]

        return await self.run(read)

    # -- operations and server-wide configuration --------------------------------------------------

    def patcher(self, database: Database) -> Patcher:
        """Patches for ``database``, run by the server's patch engine."""
        return Patcher(database, self._catalog.patch_engine)

    @property
    def patch_engine(self) -> PatchEngine:
        """The server's JavaScript hosts (patches, JavaScript projections)."""
        return self._catalog.patch_engine

    def start_operation(self, database: str, kind: str, work: OperationWork) -> Operation:
        return self._catalog.operations.start(database, kind, {"Database": database}, work)

    def next_operation_id(self) -> int:
        return self._catalog.operations.next_id()

    def operation(self, operation_id: int, database: str | None = None) -> Operation | None:
        return self._catalog.operations.get(operation_id, database)

    def kill_operation(self, operation_id: int, database: str | None = None) -> None:
        self._catalog.operations.kill(operation_id, database)

    def register_operation(self, database: str, kind: str, operation_id: int | None) -> Operation:
        return self._catalog.operations.register(database, kind, {"Database": database}, operation_id)

    def complete_operation(self, operation: Operation, *, status: str = "Completed", result: Any = None) -> None:
        self._catalog.operations.complete(operation, status=status, result=result)

    def server_client_configuration(self) -> tuple[dict[str, Any] | None, int]:
        record = self._catalog.server_record
        return record.client_configuration(), record.etag

    async def put_server_client_configuration(self, configuration: Any) -> int:
        return await self.run(self._catalog.server_record.put_client_configuration, configuration)


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
        self._catalog = catalog
        self._run = catalog.run

    @property
    def name(self) -> str:
        return self._services.name

    # -- documents -----------------------------------------------------------------------------

    @property
    def changes(self) -> ChangesHub:
        """Who watches this database through the changes API."""
        return self._database.changes

    async def load(self, ids: Sequence[str], includes: Sequence[str],
                   compare_exchange_paths: Sequence[str] = ()) -> LoadResult:
        if self._database.storage.local_reads and len(ids) <= INLINE_LOAD_MAX_IDS and not compare_exchange_paths:
            return load_documents(self._database, ids, includes)
        return await self._run(load_documents, self._database, ids, includes, compare_exchange_paths)

    async def list_documents(self, *, start: int, page_size: int, collection: str | None = None,
                             prefix: str | None = None, start_after: str | None = None,
                             matches: str | None = None, exclude: str | None = None) -> LoadResult:
        """A page of documents whose id starts with ``prefix`` (filtered by ``matches``/``exclude``), or
        else the latest of ``collection``."""
        if prefix is not None:
            found = await self._run(lambda: load_starting_with(
                self._database, prefix, matches=matches, exclude=exclude, start=start, page_size=page_size,
                start_after=start_after))
        else:
            found = await self._run(self._database.storage.list_recent, collection, start, page_size)
        return LoadResult(list(found), {})

    async def get(self, doc_id: str) -> StoredDocument | None:
        if self._database.storage.local_reads:
            return self._database.get(doc_id)
        return await self._run(self._database.get, doc_id)

    async def put(self, doc_id: str | None, body: Any, change_vector: str | None) -> PutResult:
        return await self._run(self._database.put, doc_id, body, change_vector)

    async def delete(self, doc_id: str, change_vector: str | None) -> bool:
        return await self._run(self._database.delete, doc_id, change_vector)

    def _patcher(self) -> Patcher:
        return self._catalog.patcher(self._database)

    async def batch(self, body: Any, streams: Sequence[AttachmentStream] = ()) -> BatchResult:
        return await self._run(run_batch, self._database, self._patcher(), body, streams)

    async def patch(self, doc_id: str, patch: PatchRequest, *, patch_if_missing: PatchRequest | None,
                    expected_change_vector: str | None, skip_on_mismatch: bool, test: bool) -> PatchResult:
        return await self._run(lambda: self._patcher().patch(
            doc_id, patch, patch_if_missing=patch_if_missing, expected_change_vector=expected_change_vector,
            skip_on_mismatch=skip_on_mismatch, test=test))

    async def json_patch(self, doc_id: str, operations: Sequence[Any]) -> PatchResult:
        return await self._run(self._patcher().json_patch, doc_id, operations)

    def _matches(self, query: str, parameters: dict[str, Any]) -> list[str]:
        return matching_ids(self._database, query, parameters, self._services.indexes, self._services.vectors)

    async def patch_by_query(self, body: Any) -> Operation:
        """Validate the query now, then patch what it matches as a long-running operation."""
        work = await self._run(patch_by_query, self._patcher(), body, self._matches)
        return self._catalog.start_operation(self.name, "UpdateByQuery", work)

    async def delete_by_query(self, body: Any) -> Operation:
        work = await self._run(delete_by_query, self._database, body, self._matches)
        return self._catalog.start_operation(self.name, "DeleteByQuery", work)

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

    async def put_attachment(self, doc_id: str, name: str, content_type: str | None, content: bytes,
                             change_vector: str | None) -> AttachmentChange:
        return await self._run(attachments.put_attachment, self._database, doc_id, name, content_type, content,
                               change_vector)

    async def delete_attachment(self, doc_id: str, name: str, change_vector: str | None) -> None:
        await self._run(attachments.delete_attachment, self._database, doc_id, name, change_vector)

    async def hilo_next(self, tag: str, last_batch_size: int, last_range_at: str | None, last_max: int,
                        separator: str) -> HiloRange:
        return await self._run(next_range, self._database, tag, last_batch_size, last_range_at, last_max, separator)

    async def hilo_return(self, tag: str, end: int, last: int) -> None:
        await self._run(return_range, self._database, tag, end, last)

    async def next_identity(self, name: str) -> int:
        return await self._run(self._database.next_identity, name)

    async def seed_identity(self, name: str, value: int, force: bool) -> int:
        return await self._run(self._database.seed_identity, name, value, force)

    async def identities(self) -> dict[str, int]:
        return await self._run(self._database.storage.identities)

    async def statistics(self) -> dict[str, Any]:
        return await self._run(lambda: statistics.database_statistics(self._database, self._index_information()))

    async def detailed_statistics(self) -> dict[str, Any]:
        return await self._run(lambda: statistics.detailed_statistics(self._database, self._index_information()))

    def _index_information(self) -> list[dict[str, Any]]:
        return statistics.index_information(self._services.indexes.statistics(None))

    async def collection_statistics(self) -> dict[str, Any]:
        return await self._run(statistics.collection_statistics, self._database)

    async def client_configuration(self) -> tuple[dict[str, Any] | None, int]:
        """The database's client configuration, or the server-wide one when the database has none
        enabled; and an etag that changes with either."""
        configuration, etag = await self._run(client_configuration, self._database)
        server_configuration, server_etag = self._catalog.server_client_configuration()
        database_enabled = configuration is not None and not configuration["Disabled"]
        if not database_enabled and server_configuration is not None and not server_configuration["Disabled"]:
            configuration = server_configuration
        return configuration, etag + server_etag

    async def put_client_configuration(self, configuration: Any) -> int:
        return await self._run(put_client_configuration, self._database, configuration)

    # -- compare-exchange ------------------------------------------------------------------------

    async def compare_exchange_values(self, keys: Sequence[str]) -> list[CompareExchangeValue | None]:
        return await self._run(compare_exchange.get_values, self._database, keys)

    async def compare_exchange_by_prefix(self, prefix: str, start: int, page_size: int) -> list[CompareExchangeValue]:
        return await self._run(compare_exchange.values_by_prefix, self._database, prefix, start, page_size)

    async def put_compare_exchange(self, key: str, value: Any, index: int) -> CompareExchangeOutcome:
        return await self._run(compare_exchange.put_value, self._database, key, value, index)

    async def delete_compare_exchange(self, key: str, index: int) -> CompareExchangeOutcome:
        return await self._run(compare_exchange.delete_value, self._database, key, index)

    async def import_sample(self, sample: str) -> int:
        return await self._run(import_sample, self._database, sample)

    # -- queries and indexes ---------------------------------------------------------------------

    async def query(self, text: str, parameters: dict[str, Any], *, start: int, page_size: int | None,
                    wait_for_non_stale: float | None) -> QueryAnswer:
        """Run RQL (see ``run_query``)."""

        def answer() -> QueryAnswer:
            # Read once, before the query: its vector indexes are current when they have applied this
            # much, and the answer holds at least every write its ETag names (a client holding it gets a
            # 304 only while nothing was written since).
            last_etag = self._database.storage.last_etag()
            result = run_query(self._database, text, parameters, start=start, page_size=page_size,
                               wait_for_non_stale=wait_for_non_stale, indexes=self._services.indexes,
                               vectors=self._services.vectors, scripts=self._catalog.patch_engine,
                               last_etag=last_etag)
            now = format_timestamp(datetime.now(UTC))
            etag = result.result_etag if result.result_etag is not None else last_etag
            included = None
            if result.compare_exchange_keys is not None:
                values = include_compare_exchange(self._database, result.compare_exchange_keys)
                # as RavenDB does, the included values' indexes are part of the result's etag
                etag = combined_etag(etag, [value.index for value in values.values() if value is not None])
                included = compare_exchange_includes(values)
            return QueryAnswer(result, etag, result.index_timestamp or now, now, last_etag, included)

        if self._database.storage.local_reads and is_short(text, wait_for_non_stale):
            return await self._catalog.run_short(answer)
        return await self._run(answer)

    async def explain_query(self, text: str, parameters: dict[str, Any]) -> tuple[str | None, list[Explanation]]:
        """The auto-index a dynamic query would use and why not the others (``?debug=explain``)."""
        return await self._run(explain_index_selection, text, parameters, DatabaseQuerySource(self._database),
                               self._services.indexes.registry)

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

    async def index_terms(self, name: str, field: str, after: str, limit: int) -> list[str]:
        return await self._run(self._services.indexes.terms, name, field, after, limit)

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

    async def plan_task(self, data: dict[str, Any], task_id: int | None, name: str | None) -> dict[str, Any]:
        return await self._run(ongoing_tasks.plan_task, self._services, data, task_id, name)

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

    async def connection_string_usage(self) -> list[dict[str, Any]]:
        return await self._run(self._services.embeddings.connection_string_usage)

    async def task_errors(self, name: str | None) -> list[dict[str, Any]]:
        return await self._run(self._services.embeddings.errors, name)

    async def clear_task_errors(self, name: str | None) -> int:
        return await self._run(self._services.embeddings.clear_errors, name)
