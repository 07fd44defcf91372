"""The awaitable facade: operations run on request threads (short ones on the event loop when nothing would
wait) and answer what the HTTP API renders."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings, render_connection_string
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.documents.async_database import AsyncCatalog, AsyncDatabase
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError, NotFoundError
from rookdb.indexes.registry import DEFAULT_INLINE_CATCH_UP
from rookdb.query.plain import LOOP_PAGE_BOUND
from rookdb.settings import Settings

_T = TypeVar("_T")

LOCAL = render_connection_string(AiConnectionString("Local", "local", "TextEmbeddings", EmbeddedSettings()))
TASK = render_task_configuration(EmbeddingsGenerationConfiguration(
    name="Names", identifier="names", connection_string_name="Local", collection="Products",
    embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),)))


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[AsyncCatalog]:
    opened = AsyncCatalog(DatabaseCatalog(tmp_path, Settings({"Expiration.DeleteFrequencyInSec": 3600.0},
                                                            environ={})))
    yield opened
    assert opened.close()


def run(call: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await call()

    return asyncio.run(main())


def shop(catalog: AsyncCatalog) -> AsyncDatabase:
    async def create() -> AsyncDatabase:
        await catalog.create("Shop")
        return await catalog.database("shop")

    return run(create)


def product(name: str) -> dict[str, Any]:
    return {"Name": name, "@metadata": {"@collection": "Products"}}


def test_work_runs_on_request_threads_not_on_the_event_loop(catalog: AsyncCatalog) -> None:
    async def where() -> tuple[str, str]:
        return threading.current_thread().name, await catalog.run(lambda: threading.current_thread().name)

    loop_thread, worker = run(where)
    assert worker.startswith("rookdb-requests") and worker != loop_thread


def test_databases_are_created_listed_read_and_deleted(catalog: AsyncCatalog, tmp_path: Path) -> None:
    async def scenario() -> None:
        name, etag = await catalog.create("Shop")
        assert (name, etag) == ("Shop", 0)  # a new database has an empty record
        with pytest.raises(DatabaseAlreadyExistsError):
            await catalog.create("shop")
        await catalog.create("Archive")
        assert await catalog.names(0, 10) == ["Archive", "Shop"]
        assert await catalog.names(1, 10) == ["Shop"]
        database = await catalog.database("SHOP")
        assert database is await catalog.database("shop") and database.name == "Shop"
        await database.put("products/1-A", product("Chai"), None)
        assert await catalog.describe(["Shop"]) == [
            {"Name": "Shop", "Disabled": False, "DocumentsCount": 1, "Collections": {"Products": 1}}]
        record = await catalog.record("shop")
        assert (record["DatabaseName"], record["LockMode"]) == ("Shop", "Unlock")
        await catalog.delete(["Shop"])
        assert not (tmp_path / "databases" / "Shop").exists()
        with pytest.raises(NotFoundError, match="Database 'Shop' does not exist"):
            await catalog.record("Shop")
        with pytest.raises(DatabaseDoesNotExistError):
            await catalog.database("Shop")

    run(scenario)


def test_documents_round_trip(catalog: AsyncCatalog) -> None:
    database = shop(catalog)

    async def scenario() -> None:
        written = await database.put("products/1-A", {**product("Chai"), "Supplier": "suppliers/1-A"}, None)
        supplier = {"Name": "Exotic", "@metadata": {"@collection": "Suppliers"}}
        await database.batch({"Commands": [{"Type": "PUT", "Id": "suppliers/1-A", "Document": supplier}]})
        assert await database.insert_many([("products/2-A", product("Chang"))]) == 1
        loaded = await database.load(["products/1-A"], ["Supplier"])
        assert list(loaded.includes) == ["suppliers/1-A"]
        by_prefix = await database.list_documents(start=0, page_size=10, prefix="products/")
        assert [document.id for document in by_prefix.documents if document] == ["products/1-A", "products/2-A"]
        recent = await database.list_documents(start=0, page_size=1, collection="Products")
        assert [document.id for document in recent.documents if document] == ["products/2-A"]
        found = await database.get("products/1-A")
        assert found is not None and found.change_vector == written.document.change_vector
        assert await database.delete("products/2-A", None)
        assert (await database.statistics())["CountOfDocuments"] == 2
        with pytest.raises(NotFoundError, match="Attachment 'x' of document 'products/1-A' does not exist"):
            await database.attachment("products/1-A", "x")
        hilo = await database.hilo_next("products", 0, None, 0, "/")
        await database.hilo_return("products", hilo.high, hilo.low)

    run(scenario)


def test_queries_answer_with_the_result_etag(catalog: AsyncCatalog) -> None:
    database = shop(catalog)

    async def scenario() -> None:
        await database.put("products/1-A", product("Chai"), None)
        answer = await database.query("from Products where Name = $n", {"n": "Chai"}, start=0, page_size=None,
                                      wait_for_non_stale=None)
        assert [row["Name"] for row in answer.result.results] == ["Chai"]
        assert answer.result_etag == (await database.statistics())["LastDocEtag"]
        assert answer.index_timestamp.endswith("Z") and answer.query_time.endswith("Z")
        assert [index["Name"] for index in await database.indexes()] == ["Auto/Products/ByName"]
        assert await database.index_names() == ["Auto/Products/ByName"]

    run(scenario)


def _counting_hand_offs(catalog: AsyncCatalog) -> tuple[list[object], Callable[..., Any]]:
    """A stand-in for the catalog's thread pool ``submit`` that lists each call handed to a thread."""
    handed_off: list[object] = []
    submit = catalog._pool.submit

    def counted(call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        handed_off.append(call)
        return submit(call, *args, **kwargs)

    return handed_off, counted


def test_a_vector_query_runs_on_the_event_loop_unless_it_would_wait(catalog: AsyncCatalog,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    database = shop(catalog)
    handed_off, counted = _counting_hand_offs(catalog)

    async def ids(query: str, value: Any, wait: float | None = None) -> list[str]:
        answer = await database.query(query, {"v": value}, start=0, page_size=None, wait_for_non_stale=wait)
        return [row["Id"] for row in answer.result.results]

    by_vector = "from Items where vector.search(Vector, $v) select id()"
    by_text = "from Items where vector.search(embedding.text(Name), $v) select id()"

    async def scenario() -> None:
        for number, (name, vector) in enumerate([("red apple", [1.0, 0.1, 0.0]), ("blue sky", [0.0, 1.0, 0.0]),
                                                 ("green apple", [0.9, 0.0, 0.2])]):
            item = {"Name": name, "Vector": vector, "@metadata": {"@collection": "Items"}}
            await database.put(f"items/{number}", item, None)
        # The queries that create the indexes wait for them on request threads.
        assert await ids(by_vector, [1.0, 0.0, 0.0], wait=10.0) == ["items/0", "items/2", "items/1"]
        assert (await ids(by_text, "apple", wait=10.0))[:2] in (["items/0", "items/2"], ["items/2", "items/0"])
        monkeypatch.setattr(catalog._pool, "submit", counted)
        assert await ids(by_vector, [1.0, 0.0, 0.0]) == ["items/0", "items/2", "items/1"]
        assert handed_off == []  # answered on the event loop
        assert "items/1" in await ids(by_text, "sky")  # a new search term: the model embeds it on a thread
        assert len(handed_off) == 1
        assert "items/1" in await ids(by_text, "sky")  # now remembered: on the event loop
        assert len(handed_off) == 1

    run(scenario)


def test_connection_strings_and_tasks(catalog: AsyncCatalog) -> None:
    database = shop(catalog)

    async def scenario() -> None:
        await database.put_connection_string(LOCAL)
        written = await database.save_task(TASK, None, reset=False)
        described = await database.connection_strings("Local")
        assert described["Local"]["UsedBy"] == [
            {"Kind": "EmbeddingsGeneration", "Id": written.task.task_id, "Name": "Names", "Identifier": "names"}]
        assert await database.connection_strings("Other") == {}
        info = await database.ongoing_task(written.task.task_id, None, "http://node")
        assert info is not None and info["TaskName"] == "Names" and info["ResponsibleNode"]["NodeUrl"] == "http://node"
        assert [task["TaskId"] for task in await database.ongoing_tasks("http://node")] == [written.task.task_id]
        assert await database.ongoing_task(0, "missing", "http://node") is None
        task_id, _ = await database.set_task_disabled(0, "names", True)
        assert task_id == written.task.task_id
        assert (await database.ongoing_task(task_id, None, "http://node") or {})["TaskState"] == "Disabled"
        with pytest.raises(NotFoundError, match="task 'missing' does not exist"):
            await database.set_task_disabled(0, "missing", True)
        assert [entry["State"] for entry in await database.tasks_progress()] == ["Disabled"]
        assert await database.task_errors(None) == [] and await database.clear_task_errors(None) == 0
        await database.delete_task(task_id)
        assert await database.ongoing_tasks("http://node") == []

    run(scenario)


async def _put_two_items(database: AsyncDatabase) -> None:
    for number, vector in enumerate([[1.0, 0.1], [0.0, 1.0]]):
        await database.put(f"items/{number}", {"Vector": vector, "@metadata": {"@collection": "Items"}}, None)


async def _nearest(database: AsyncDatabase, wait: float | None = None) -> Any:
    return await database.query("from Items where vector.search(Vector, $v) select id()", {"v": [1.0, 0.0]},
                                start=0, page_size=None, wait_for_non_stale=wait)


def test_a_vector_query_leaves_the_auto_index_it_is_listed_by_alone(catalog: AsyncCatalog,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Vector clauses alone are answered by the vector index: the auto-index of the same name (which lists
    the query) is not held, caught up or read, so a writer holding it delays nothing."""
    database = shop(catalog)
    handed_off, counted = _counting_hand_offs(catalog)

    async def scenario() -> None:
        await _put_two_items(database)
        created = await _nearest(database, wait=10.0)
        [(name, listed)] = database._services.indexes.registry.named_indexes()
        assert created.result.index_name == name
        queried_at = listed.last_query_time
        with listed._lock:  # as its indexing batch does; a change elsewhere leaves it behind the database
            await database.put("products/1", product("Chai"), None)
            monkeypatch.setattr(catalog._pool, "submit", counted)
            answer = await asyncio.wait_for(_nearest(database), 5)
            assert handed_off == []  # on the event loop, without waiting for the writer
            last_etag = (await database.statistics())["LastDocEtag"]
        assert [row["Id"] for row in answer.result.results] == ["items/0", "items/1"]
        assert (answer.result.index_name, answer.result.is_stale, answer.result_etag) == (name, False, last_etag)
        assert listed.checkpoint < last_etag  # not caught up by the query
        assert listed.last_query_time is not None and listed.last_query_time >= (queried_at or "")

    run(scenario)


def test_a_vector_query_reads_the_database_etag_once_before_it_runs(catalog: AsyncCatalog) -> None:
    """The etag that decides whether the vector index is current is the one the answer is tagged with, read
    once before the query: a later write can only make the answer newer than its ETag says, never older."""
    database = shop(catalog)
    statements: list[str] = []

    async def scenario() -> None:
        await _put_two_items(database)
        await _nearest(database, wait=10.0)
        last_etag = (await database.statistics())["LastDocEtag"]
        # The query runs on the event loop, this thread: its reads go through this thread's connection.
        reader = database._database.storage._reader()  # type: ignore[attr-defined]
        reader.set_trace_callback(statements.append)
        try:
            answer = await _nearest(database)
        finally:
            reader.set_trace_callback(None)
        assert [row["Id"] for row in answer.result.results] == ["items/0", "items/1"]
        assert (answer.result.is_stale, answer.database_etag, answer.result_etag) == (False, last_etag, last_etag)

    run(scenario)
    assert len([statement for statement in statements if "'last_etag'" in statement]) == 1, statements


def test_a_plain_query_runs_on_the_event_loop_when_its_index_is_current_and_its_page_small(
        catalog: AsyncCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter answered from one snapshot of a current auto-index skips the hand-off to a thread; creating
    the index, a backlog larger than a query applies itself, or a page of more than ``LOOP_PAGE_BOUND``
    documents still go to a thread (the event loop would stall every connection meanwhile)."""
    database = shop(catalog)
    handed_off, counted = _counting_hand_offs(catalog)

    async def query(category: str, page_size: int | None = None, wait: float | None = None) -> Any:
        return await database.query("from Products where Category = $c", {"c": category}, start=0,
                                    page_size=page_size, wait_for_non_stale=wait)

    def names(answer: Any) -> list[str]:
        return sorted(row["Name"] for row in answer.result.results)

    def products(category: str, count: int, first: int) -> list[tuple[str | None, Any]]:
        return [(f"products/{first + n}", {**product(f"{category} {first + n}"), "Category": category})
                for n in range(count)]

    async def scenario() -> None:
        await database.insert_many([*products("fruit", 2, 0), *products("roots", 1, 2)])
        monkeypatch.setattr(catalog._pool, "submit", counted)
        assert names(await query("fruit")) == ["fruit 0", "fruit 1"]
        assert len(handed_off) == 1  # the query that creates the index waits for it on a thread
        assert names(await query("fruit")) == ["fruit 0", "fruit 1"]
        assert len(handed_off) == 1  # answered on the event loop
        await database.pause_indexing(None)
        bulk = DEFAULT_INLINE_CATCH_UP + 1  # more changes than a query applies itself
        await database.insert_many(products("roots", bulk, 3))
        handed = len(handed_off)
        behind = await query("roots")
        assert len(handed_off) == handed + 1 and behind.result.is_stale
        await database.resume_indexing(None)
        assert len(names(await query("roots", wait=30.0))) == bulk + 1
        assert bulk + 1 > LOOP_PAGE_BOUND
        handed = len(handed_off)
        assert len(names(await query("roots"))) == bulk + 1
        assert len(handed_off) == handed + 1  # too many documents for the event loop
        paged = await query("roots", page_size=10)
        assert len(paged.result.results) == 10 and paged.result.total_results == bulk + 1
        assert names(await query("fruit")) == ["fruit 0", "fruit 1"]
        assert len(handed_off) == handed + 1  # a bounded page and a small one: on the event loop

    run(scenario)
