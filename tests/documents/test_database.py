"""The document API of one database: writes, concurrency, batches, bulk inserts and the record."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rookdb.documents.database import Database
from rookdb.errors import BadRequestError, ConcurrencyError


def product(name: str, collection: str = "Products") -> dict[str, Any]:
    return {"Name": name, "@metadata": {"@collection": collection}}


def test_put_get_and_delete(database: Database) -> None:
    stored = database.put("products/1-A", product("Chai")).document
    assert stored.collection == "Products" and stored.change_vector.startswith("A:")
    found = database.get("PRODUCTS/1-a")
    assert found is not None and Database.parse(found)["Name"] == "Chai"
    assert database.get_many(["products/1-A", "missing"])[1] is None
    assert database.delete("products/1-A") is True
    assert database.delete("products/1-A") is False
    assert database.get("products/1-A") is None


def test_server_completes_ids(database: Database) -> None:
    generated = database.put("orders/", product("x", "Orders")).document.id
    assert generated.startswith("orders/") and generated.endswith("-A")
    assert database.put("orders|", product("x", "Orders")).document.id == "orders/1"
    assert database.put("orders|", product("x", "Orders")).document.id == "orders/2"
    assert len(database.put(None, product("x", "Orders")).document.id) == 36  # a GUID


def test_optimistic_concurrency(database: Database) -> None:
    first = database.put("products/1-A", product("Chai")).document
    database.put("products/1-A", product("Chai tea"), expected_change_vector=first.change_vector)
    with pytest.raises(ConcurrencyError, match=f"has change vector .*, but PUT was called with change vector "
                                               f"{first.change_vector}"):
        database.put("products/1-A", product("Stale"), expected_change_vector=first.change_vector)
    with pytest.raises(ConcurrencyError, match="expecting new document"):
        database.put("products/1-A", product("Again"), expected_change_vector="")
    with pytest.raises(ConcurrencyError, match="does not exist, but DELETE was called"):
        database.delete("products/2-A", expected_change_vector="A:1-x")


def test_a_document_cannot_change_collection(database: Database) -> None:
    database.put("items/1", product("Chai"))
    with pytest.raises(BadRequestError, match="from 'Products' to 'Orders' via update is not supported"):
        database.put("items/1", product("Chai", "Orders"))
    with pytest.raises(BadRequestError, match="from 'Products' to 'Orders' via update is not supported"):
        database.insert_many([("items/1", product("Chai", "Orders"))])


def test_a_bulk_insert_cannot_change_collection_within_its_batch(database: Database) -> None:
    message = "Changing 'ITEMS/2' from 'Products' to 'Orders' via update is not supported.\n" \
              "Delete it and recreate the document ITEMS/2."
    with pytest.raises(BadRequestError, match=re.escape(message)):
        database.insert_many([("items/1", product("Chai")), ("items/2", product("Chang")),
                              ("ITEMS/2", product("Chang", "Orders"))])
    assert database.storage.collection_counts() == {}  # the whole batch is refused
    database.insert_many([("items/2", product("Chang")), ("items/2", product("Chang again", "products"))])
    found = database.get("items/2")
    assert found is not None and Database.parse(found)["Name"] == "Chang again"


def test_insert_many_replaces_by_id_and_counts(database: Database) -> None:
    database.put("products/1-A", product("Old"))
    count = database.insert_many(((f"products/{n}-A", product(f"New {n}")) for n in range(1, 8)), batch_size=3)
    assert count == 7
    found = database.get("products/1-A")
    assert found is not None and Database.parse(found)["Name"] == "New 1"
    assert database.storage.collection_counts() == {"Products": 7}


def test_every_committed_write_is_announced(database: Database) -> None:
    heard: list[int] = []
    database.on_change(lambda: heard.append(database.storage.last_etag()))
    database.put("products/1-A", product("Chai"))
    database.put("products/2-A", product("Chang"))
    database.insert_many([("products/3-A", product("Aniseed"))])
    database.delete("products/1-A")
    assert heard == sorted(heard) and len(heard) == 4
    with pytest.raises(BadRequestError):
        database.put("products/2-A", product("Chang", "Orders"))
    assert len(heard) == 4  # nothing committed, nothing announced


def test_update_record_is_atomic_and_returns_the_outcome(database: Database) -> None:
    outcome, etag = database.update_record(lambda record: record.setdefault("Settings", {"a": 1}))
    assert outcome == {"a": 1}
    record, stored_etag = database.record()
    assert record["Settings"] == {"a": 1} and stored_etag == etag

    def refuse(record: dict[str, Any]) -> None:
        record["Settings"] = {"b": 2}
        raise BadRequestError("no")

    with pytest.raises(BadRequestError):
        database.update_record(refuse)
    assert database.record() == (record, etag)
