"""Following the change feed: batches, small lags applied by queries, waiting, retirement."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rookdb.indexes import plan
from rookdb.indexes.definitions import AutoIndexField, AutoMapDefinition
from rookdb.indexes.index import Index, IndexRetiredError
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import put

PRICES = AutoMapDefinition("Products", [AutoIndexField("Price", ("Price",))])


@pytest.fixture
def index(folder: Path) -> Index:
    folder.mkdir()
    return Index(IndexStore.create(folder / "i.index.sqlite3", PRICES))


def fill(storage: SqliteStorage, count: int, collection: str = "Products") -> None:
    with storage.write() as tx:
        tx.put_many([(f"{collection}/{n}", collection, {"Price": n, "@metadata": {"@collection": collection}})
                     for n in range(count)], {})


def count(index: Index) -> int:
    with index.reader() as reader:
        return reader.count(plan.Everything())


def test_batches_move_the_checkpoint_until_current(storage: SqliteStorage, index: Index) -> None:
    fill(storage, 25)
    assert index.is_stale(storage)
    steps = 1
    while index.catch_up(storage, limit=10):
        steps += 1
    assert steps == 3 and count(index) == 25 and index.checkpoint == 25 and not index.is_stale(storage)


def test_changes_of_other_collections_never_make_it_stale(storage: SqliteStorage, index: Index) -> None:
    fill(storage, 3)
    index.catch_up(storage)
    fill(storage, 5, "Orders")
    assert not index.is_stale(storage)
    assert not index.catch_up(storage) and index.checkpoint == 8  # skipped ahead without rows


def test_queries_apply_small_lags_but_not_large_ones(storage: SqliteStorage, index: Index) -> None:
    fill(storage, 5)
    assert index.catch_up_small_lag(storage, limit=5) and count(index) == 5
    put(storage, "products/new", Price=1)
    fill(storage, 10, "Extra")
    with storage.write() as tx:
        tx.put_many([(f"products/x{n}", "Products", {"@metadata": {"@collection": "Products"}}) for n in range(6)], {})
    assert not index.catch_up_small_lag(storage, limit=5) and count(index) == 5  # 7 pending: left to the service
    assert index.wait_until_current(storage, timeout=30) and count(index) == 12


def test_waiting_gives_up_at_the_timeout(storage: SqliteStorage, index: Index) -> None:
    fill(storage, 50)
    assert not index.wait_until_current(storage, timeout=0)
    assert index.is_stale(storage)


def test_retiring_waits_for_users_and_refuses_new_ones(storage: SqliteStorage, index: Index) -> None:
    fill(storage, 3)
    index.catch_up(storage)
    entered, release = threading.Event(), threading.Event()

    def query() -> None:
        with index.in_use():
            entered.set()
            release.wait(10)
            assert count(index) == 3  # still readable: retirement waits

    reader = threading.Thread(target=query)
    reader.start()
    entered.wait(10)
    retiring = threading.Thread(target=index.retire, kwargs={"delete": True})
    retiring.start()
    retiring.join(0.2)
    assert retiring.is_alive()
    release.set()
    reader.join(10)
    retiring.join(10)
    assert not retiring.is_alive() and not index.store.path.exists()
    with pytest.raises(IndexRetiredError), index.in_use():
        pass
    assert not index.catch_up(storage)


def test_a_user_already_inside_may_enter_again_while_retirement_waits(storage: SqliteStorage, index: Index) -> None:
    """A query holding the index looks it up again (a vector clause on a static index) while a swap retires
    it: refusing the inner entry would leave the query waiting on the retirement that waits for the query."""
    fill(storage, 3)
    index.catch_up(storage)
    retiring = threading.Thread(target=index.retire, kwargs={"delete": False})
    refused: list[bool] = []

    def other_thread() -> None:
        try:
            with index.in_use():
                refused.append(False)
        except IndexRetiredError:
            refused.append(True)

    with index.in_use():
        retiring.start()
        retiring.join(0.2)
        assert retiring.is_alive() and index.retired
        with index.in_use():  # the same thread, inside: still served
            assert count(index) == 3
        stranger = threading.Thread(target=other_thread)
        stranger.start()
        stranger.join(10)
        assert refused == [True]  # a new user is refused as before
        assert retiring.is_alive()  # the outer use still holds it
    retiring.join(10)
    assert not retiring.is_alive()
    with pytest.raises(IndexRetiredError), index.in_use():
        pass
