"""The time limit on running a query: checked once every CHECK_EVERY rows, answered as RavenDB's timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb.errors import RequestTimeoutError
from rookdb.indexes.registry import IndexingConfig, IndexRegistry
from rookdb.query import execute
from rookdb.query.deadline import CHECK_EVERY, Deadline
from rookdb.query.dynamic import run_dynamic
from rookdb.storage.sqlite import SqliteStorage
from tests.support.indexing import StorageSource
from tests.support.northwind import MemorySource


class SteppingClock:
    """A clock that moves ``step`` seconds each time it is read, and counts the reads."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def test_the_clock_is_read_once_per_check_every_rows() -> None:
    clock = SteppingClock(0.0)
    deadline = Deadline(1.0, clock)
    assert list(deadline.paced(range(CHECK_EVERY * 3))) == list(range(CHECK_EVERY * 3))
    assert clock.reads == 1 + 3  # the start, then one check per CHECK_EVERY rows


def test_a_deadline_that_passed_raises_ravendb_timeout() -> None:
    deadline = Deadline(5.0, SteppingClock(10.0))
    with pytest.raises(RequestTimeoutError) as raised:
        list(deadline.paced(range(CHECK_EVERY)))
    assert raised.value.status_code == 408
    assert raised.value.wire_type == "System.TimeoutException"
    assert "5 seconds" in raised.value.message


def test_a_scan_past_its_deadline_stops(northwind_source: MemorySource) -> None:
    with pytest.raises(RequestTimeoutError):
        execute("from Orders where Freight > 10", {}, northwind_source, deadline=Deadline(5.0, SteppingClock(10.0)))


def test_a_scan_within_its_deadline_answers(northwind_source: MemorySource) -> None:
    result = execute("from Orders where Freight > 10", {}, northwind_source, deadline=Deadline(1e9, SteppingClock(1.0)))
    assert result.total_results > CHECK_EVERY


def test_a_query_answered_from_an_index_past_its_deadline_stops(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "db.sqlite3")
    try:
        with storage.write() as tx:
            tx.put_many([(f"items/{n}", "Items", {"N": n, "@metadata": {"@collection": "Items"}}) for n in range(10)],
                        {})
        indexes = IndexRegistry.open(tmp_path / "indexes", storage, IndexingConfig())
        source = StorageSource(storage)
        assert run_dynamic("from Items where N < 5", {}, source, indexes, wait_for_non_stale=30).total_results == 5
        with pytest.raises(RequestTimeoutError):
            run_dynamic("from Items where N < 5", {}, source, indexes, deadline=Deadline(5.0, SteppingClock(10.0)))
        indexes.close()
    finally:
        storage.close()
