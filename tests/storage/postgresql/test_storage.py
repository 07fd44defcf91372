"""PostgreSQL storage shared by several nodes: etag order, schemas, drops seen by other nodes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import psycopg
import pytest

from rookdb.errors import DatabaseDoesNotExistError
from rookdb.storage.base import DocumentStorage, DocumentWrite
from rookdb.storage.postgresql import PostgresBackend, PostgresStorage
from rookdb.testing.postgres_server import PostgresServer
from tests.support.storage import put

Nodes = Callable[[int], list[PostgresBackend]]


@pytest.fixture
def nodes(postgres_server: PostgresServer) -> Iterator[Nodes]:
    """Backends with pools of their own, as separate rookdb nodes over one PostgreSQL have."""
    opened: list[PostgresBackend] = []

    def make(count: int) -> list[PostgresBackend]:
        made = [PostgresBackend(postgres_server.url) for _ in range(count)]
        opened.extend(made)
        return made

    yield make
    for backend in opened:
        backend.close()


def test_a_follower_never_skips_an_etag_while_nodes_write_concurrently(nodes: Nodes, database_name: str) -> None:
    first, *others, follower_node = nodes(4)
    storages = [first.create(database_name)] + [node.open(database_name) for node in others]
    writers_per_node, transactions, expected = 2, 25, 0
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def write(storage: DocumentStorage, writer: str) -> None:
        try:
            for number in range(transactions):
                with storage.write() as tx:
                    for part in range(1 + number % 3):
                        tx.put(f"items/{writer}-{number}-{part}", "Items", {"@metadata": {"@collection": "Items"}})
                        time.sleep(0.001)  # hold the transaction open: commits would reorder if they could
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def follow(storage: DocumentStorage) -> None:
        # Only fresh ids are put, so the feed has no gaps: each batch must start right after the last.
        last = 0
        try:
            while True:
                done = stop.is_set()
                for change in storage.changes_since(last, 7):
                    assert change.etag == last + 1, f"skipped from {last} to {change.etag}"
                    last = change.etag
                    seen.append(change.etag)
                if done and storage.changes_since(last, 1) == []:
                    return
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(storage, f"{index}.{writer}"))
               for index, storage in enumerate(storages) for writer in range(writers_per_node)]
    expected = len(threads) * sum(1 + number % 3 for number in range(transactions))
    follower = threading.Thread(target=follow, args=(follower_node.open(database_name),))
    for thread in [*threads, follower]:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    follower.join()
    assert errors == []
    assert seen == list(range(1, expected + 1))
    assert storages[0].last_etag() == expected


def test_identities_never_repeat_across_nodes(nodes: Nodes, database_name: str) -> None:
    left, right = nodes(2)
    storages = [left.create(database_name), right.open(database_name)]
    handed_out: list[int] = []
    lock = threading.Lock()

    def reserve(storage: DocumentStorage) -> None:
        for _ in range(30):
            with storage.write() as tx:
                value = tx.next_identity("orders|")
            with lock:
                handed_out.append(value)

    threads = [threading.Thread(target=reserve, args=(storage,)) for storage in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(handed_out) == list(range(1, 61))


def test_every_database_has_a_schema_of_its_own(nodes: Nodes, postgres_server: PostgresServer,
                                                database_name: str) -> None:
    (backend,) = nodes(1)
    one = backend.create(database_name)
    two = backend.create(database_name + "-two")
    put(one, "items/1", Name="one")
    put(two, "items/1", Name="two")
    assert isinstance(one, PostgresStorage) and isinstance(two, PostgresStorage)
    assert one.schema != two.schema and one.database_id != two.database_id
    document = two.get("items/1")
    assert document is not None and orjson.loads(document.body)["Name"] == "two"
    backend.drop(database_name + "-two")
    with psycopg.connect(postgres_server.url) as connection:
        schemas = {row[0] for row in connection.execute("SELECT nspname FROM pg_namespace")}
    assert one.schema in schemas and two.schema not in schemas


def test_nodes_share_the_catalog_and_see_each_others_writes(nodes: Nodes, database_name: str) -> None:
    left, right = nodes(2)
    put(left.create(database_name), "Items/1", Name="from the left")
    assert database_name in right.names()
    document = right.open(database_name.lower()).get("items/1")
    assert document is not None and document.id == "Items/1"


def test_a_database_dropped_by_another_node_is_missing_here(nodes: Nodes, database_name: str) -> None:
    left, right = nodes(2)
    storage = left.create(database_name)
    put(storage, "items/1")
    right.drop(database_name)
    with pytest.raises(DatabaseDoesNotExistError):
        storage.get("items/1")
    with pytest.raises(DatabaseDoesNotExistError), storage.write() as tx:
        tx.put("items/2", "Items", {"@metadata": {}})


def test_bodies_are_stored_byte_for_byte(nodes: Nodes, database_name: str) -> None:
    (backend,) = nodes(1)
    storage = backend.create(database_name)
    put(storage, "items/1", Zebra=1, Apple={"b": 2, "a": [1, "\u00e9"]})
    document = storage.get("items/1")
    assert document is not None
    assert document.body.startswith(b'{"Zebra":1,"Apple":{"b":2,"a":[1,"\xc3\xa9"]}')


def test_integrity_check_finds_orphans_and_a_head_behind(nodes: Nodes, postgres_server: PostgresServer,
                                                         database_name: str) -> None:
    (backend,) = nodes(1)
    storage = backend.create(database_name)
    assert isinstance(storage, PostgresStorage)
    put(storage, "items/1")
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f"INSERT INTO {storage.schema}.attachment_contents VALUES ('orphan', 'x')")
        connection.execute(f"UPDATE {storage.schema}.head SET last_etag = 0")
    assert storage.integrity_check() == [
        "attachment content orphan is referenced by no document", "etag 1 is past the change feed's head"]


def _wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_listeners_hear_every_node_s_writes_once(nodes: Nodes, database_name: str) -> None:
    node_a, node_b = nodes(2)
    on_a, on_b = node_a.create(database_name), node_b.open(database_name)
    heard: list[tuple[int, str, bool]] = []
    on_b.add_commit_listener(
        lambda committed: heard.extend((change.etag, change.id, change.deleted) for change in committed))
    put(on_a, "items/1")
    put(on_b, "items/2")  # told at commit, never again by the feed
    put(on_a, "items/3")
    with on_a.write() as tx:
        tx.delete("items/1")
    put(on_a, "items/5")
    _wait_until(lambda: any(doc_id == "items/5" for _, doc_id, _ in heard))
    time.sleep(0.5)  # a second telling would come with the next notification or sweep
    put(on_a, "items/6")
    _wait_until(lambda: any(doc_id == "items/6" for _, doc_id, _ in heard))
    etags = [etag for etag, _, _ in heard]
    assert len(etags) == len(set(etags))
    assert [doc_id for _, doc_id, _ in heard].count("items/2") == 1
    assert {(doc_id, deleted) for _, doc_id, deleted in heard} >= {
        ("items/2", False), ("items/3", False), ("items/1", True), ("items/5", False), ("items/6", False)}


def test_record_listeners_hear_other_nodes_record_changes_only(nodes: Nodes, database_name: str) -> None:
    node_a, node_b = nodes(2)
    on_a, on_b = node_a.create(database_name), node_b.open(database_name)
    calls: list[int] = []
    on_b.add_record_listener(lambda: calls.append(on_b.get_record()[1]))
    with on_b.write() as tx:
        tx.set_record({"Mine": True})
    with on_a.write() as tx:
        etag = tx.set_record({"Theirs": True})
    _wait_until(lambda: calls == [etag])
    assert on_b.record_etag() == etag  # read from the shared head, not remembered


class _CountingConnection:
    """Counts the statements (round trips) a write transaction sends."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self.statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self.connection.execute(*args, **kwargs)

    def cursor(self) -> Any:
        self.statements += 1  # an executemany (pipelined) or a COPY
        return self.connection.cursor()


def _statements_of(storage: DocumentStorage, writes: list[DocumentWrite]) -> int:
    with storage.write() as tx:
        counting = _CountingConnection(tx._db)  # type: ignore[attr-defined]
        tx._db = counting  # type: ignore[attr-defined]
        tx.write_many(writes)
        tx._db = counting.connection  # type: ignore[attr-defined]
    return counting.statements


@pytest.mark.parametrize("count", [4, 64])
def test_write_many_takes_the_same_few_statements_for_any_batch(nodes: Nodes, database_name: str, count: int) -> None:
    storage = nodes(1)[0].create(database_name)
    created = _statements_of(storage, [DocumentWrite(f"docs/{n}", "Docs", {"N": n}, {"v": ("a/b", b"%d" % n)})
                                       for n in range(count)])
    replaced = _statements_of(storage, [DocumentWrite(f"docs/{n}", "Docs", {"N": -n}, {"w": ("a/b", b"new")}, ["v"])
                                        for n in range(count)])
    # Both: the rows and the attachments read, contents, links. New documents: one COPY and the
    # tombstone check; replaced ones: old links removed, their contents dropped, one executemany.
    assert (created, replaced) == (6, 7)
    assert storage.count() == count and storage.statistics().unique_attachments == 1
