"""HiLo ranges kept in ``Raven/Hilo/<tag>`` documents, with RavenDB's capacity rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from rookdb.documents.database import Database
from rookdb.documents.hilo import capacity_for, next_range, return_range


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("last_size", "seconds_ago", "expected"), [
    (0, None, 32),
    (32, 10, 64),
    (1024 * 1024, 10, 1024 * 1024),
    (64, 45, 64),
    (256, 600, 128),
    (32, 600, 32),
])
def test_capacity_grows_when_asked_often_and_shrinks_when_not(last_size: int, seconds_ago: int | None,
                                                             expected: int) -> None:
    last_range_at = None if seconds_ago is None else _stamp(NOW - timedelta(seconds=seconds_ago))
    assert capacity_for(last_size, last_range_at, NOW) == expected


def test_ranges_live_in_hilo_documents(database: Database) -> None:
    first = next_range(database, "products", 0, None, 0)
    assert (first.prefix, first.low, first.high, first.last_size) == ("products/", 1, 32, 32)
    second = next_range(database, "products", 32, _stamp(datetime.now(UTC)), first.high, separator="-")
    assert (second.prefix, second.low, second.high) == ("products-", 33, 96)
    document = database.get("Raven/Hilo/products")
    assert document is not None and document.collection == "@hilo"
    assert orjson.loads(document.body)["Max"] == 96


def test_a_stored_max_is_respected(database: Database) -> None:
    database.put("Raven/Hilo/users", {"Max": 64, "@metadata": {"@collection": "@hilo"}})
    assert next_range(database, "users", 0, None, 0).low == 65


def test_only_the_newest_range_can_be_returned(database: Database) -> None:
    next_range(database, "users", 0, None, 0)
    return_range(database, "users", 32, 2)
    assert next_range(database, "users", 0, None, 0).low == 3
    return_range(database, "users", 32, 5)  # not the newest range any more
    document = database.get("Raven/Hilo/users")
    assert document is not None and orjson.loads(document.body)["Max"] == 34


def test_a_hilo_document_a_client_wrote_keeps_its_collection(database: Database) -> None:
    database.put("Raven/Hilo/users", {"Max": 64, "@metadata": {"@collection": "HiLoDocuments"}})
    assert next_range(database, "users", 0, None, 0).low == 65
    document = database.get("Raven/Hilo/users")
    assert document is not None and document.collection == "HiLoDocuments"
