"""Statistics in RavenDB's shapes."""

from __future__ import annotations

import pytest

from rookdb.documents.database import Database
from rookdb.documents.statistics import (
    collection_statistics,
    database_statistics,
    detailed_statistics,
    humane_size,
)


@pytest.mark.parametrize(("size", "text"), [(0, "0 Bytes"), (512, "512 Bytes"), (1536, "1.50 KBytes"),
                                           (3 * 1024 * 1024, "3 MBytes")])
def test_humane_size(size: int, text: str) -> None:
    assert humane_size(size) == text


def test_statistics_count_what_is_stored(database: Database) -> None:
    database.put("products/1-A", {"Name": "Chai", "@metadata": {"@collection": "Products"}})
    database.put("orders/1-A", {"@metadata": {"@collection": "Orders"}})
    database.put("orders/2-A", {"@metadata": {"@collection": "Orders"}})
    database.delete("orders/2-A")
    database.next_identity("users")
    with database.storage.write() as tx:
        tx.put_attachment("products/1-A", "a", "text/plain", b"x")
        tx.put_attachment("orders/1-A", "b", "text/plain", b"x")
        tx.put_compare_exchange("k", {"Object": 1})
    stats = detailed_statistics(database)
    assert (stats["CountOfDocuments"], stats["CountOfTombstones"]) == (2, 1)
    assert (stats["CountOfAttachments"], stats["CountOfUniqueAttachments"]) == (2, 1)
    assert (stats["CountOfIdentities"], stats["CountOfCompareExchange"]) == (1, 1)
    assert stats["LastDocEtag"] == database.storage.last_etag()
    assert stats["DatabaseChangeVector"] == f"A:{stats['LastDocEtag']}-{database.storage.database_id}"
    assert stats["SizeOnDisk"]["SizeInBytes"] > 0 and stats["Indexes"] == []
    assert database_statistics(database)["Collections"] == {"Orders": 1, "Products": 1}
    assert collection_statistics(database) == {"CountOfDocuments": 2, "CountOfConflicts": 0,
                                               "Collections": {"Orders": 1, "Products": 1}}
