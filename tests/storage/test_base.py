"""The storage contract, on every backend: ids, change feed, attachments by content hash, HiLo,
state and record, and the backend's list of databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest

from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError
from rookdb.storage.base import DocumentStorage, DocumentWrite, FieldEdit, StorageBackend, WriteTransaction
from tests.support.storage import delete, leave_fifty_of_two_hundred, put, snapshot


def test_ids_are_case_insensitive_and_case_preserving(storage: DocumentStorage) -> None:
    put(storage, "Products/1-A", Name="Chai")
    document = storage.get("products/1-a")
    assert document is not None
    assert document.id == "Products/1-A"
    put(storage, "PRODUCTS/1-a", Name="Chang")
    again = storage.get("products/1-A")
    assert again is not None and again.id == "Products/1-A"
    assert orjson.loads(again.body)["Name"] == "Chang"
    assert storage.count() == 1


def test_server_owned_metadata_is_filled(storage: DocumentStorage) -> None:
    put(storage, "products/1", Name="Chai")
    document = storage.get("products/1")
    assert document is not None
    metadata = orjson.loads(document.body)["@metadata"]
    assert metadata["@id"] == "products/1"
    assert metadata["@change-vector"] == document.change_vector == f"A:{document.etag}-{storage.database_id}"
    assert metadata["@last-modified"].endswith("Z") and "." in metadata["@last-modified"]
    assert metadata["@collection"] == "Products"


def test_change_feed_is_monotonic_and_includes_deletes(storage: DocumentStorage) -> None:
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


def test_expiries_of_the_change_feed_read_only_a_string_metadata_expires(storage: DocumentStorage) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "c/due": {"@metadata": {"@collection": "C", "@expires": "2026-01-02T03:04:05.1234567Z"}},
        "c/escaped": {"@metadata": {"@collection": "C", "@expires": 'x"\\\u00e9\n'}},
        "c/number": {"@metadata": {"@collection": "C", "@expires": 5}},
        "c/object": {"@metadata": {"@collection": "C", "@expires": {"At": "2026-01-02T03:04:05Z"}}},
        "c/null": {"@metadata": {"@collection": "C", "@expires": None}},
        "c/in-data": {"@expires": "2026-01-02T03:04:05Z", "Text": '"@expires"', "@metadata": {"@collection": "C"}},
        "c/none": {"Name": "plain", "@metadata": {"@collection": "C"}},
        "c/nul": {"Text": "a\u0000b", "@metadata": {"@collection": "C", "@expires": "2026-01-02T03:04:05Z"}},
        "c/gone": {"@metadata": {"@collection": "C", "@expires": "2026-01-02T03:04:05Z"}},
    }
    with storage.write() as tx:
        for doc_id, body in bodies.items():
            tx.put(doc_id, "C", body)
        tx.delete("c/gone")
    read = storage.expiries_since(0, 100)
    assert [(change.id, change.expires) for change in read] == [
        ("c/due", "2026-01-02T03:04:05.1234567Z"), ("c/escaped", 'x"\\\u00e9\n'), ("c/number", None),
        ("c/object", None), ("c/null", None), ("c/in-data", None), ("c/none", None),
        ("c/nul", "2026-01-02T03:04:05Z"), ("c/gone", None)]
    # Whatever the backend reads, it reads what the change feed's bodies hold.
    assert read == DocumentStorage.expiries_since(storage, 0, 100)
    assert [change.etag for change in storage.expiries_since(read[2].etag, 3)] == [
        change.etag for change in read[3:6]]


def test_rolled_back_transaction_leaves_nothing(storage: DocumentStorage) -> None:
    with pytest.raises(RuntimeError), storage.write() as tx:
        tx.put("a/1", "A", {"@metadata": {}})
        raise RuntimeError("boom")
    assert storage.get("a/1") is None
    assert storage.last_etag() == 0


def test_attachments_are_stored_once_per_content_and_collected(storage: DocumentStorage) -> None:
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
    assert storage.attachment_content("a/2", "v") is None


def test_identities_count_up_and_seed(storage: DocumentStorage) -> None:
    with storage.write() as tx:
        assert [tx.next_identity("Users|") for _ in range(3)] == [1, 2, 3]
        assert tx.seed_identity("users|", 2, force=False) == 3
        assert tx.seed_identity("users|", 10, force=False) == 10
        assert tx.seed_identity("users|", 5, force=True) == 5
        assert tx.seed_identity("orders|", 7, force=False) == 7
    assert storage.identities() == {"orders|": 7, "users|": 5}
    assert storage.statistics().identities == 2


def test_compare_exchange_indexes_grow_and_deletes_leave_tombstones(storage: DocumentStorage) -> None:
    with storage.write() as tx:
        first = tx.put_compare_exchange("Emails/A", {"Object": "a"})
        second = tx.put_compare_exchange("emails/b", {"Object": "b"})
        updated = tx.put_compare_exchange("EMAILS/A", {"Object": "a2"})
        assert tx.get_compare_exchange("emails/a") == updated
    assert first.index < second.index < updated.index and updated.key == "Emails/A"
    assert storage.compare_exchange(["emails/a", "missing"]) == [updated, None]
    assert [v.key for v in storage.compare_exchange_by_prefix("EMAILS/", 0, 10)] == ["Emails/A", "emails/b"]
    assert [v.key for v in storage.compare_exchange_by_prefix("emails/", 1, 10)] == ["emails/b"]
    with storage.write() as tx:
        deleted = tx.delete_compare_exchange("emails/b")
        assert tx.delete_compare_exchange("emails/b") is None
    assert deleted is not None and deleted > updated.index
    stats = storage.statistics()
    assert (stats.compare_exchange, stats.compare_exchange_tombstones) == (1, 1)


def test_attachments_copy_by_hash(storage: DocumentStorage) -> None:
    with storage.write() as tx:
        tx.put("a/1", "As", {"@metadata": {"@collection": "As"}})
        tx.put("a/2", "As", {"@metadata": {"@collection": "As"}})
        source = tx.put_attachment("a/1", "photo", "image/png", b"png-bytes")
        copy = tx.copy_attachment("a/1", "photo", "a/2", "copy")
        assert tx.copy_attachment("a/1", "missing", "a/2", "x") is None
        assert tx.get_attachment("a/2", "copy") == copy
    assert copy is not None and copy.hash == source.hash and copy.content_type == "image/png"
    assert storage.statistics().unique_attachments == 1 and storage.statistics().attachments == 2
    with storage.write() as tx:
        tx.delete("a/1")
    assert storage.attachment_content("a/2", "copy") == (copy, b"png-bytes")


def test_compact_keeps_everything(storage: DocumentStorage) -> None:
    leave_fifty_of_two_hundred(storage)
    before, after = storage.compact()
    assert before > 0 and after > 0 and storage.count() == 50 and storage.integrity_check() == []


def test_state_and_record_survive_reopen(backend: StorageBackend, database_name: str) -> None:
    storage = backend.create(database_name)
    assert storage.record_etag() == 0
    with storage.write() as tx:
        tx.set_state("task/1/position", {"etag": 42})
        tx.set_state("task/2/position", 7)
        etag = tx.set_record({"Settings": {"x": 1}})
    database_id = storage.database_id
    storage.close()
    reopened = backend.open(database_name.upper())
    assert reopened.database_id == database_id
    assert reopened.get_state("task/1/position") == {"etag": 42}
    assert reopened.states("task/") == {"task/1/position": {"etag": 42}, "task/2/position": 7}
    assert reopened.get_record() == ({"Settings": {"x": 1}}, etag)
    assert reopened.record_etag() == etag
    with reopened.write() as tx:
        tx.delete_state("task/1")
    assert reopened.states("task/") == {"task/2/position": 7}
    reopened.close()


def test_collections_prefix_listing_and_iteration(storage: DocumentStorage) -> None:
    for number in range(1, 2500):
        put(storage, f"products/{number}", "Products" if number % 2 else "Orders")
    assert storage.collection_counts() == {"Orders": 1249, "Products": 1250}
    assert sum(1 for _ in storage.iter_collection("products")) == 1250
    assert sum(1 for _ in storage.iter_collection(None)) == 2499
    listed = storage.list_by_prefix("Products/1", 0, 5)
    assert [document.id for document in listed] == sorted(document.id for document in listed)
    assert all(document.id.startswith("products/1") for document in listed)
    assert [document.id for document in storage.list_recent("Orders", 0, 2)] == ["products/2498", "products/2496"]


def test_concurrent_readers_and_writer(storage: DocumentStorage) -> None:
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


def test_bulk_put_many_replaces_and_revives(storage: DocumentStorage) -> None:
    put(storage, "Orders/1", "Orders", Total=1)
    with storage.write() as tx:
        tx.delete("Orders/1")
    put(storage, "Orders/2", "Orders", Total=2)
    documents = [(f"orders/{number}", "Orders", {"Total": number * 10, "@metadata": {"@collection": "Orders"}})
                 for number in (1, 2, 3, 3)]
    with storage.write() as tx:
        existing = tx.existing([doc_id for doc_id, _, _ in documents])
        assert existing == {"orders/2": ("Orders/2", "Orders")}
        tx.put_many(documents, existing)
    assert [document.id for document in storage.iter_collection("ORDERS")] == ["orders/1", "Orders/2", "orders/3"]
    assert storage.collection_ids("ORDERS") == ["orders/1", "Orders/2", "orders/3"]
    assert storage.collection_ids(None) == [document.id for document in storage.iter_collection(None)]
    third = storage.get("orders/3")
    assert third is not None and orjson.loads(third.body)["Total"] == 30
    assert [change.deleted for change in storage.changes_since(0, 100)] == [False, False, False]
    assert storage.last_etag() == max(change.etag for change in storage.changes_since(0, 100))


def test_bulk_put_stores_any_text_as_a_single_put_does(storage: DocumentStorage) -> None:
    texts = ["", "plain", "caf\u00e9 \u65e5\u672c \U0001f600", '"quoted" \\ back\nline', "x" * 5000, "\u0130stanbul"]
    documents = [(f"Docs/\u00c9t\u00e9-{n}", "D\u00f6cs", {"Text": text, "@metadata": {"@collection": "D\u00f6cs"}})
                 for n, text in enumerate(texts)]
    with storage.write() as tx:
        tx.put_many(documents, {})
        tx.put("single/1", "D\u00f6cs", {"Text": texts[2], "@metadata": {"@collection": "D\u00f6cs"}})
    for (doc_id, _, _), text in zip(documents, texts, strict=True):
        document = storage.get(doc_id.upper())
        assert document is not None and document.id == doc_id and document.collection == "D\u00f6cs"
        body = orjson.loads(document.body)
        assert body["Text"] == text and body["@metadata"]["@id"] == doc_id
        assert body["@metadata"]["@change-vector"] == document.change_vector
    assert storage.count("d\u00d6cs") == len(texts) + 1


def test_listeners_hear_a_bulk_put_in_etag_order(storage: DocumentStorage) -> None:
    put(storage, "Orders/2", "Orders", Total=2)
    first = storage.last_etag()
    heard: list[list[tuple[int, str, str, bool]]] = []
    storage.add_commit_listener(lambda changes: heard.append(
        [(change.etag, change.id, change.collection, change.deleted) for change in changes]))
    documents = [(f"orders/{number}", "Orders", {"Total": number, "@metadata": {"@collection": "Orders"}})
                 for number in (1, 2, 3, 1, 4)]
    with storage.write() as tx:
        tx.put_many(documents, tx.existing([doc_id for doc_id, _, _ in documents]))
        tx.delete("orders/3")
    ids = ["orders/1", "Orders/2", "orders/3", "orders/1", "orders/4", "orders/3"]
    assert heard == [[(first + n, doc_id, "Orders", n == 6) for n, doc_id in enumerate(ids, 1)]]
    for doc_id in ("orders/1", "orders/2", "orders/4"):
        document = storage.get(doc_id)
        assert document is not None
        assert orjson.loads(document.body)["@metadata"]["@change-vector"] == document.change_vector


def test_replace_many_keeps_ids_collections_and_attachments(storage: DocumentStorage) -> None:
    for number in range(3):
        put(storage, f"Orders/{number}", "Orders", Total=number)
    with storage.write() as tx:
        tx.put_attachment("orders/1", "a.txt", "text/plain", b"hello")
    seen: list[list[str]] = []
    storage.add_commit_listener(lambda changes: seen.append([change.id for change in changes]))
    with storage.write() as tx:
        found = tx.get_many(["ORDERS/2", "nobody", "orders/1", "orders/0"])
        assert [document.id if document else None for document in found] == ["Orders/2", None, "Orders/1",
                                                                             "Orders/0"]
        stored = [document for document in found if document is not None]
        written = tx.replace_many([(document, {"Total": 10 + index, "@metadata": {"@collection": "Orders"}})
                                   for index, document in enumerate(stored)])
        assert [document.id for document in tx.get_many(["orders/2"]) if document] == ["Orders/2"]
    assert [document.id for document in written] == ["Orders/2", "Orders/1", "Orders/0"]
    assert [document.etag for document in written] == sorted(document.etag for document in written)
    assert seen == [["Orders/2", "Orders/1", "Orders/0"]]
    assert [document.id for document in storage.iter_collection("Orders")] == ["Orders/2", "Orders/1", "Orders/0"]
    one = storage.get("orders/1")
    assert one is not None and one.change_vector == written[1].change_vector
    body = orjson.loads(one.body)
    assert body["Total"] == 11 and body["@metadata"]["@id"] == "Orders/1"
    assert [item["Name"] for item in body["@metadata"]["@attachments"]] == ["a.txt"]
    assert [change.id for change in storage.changes_since(written[0].etag - 1, 10)] == [
        "Orders/2", "Orders/1", "Orders/0"]
    with storage.write() as tx:
        assert tx.replace_many([]) == []


def test_change_feed_of_one_collection_and_its_limit(storage: DocumentStorage) -> None:
    for number in range(5):
        put(storage, f"a/{number}", "A")
        put(storage, f"b/{number}", "B")
    with storage.write() as tx:
        tx.delete("b/1")
        reserved = tx.next_etag()
    changes = storage.changes_since(0, 100, "b")
    assert [(change.id, change.deleted) for change in changes] == [
        ("b/0", False), ("b/2", False), ("b/3", False), ("b/4", False), ("b/1", True)]
    assert [change.id for change in storage.changes_since(0, 3)] == ["a/0", "b/0", "a/1"]
    assert storage.last_etag() == reserved  # a reserved etag moves the head too
    document = storage.get("b/4")
    assert document is not None and storage.changes_since(document.etag, 10, "B")[0].deleted


def test_lookups_many_and_recent(storage: DocumentStorage) -> None:
    for number in range(3):
        put(storage, f"Users/{number}", "Users")
    found = storage.get_many(["users/2", "nobody", "USERS/0", "users/2"])
    assert [document.id if document else None for document in found] == ["Users/2", None, "Users/0", "Users/2"]
    assert [document.id for document in storage.list_recent(None, 1, 5)] == ["Users/1", "Users/0"]
    assert [document.id for document in storage.list_by_prefix("users/", 0, 5, start_after="Users/0")] == [
        "Users/1", "Users/2"]
    assert storage.count("users") == 3 and storage.count("nothing") == 0
    assert storage.collection_counts() == {"Users": 3}


def test_count_after_an_etag_leaves_out_older_and_deleted_documents(storage: DocumentStorage) -> None:
    for number in range(4):
        put(storage, f"users/{number}", "Users")
    put(storage, "orders/1", "Orders")
    first = storage.get("users/1")
    assert first is not None
    put(storage, "users/0", "Users")  # written again: now after users/1
    delete(storage, "users/3")
    assert storage.count("Users", after=first.etag) == 2  # users/2 and users/0
    assert storage.count(after=first.etag) == 3  # and orders/1
    assert storage.count("Users", after=storage.last_etag()) == 0
    assert storage.count("users", after=0) == storage.count("Users") == 3


def test_attachment_replaced_and_listed(storage: DocumentStorage) -> None:
    put(storage, "a/1")
    with storage.write() as tx:
        tx.put_attachment("a/1", "b.txt", "text/plain", b"old")
        tx.put_attachment("a/1", "a.bin", "application/octet-stream", b"\x00\x01", touch_document=False)
        tx.put_attachment("a/1", "b.txt", "text/plain", b"new")
    assert [(a.name, a.size) for a in storage.attachments("A/1")] == [("a.bin", 2), ("b.txt", 3)]
    loaded = storage.attachment_content("a/1", "b.txt")
    assert loaded is not None and loaded[1] == b"new"
    assert storage.integrity_check() == []  # the old content went with its last reference
    with storage.write() as tx:
        assert tx.delete_attachment("a/1", "b.txt")
        assert not tx.delete_attachment("a/1", "b.txt")
    document = storage.get("a/1")
    assert document is not None
    assert [a["Name"] for a in orjson.loads(document.body)["@metadata"]["@attachments"]] == ["a.bin"]


def test_the_backend_lists_creates_opens_and_drops(backend: StorageBackend, database_name: str) -> None:
    created = backend.create(database_name)
    put(created, "a/1")
    created.close()
    assert database_name in backend.names()
    assert backend.find(database_name.lower()) == database_name
    assert backend.find("no-such-database") is None
    with pytest.raises(DatabaseAlreadyExistsError):
        backend.create(database_name.upper())
    with pytest.raises(DatabaseDoesNotExistError):
        backend.open("no-such-database")
    backend.drop(database_name.lower())
    assert backend.find(database_name) is None
    with pytest.raises(DatabaseDoesNotExistError):
        backend.drop(database_name)
    again = backend.create(database_name)
    assert again.count() == 0 and again.last_etag() == 0
    again.close()


def _seed(storage: DocumentStorage) -> None:
    """docs/1 with two attachments, Docs/2, docs/3 deleted (a tombstone), docs/4 sharing content "two"."""
    put(storage, "docs/1")
    put(storage, "Docs/2")
    put(storage, "docs/3")
    put(storage, "docs/4")
    with storage.write() as tx:
        tx.put_attachment("docs/1", "a", "text/plain", b"one", touch_document=False)
        tx.put_attachment("docs/1", "b", "text/plain", b"two", touch_document=False)
        tx.put_attachment("docs/4", "x", "text/plain", b"two")
        tx.delete("docs/3")


def _batch() -> list[DocumentWrite]:
    return [
        DocumentWrite("docs/1", "Docs", {"N": 1}, {"a": ("text/plain", b"three")}, ["b"]),
        DocumentWrite("DOCS/2", "Other", {"N": 2}, {"new": ("application/octet-stream", b"one")}),
        DocumentWrite("docs/3", "Docs", {"N": 3}, {"v": ("text/plain", b"three")}),
        DocumentWrite("docs/5", "Docs", {"N": 5, "@metadata": {"@collection": "Docs", "Kept": True}}),
        DocumentWrite("docs/4", "Docs", None),
        DocumentWrite("docs/1", "Docs", {"N": 6}, {}, ["a", "missing"]),
        DocumentWrite("docs/6", "Docs", {"N": 7}, {"z": ("text/plain", b"gone")}, ["z"]),
    ]


def _one_by_one(tx: WriteTransaction, writes: list[DocumentWrite]) -> None:
    for write in writes:
        if write.body is None:
            tx.delete(write.id)
            continue
        for name, (content_type, content) in write.attach.items():
            tx.put_attachment(write.id, name, content_type, content, touch_document=False)
        for name in write.detach:
            tx.delete_attachment(write.id, name, touch_document=False)
        tx.put(write.id, write.collection, write.body)


def test_write_many_stores_what_the_operations_one_by_one_store(backend: StorageBackend, database_name: str) -> None:
    batched, reference = backend.create(database_name), backend.create(database_name + "Ref")
    try:
        for storage in (batched, reference):
            _seed(storage)
        with batched.write() as tx:
            written = tx.write_many(_batch())
        with reference.write() as tx:
            _one_by_one(tx, _batch())
        assert snapshot(batched) == snapshot(reference)
        assert replace(batched.statistics(), size_on_disk=0) == replace(reference.statistics(), size_on_disk=0)
        assert batched.integrity_check() == reference.integrity_check() == []
    finally:
        batched.close()
        reference.close()
    assert [None if document is None else document.id for document in written] == [
        "docs/1", "Docs/2", "docs/3", "docs/5", None, "docs/1", "docs/6"]  # a replaced document keeps its id
    etags = [document.etag for document in written if document is not None]
    assert etags == sorted(etags) and len(set(etags)) == len(etags)


def test_write_many_keeps_contents_once_and_collects_the_unreferenced(storage: DocumentStorage) -> None:
    _seed(storage)
    with storage.write() as tx:
        tx.write_many(_batch())
    assert storage.get("docs/4") is None and storage.get("docs/3") is not None  # revived
    assert [a.name for a in storage.attachments("docs/1")] == []
    assert [(a.name, a.content_type) for a in storage.attachments("docs/2")] == [("new", "application/octet-stream")]
    assert storage.attachments("docs/6") == []
    loaded = storage.attachment_content("docs/3", "v")
    assert loaded is not None and loaded[1] == b"three"
    # "one", "three": "two" went with docs/4 and "gone" was detached as it came.
    assert storage.statistics().unique_attachments == 2
    document = storage.get("docs/2")
    assert document is not None and document.collection == "Other"
    metadata = orjson.loads(document.body)["@metadata"]
    assert metadata["@flags"] == "HasAttachments" and metadata["@attachments"][0]["Name"] == "new"
    five = storage.get("docs/5")
    assert five is not None and orjson.loads(five.body)["@metadata"]["Kept"] is True


def _edit_products(storage: DocumentStorage, edit: Callable[[WriteTransaction, list[str]], object]) -> list[Any]:
    """Three products, one already edited, then ``edit`` on all of them: what listeners heard."""
    heard: list[Any] = []
    storage.add_commit_listener(lambda changes: heard.extend(
        (change.etag, change.id, change.collection, change.deleted) for change in changes))
    put(storage, "products/1", Name="Chai", Stock=3, Temp="x", Discontinued=False)
    put(storage, "products/2", Name="Chang \"é\"", Stock=-1, Discontinued=True)
    put(storage, "products/3", Name="Aniseed", Stock=0, Temp=1.5, Discontinued=False)
    heard.clear()
    with storage.write() as tx:
        edit(tx, ["products/3", "products/1", "products/2"])
    return heard


def test_edit_fields_writes_what_replace_many_writes_or_nothing(backend: StorageBackend, database_name: str) -> None:
    edits = [FieldEdit("set", ("Discontinued",), True), FieldEdit("add", ("Stock",), 2), FieldEdit("delete", ("Temp",))]
    answers: list[int | None] = []
    inside = backend.create(database_name)
    heard_inside = _edit_products(inside, lambda tx, ids: answers.append(tx.edit_fields(ids, edits)))

    def by_hand(tx: WriteTransaction, ids: list[str]) -> None:
        replacements = []
        for stored in tx.get_many(ids):
            assert stored is not None
            body = orjson.loads(stored.body)
            edited = {**body, "Discontinued": True, "Stock": body["Stock"] + 2}
            edited.pop("Temp", None)
            edited["@metadata"] = {"@collection": "Products"}
            if edited != {**body, "@metadata": {"@collection": "Products"}}:
                replacements.append((stored, edited))
        tx.replace_many(replacements)

    general = backend.create(database_name + "Hand")
    heard_general = _edit_products(general, by_hand)
    if answers == [None]:  # the contract's default: nothing written
        assert heard_inside == [] and inside.last_etag() == 3
    else:
        assert answers == [3] and heard_inside == heard_general
        assert snapshot(inside) == snapshot(general)
    inside.close()
    general.close()
