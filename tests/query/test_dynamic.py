"""Dynamic queries pick, create and wait for their auto-index, and report how current it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.indexes.registry import IndexingConfig, IndexRegistry
from rookdb.query.dynamic import run_dynamic
from rookdb.storage.sqlite import SqliteStorage
from tests.support.indexing import StorageSource
from tests.support.storage import put


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    with opened.write() as tx:
        tx.put_many([(f"items/{n}", "Items", {"N": n, "@metadata": {"@collection": "Items"}}) for n in range(100)], {})
    yield opened
    opened.close()


def registry(storage: SqliteStorage, folder: Path, **config: float) -> IndexRegistry:
    return IndexRegistry.open(folder, storage, IndexingConfig(**config))  # type: ignore[arg-type]


def test_collection_reads_need_no_index(storage: SqliteStorage, tmp_path: Path) -> None:
    indexes = registry(storage, tmp_path / "indexes")
    for text in ("from Items", "from Items where id() = 'items/3'", "from @all_docs limit 2"):
        result = run_dynamic(text, {}, StorageSource(storage), indexes)
        assert not result.is_stale and result.result_etag is None and not result.index_name.startswith("Auto/")
    assert indexes.indexes() == []
    indexes.close()


def test_results_report_the_index_and_how_current_it_is(storage: SqliteStorage, tmp_path: Path) -> None:
    indexes = registry(storage, tmp_path / "indexes")
    result = run_dynamic("from Items where N < 5", {}, StorageSource(storage), indexes)
    assert (result.index_name, result.total_results, result.is_stale, result.result_etag) == (
        "Auto/Items/ByN", 5, False, 100)
    assert result.index_timestamp is not None and result.index_timestamp.endswith("Z")
    put(storage, "items/new", "Items", N=-1)  # read your own writes: a small lag is applied by the query
    again = run_dynamic("from Items where N < 5", {}, StorageSource(storage), indexes)
    assert (again.total_results, again.is_stale, again.result_etag) == (6, False, 101)
    indexes.close()


def test_large_lags_answer_stale_unless_asked_to_wait(storage: SqliteStorage, tmp_path: Path) -> None:
    indexes = registry(storage, tmp_path / "indexes", inline_catch_up=10, new_index_wait=0.0)
    first = run_dynamic("from Items where N >= 0", {}, StorageSource(storage), indexes)
    assert first.is_stale and first.total_results == 0  # a new index the query did not wait for
    waited = run_dynamic("from Items where N >= 0", {}, StorageSource(storage), indexes, wait_for_non_stale=30)
    assert not waited.is_stale and waited.total_results == 100
    with storage.write() as tx:
        tx.put_many([(f"more/{n}", "Items", {"N": n, "@metadata": {"@collection": "Items"}}) for n in range(20)], {})
    lagging = run_dynamic("from Items where N >= 0", {}, StorageSource(storage), indexes)
    assert lagging.is_stale and lagging.total_results == 100
    assert not run_dynamic("from Items where N >= 0", {}, StorageSource(storage), indexes,
                           wait_for_non_stale=30).is_stale
    indexes.close()


def test_the_query_that_creates_an_index_waits_for_it(storage: SqliteStorage, tmp_path: Path) -> None:
    indexes = registry(storage, tmp_path / "indexes", batch_size=7)
    result = run_dynamic("from Items where N >= 50 order by N as long desc limit 3", {}, StorageSource(storage),
                         indexes)
    assert not result.is_stale and result.total_results == 50
    assert [item["N"] for item in result.results] == [99, 98, 97]
    indexes.close()


def test_a_field_no_document_has_matches_nothing(storage: SqliteStorage, tmp_path: Path) -> None:
    indexes = registry(storage, tmp_path / "indexes")
    assert run_dynamic("from Items where Nope = 'x'", {}, StorageSource(storage), indexes).total_results == 0
    assert run_dynamic("from Items where Nope = null", {}, StorageSource(storage), indexes).total_results == 100
    indexes.close()
