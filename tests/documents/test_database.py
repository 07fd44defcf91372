"""The document API of one database: writes, concurrency, batches, bulk inserts, HiLo and the record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rookdb.documents.database import Database
from rookdb.errors import BadRequestError, ConcurrencyError
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage


def product(name: str, collection: str = "Products") -> dict[str, Any]:
    return {"Name": name, "@metadata": {"@collection": collection}}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    opened = Database("Shop", SqliteStorage(tmp_path / "db.sqlite3"), tmp_path, Settings(environ={}))
    yield opened
    opened.close()


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


def test_batch_is_atomic_and_results_align_with_commands(database: Database) -> None:
    database.put("products/1-A", product("Chai"))
    results = database.batch([
        {"Type": "PUT", "Id": "products/2-A", "Document": product("Chang")},
        {"Type": "DELETE", "Id": "products/1-A"},
    ])
    assert [(result["Type"], result.get("@id") or result["Id"]) for result in results] == [
        ("PUT", "products/2-A"), ("DELETE", "products/1-A")]
    assert results[1]["Deleted"] is True
    with pytest.raises(BadRequestError, match="command type 'PATCH' is not supported"):
        database.batch([{"Type": "PUT", "Id": "products/3-A", "Document": product("Lost")}, {"Type": "PATCH"}])
    assert database.get("products/3-A") is None  # the PUT before the bad command was rolled back


@pytest.mark.parametrize(("command", "message"), [
    ("PUT", "Commands\\[0\\] must be a JSON object"),
    ({"Type": "PUT", "Id": 5, "Document": {}}, "Commands\\[0\\].Id must be a string"),
    ({"Type": "PUT", "Id": "a", "ChangeVector": 1, "Document": {}}, "ChangeVector must be a string or null"),
    ({"Type": "PUT", "Id": "a"}, "\\(PUT\\) has no Document"),
    ({"Type": "DELETE"}, "\\(DELETE\\) has no Id"),
])
def test_batch_rejects_malformed_commands(database: Database, command: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        database.batch([command])


def test_insert_many_replaces_by_id_and_counts(database: Database) -> None:
    database.put("products/1-A", product("Old"))
    count = database.insert_many(((f"products/{n}-A", product(f"New {n}")) for n in range(1, 8)), batch_size=3)
    assert count == 7
    found = database.get("products/1-A")
    assert found is not None and Database.parse(found)["Name"] == "New 1"
    assert database.statistics()["Collections"] == {"Products": 7}


def test_every_committed_write_is_announced(database: Database) -> None:
    heard: list[int] = []
    database.on_change(lambda: heard.append(database.storage.last_etag()))
    database.put("products/1-A", product("Chai"))
    database.batch([{"Type": "PUT", "Id": "products/2-A", "Document": product("Chang")}])
    database.insert_many([("products/3-A", product("Aniseed"))])
    database.delete("products/1-A")
    assert heard == sorted(heard) and len(heard) == 4
    with pytest.raises(BadRequestError):
        database.batch([{"Type": "PATCH"}])
    assert len(heard) == 4  # nothing committed, nothing announced


def test_hilo_ranges_grow_when_asked_for_often(database: Database) -> None:
    first = database.hilo_next("products", 0, None, 0)
    assert (first.prefix, first.low, first.high, first.last_size) == ("products/", 1, 32, 32)
    recent = (datetime.now(UTC) - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    second = database.hilo_next("products", 32, recent, first.high)
    assert (second.low, second.last_size) == (33, 64)
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    third = database.hilo_next("products", 64, old, second.high, separator="-")
    assert (third.prefix, third.last_size) == ("products-", 64)
    assert third.to_json()["ServerTag"] == "A"


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


def test_statistics(database: Database) -> None:
    database.put("products/1-A", product("Chai"))
    database.put("orders/1-A", product("x", "Orders"))
    stats = database.statistics()
    assert stats["CountOfDocuments"] == 2 and stats["Collections"] == {"Products": 1, "Orders": 1}
    assert stats["LastDocEtag"] == database.storage.last_etag() and stats["DatabaseId"]
