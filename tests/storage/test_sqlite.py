"""The SQLite backend: ids, change feed, attachments by content hash, HiLo, state and record."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from rookdb.storage.sqlite import SqliteStorage


@pytest.fixture
def storage(tmp_path: Path) -> SqliteStorage:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


def put(storage: SqliteStorage, doc_id: str, collection: str = "Products", **fields: object) -> None:
    with storage.write() as tx:
        tx.put(doc_id, collection, {**fields, "@metadata": {"@collection": collection}})


def test_ids_are_case_insensitive_and_case_preserving(storage: SqliteStorage) -> None:
    put(storage, "Products/1-A", Name="Chai")
    document = storage.get("products/1-a")
    assert document is not None
    assert document.id == "Products/1-A"
    put(storage, "PRODUCTS/1-a", Name="Chang")
    again = storage.get("products/1-A")
    assert again is not None and again.id == "Products/1-A"
    assert orjson.loads(again.body)["Name"] == "Chang"
    assert storage.count() == 1


def test_server_owned_metadata_is_filled(storage: SqliteStorage) -> None:
    put(storage, "products/1", Name="Chai")
    document = storage.get("products/1")
    assert document is not None
    metadata = orjson.loads(document.body)["@metadata"]
    assert metadata["@id"] == "products/1"
    assert metadata["@change-vector"] == document.change_vector == f"A:{document.etag}-{storage.database_id}"
    assert metadata["@last-modified"].endswith("Z") and "." in metadata["@last-modified"]
    assert metadata["@collection"] == "Products"


def test_change_feed_is_monotonic_and_includes_deletes(storage: SqliteStorage) -> None:
    put(storage, "a/1")
    put(storage, "a/2")
    put(storage, "a/1")
    with storage.write() as tx:
        assert tx.delete("a/2") is not None
        assert tx.delete("a/3") is None
    changes = storage.changes_since(0, 100)
    assert [change.etag for change in changes] == sorted(change.etag for change in changes)
    assert [(change.id, change.deleted) for change in changes] == [("a/1", False), ("a/2", True)]
    assert storage.changes_since(changes[0].etag, 100)[0].id == "a/2"
    assert storage.last_etag() == changes[-1].etag
    put(storage, "a/2")
    assert [change.id for change in storage.changes_since(changes[-1].etag, 10)] == ["a/2"]


def test_rolled_back_transaction_leaves_nothing(storage: SqliteStorage) -> None:
    with pytest.raises(RuntimeError), storage.write() as tx:
        tx.put("a/1", "A", {"@metadata": {}})
        raise RuntimeError("boom")
    assert storage.get("a/1") is None
    assert storage.last_etag() == 0


def test_attachments_are_stored_once_per_content_and_collected(storage: SqliteStorage) -> None:
    put(storage, "a/1")
    put(storage, "a/2")
    with storage.write() as tx:
        first = tx.put_attachment("a/1", "v", "application/octet-stream", b"same bytes")
        second = tx.put_attachment("a/2", "v", "application/octet-stream", b"same bytes")
    assert first.hash == second.hash
    loaded = storage.attachment_content("a/1", "v")
    assert loaded is not None and loaded[1] == b"same bytes"
    document = storage.get("a/1")
    assert document is not None
    metadata = orjson.loads(document.body)["@metadata"]
    assert metadata["@flags"] == "HasAttachments"
    assert metadata["@attachments"][0]["Hash"] == first.hash
    with storage.write() as tx:
        tx.delete("a/1")
    assert storage.attachment_content("a/2", "v") is not None
    with storage.write() as tx:
        tx.delete_attachment("a/2", "v")
    assert storage.integrity_check() == []
    assert storage._read("SELECT count(*) FROM attachment_contents")[0][0] == 0


def test_hilo_ranges_never_overlap(storage: SqliteStorage) -> None:
    with storage.write() as tx:
        first = tx.hilo_next("products", 0, 32)
        second = tx.hilo_next("products", 0, 32)
    assert first == (1, 32)
    assert second == (33, 64)
    with storage.write() as tx:
        tx.hilo_return("products", 64, 40)
        assert tx.hilo_next("products", 0, 32) == (41, 72)
        tx.hilo_return("products", 64, 50)  # not the newest range any more: ignored
        assert tx.hilo_next("products", 0, 8) == (73, 80)


def test_state_and_record_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    storage = SqliteStorage(path)
    with storage.write() as tx:
        tx.set_state("task/1/position", {"etag": 42})
        tx.set_state("task/2/position", 7)
        etag = tx.set_record({"Settings": {"x": 1}})
    database_id = storage.database_id
    storage.close()
    reopened = SqliteStorage(path)
    assert reopened.database_id == database_id
    assert reopened.get_state("task/1/position") == {"etag": 42}
    assert reopened.states("task/") == {"task/1/position": {"etag": 42}, "task/2/position": 7}
    assert reopened.get_record() == ({"Settings": {"x": 1}}, etag)
    with reopened.write() as tx:
        tx.delete_state("task/1")
    assert reopened.states("task/") == {"task/2/position": 7}
    reopened.close()


def test_collections_prefix_listing_and_iteration(storage: SqliteStorage) -> None:
    for number in range(1, 2500):
        put(storage, f"products/{number}", "Products" if number % 2 else "Orders")
    assert storage.collection_counts() == {"Orders": 1249, "Products": 1250}
    assert sum(1 for _ in storage.iter_collection("products")) == 1250
    assert sum(1 for _ in storage.iter_collection(None)) == 2499
    listed = storage.list_by_prefix("Products/1", 0, 5)
    assert [document.id for document in listed] == sorted(document.id for document in listed)
    assert all(document.id.startswith("products/1") for document in listed)
    assert [document.id for document in storage.list_recent("Orders", 0, 2)] == ["products/2498", "products/2496"]


def test_concurrent_readers_and_writer(storage: SqliteStorage) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for number in range(200):
                put(storage, f"w/{number}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def read() -> None:
        try:
            for _ in range(200):
                storage.count()
                storage.changes_since(0, 10)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write), threading.Thread(target=read), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert storage.count() == 200
