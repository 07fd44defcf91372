"""Document expiration: @expires honoured by a background expirer that follows the change feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rookdb.background import DEFAULT_YIELD_SECONDS, Foreground
from rookdb.documents import expiration
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.database import Database
from rookdb.documents.expiration import DocumentExpirer
from rookdb.settings import Settings
from rookdb.wire import format_timestamp
from tests.support.waiting import wait_for

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def doc(expires: datetime | str | None, collection: str = "Sessions") -> dict[str, object]:
    metadata: dict[str, object] = {"@collection": collection}
    if expires is not None:
        metadata["@expires"] = expires if isinstance(expires, str) else format_timestamp(expires)
    return {"User": "ann", "@metadata": metadata}


@pytest.fixture
def database(catalog: DatabaseCatalog) -> Database:
    return catalog.create("Expiring").database


def test_expired_documents_are_deleted_and_others_kept(database: Database) -> None:
    clock = Clock()
    database.put("sessions/1", doc(NOW - timedelta(seconds=1)))
    database.put("sessions/2", doc(NOW + timedelta(hours=1)))
    database.put("sessions/3", doc(None))
    database.put("sessions/4", doc("2026-06-01T11:00:00"))  # no zone: UTC, as a client writes it
    expirer = DocumentExpirer(database, clock=clock)
    assert expirer.tick() == 2
    assert database.get("sessions/1") is None and database.get("sessions/4") is None
    assert database.get("sessions/2") is not None and database.get("sessions/3") is not None
    clock.now = NOW + timedelta(hours=2)
    assert expirer.tick() == 1
    assert database.get("sessions/2") is None
    assert database.storage.integrity_check() == []


def test_a_later_expiry_or_a_removed_one_saves_the_document(database: Database) -> None:
    clock = Clock()
    database.put("sessions/1", doc(NOW + timedelta(minutes=5)))
    database.put("sessions/2", doc(NOW + timedelta(minutes=5)))
    expirer = DocumentExpirer(database, clock=clock)
    assert expirer.tick() == 0
    database.put("sessions/1", doc(NOW + timedelta(days=1)))  # extended, as the embeddings cache slides
    database.put("sessions/2", doc(None))
    clock.now = NOW + timedelta(minutes=10)
    assert expirer.tick() == 0
    assert database.get("sessions/1") is not None and database.get("sessions/2") is not None


def test_the_index_survives_a_restart(database: Database) -> None:
    clock = Clock()
    database.put("sessions/1", doc(NOW + timedelta(minutes=5)))
    DocumentExpirer(database, clock=clock).tick()
    clock.now = NOW + timedelta(minutes=6)
    assert DocumentExpirer(database, clock=clock).tick() == 1


def test_ids_that_extend_another_id_keep_their_own_entry(database: Database) -> None:
    clock = Clock()
    database.put("sessions/1", doc(NOW + timedelta(minutes=5)))
    database.put("sessions/10", doc(NOW + timedelta(minutes=5)))
    expirer = DocumentExpirer(database, clock=clock)
    expirer.tick()
    database.put("sessions/1", doc(None))
    clock.now = NOW + timedelta(minutes=6)
    assert expirer.tick() == 1
    assert database.get("sessions/10") is None and database.get("sessions/1") is not None


def test_the_background_expirer_runs_at_the_configured_frequency(tmp_path: Path,
                                                                  storage_settings: dict[str, str]) -> None:
    catalog = DatabaseCatalog(tmp_path, Settings({"Expiration.DeleteFrequencyInSec": 0.05, **storage_settings},
                                                 environ={}))
    try:
        database = catalog.create("Fast").database
        database.put("sessions/1", doc(datetime.now(UTC) - timedelta(seconds=1)))
        # Well within the default frequency (a minute): the configured one is in use.
        wait_for(lambda: database.get("sessions/1") is None, what="the expirer to delete it")
    finally:
        catalog.close()


def test_indexing_many_expiring_documents_keeps_few_state_rows(database: Database) -> None:
    # Regression: the index was one state row per document, each rewrite scanning the whole table.
    clock = Clock()
    database.insert_many((f"cache/{n}", doc(NOW + timedelta(days=1))) for n in range(5000))
    DocumentExpirer(database, clock=clock).tick()
    assert 0 < len(database.storage.states("expiration/due/")) <= 256
    clock.now = NOW + timedelta(days=2)
    assert DocumentExpirer(database, clock=clock).tick() == 5000
    assert database.storage.count("Sessions") == 0



def test_a_run_looks_only_at_the_entries_that_changed(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: each run re-formatted every held entry of the buckets it touched, a few thousand
    # timestamps at once beside the requests after a migration had written its cache entries.
    clock = Clock()
    expirer = DocumentExpirer(database, clock=clock)
    database.insert_many((f"cache/{n}", doc(NOW + timedelta(days=1))) for n in range(2000))
    expirer.tick()
    before = database.storage.states("expiration/due/")
    formatted: list[datetime] = []

    def counted(moment: datetime) -> str:
        formatted.append(moment)
        return format_timestamp(moment)

    monkeypatch.setattr(expiration, "format_timestamp", counted)
    database.put("cache/7", doc(NOW + timedelta(days=3)))
    database.delete("cache/8")
    expirer.tick()
    assert formatted == [NOW + timedelta(days=3)]
    after = database.storage.states("expiration/due/")
    changed = {name for name in before if before[name] != after.get(name)}
    assert 1 <= len(changed) <= 2
    assert after[next(name for name in after if "cache/7" in after[name])]["cache/7"][1] == format_timestamp(
        NOW + timedelta(days=3))
    assert not any("cache/8" in bucket for bucket in after.values())
    clock.now = NOW + timedelta(days=2)  # a restart reads the same index back
    assert DocumentExpirer(database, clock=clock).tick() == 1998

class CountingForeground(Foreground):
    """A real foreground that counts the moments background work gave way to its requests."""

    def __init__(self) -> None:
        super().__init__()
        self.yields = 0

    def yield_to(self, limit: float = DEFAULT_YIELD_SECONDS) -> bool:
        self.yields += 1
        return super().yield_to(limit)


def test_a_run_gives_way_to_requests_page_by_page_and_still_finishes(database: Database) -> None:
    clock = Clock()
    database.insert_many((f"cache/{n}", doc(NOW + timedelta(days=1))) for n in range(1000))
    foreground = CountingForeground()
    expirer = DocumentExpirer(database, clock=clock, foreground=foreground)
    clock.now = NOW + timedelta(days=2)
    with foreground.serving():  # a request that never ends: each pause is bounded
        assert expirer.tick() == 1000
    # 1,000 changes in pages of 256 (and the empty page that ends the feed), 1,000 deletions in 2 batches.
    assert foreground.yields == 5 + 2
