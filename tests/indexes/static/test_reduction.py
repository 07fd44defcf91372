"""Map-reduce: results kept exact under puts, updates and deletes, for small keys (reduced whole) and
large ones (reduced per bucket, then across buckets)."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rookdb.indexes import plan
from rookdb.indexes.index import Index
from rookdb.indexes.static import reduction
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.indexes.static.mapping import IndexReduce
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put

TOTALS = {
    "Name": "Orders/Totals",
    "Maps": ["from o in docs.Orders select new { o.Company, Count = 1, Freight = o.Freight }"],
    "Reduce": "from r in results group r by r.Company into g "
              "select new { Company = g.Key, Count = g.Sum(x => x.Count), Freight = g.Sum(x => x.Freight) }",
}


def totals_index(folder: Path, definition: dict[str, Any] = TOTALS) -> Index:
    folder.mkdir(exist_ok=True)
    return Index(IndexStore.create(folder / "t.index.sqlite3", StaticIndexDefinition.compile(definition)))


def feed(index: Index, storage: SqliteStorage, batch: int = 64) -> None:
    while index.catch_up(storage, batch):
        pass


def results(index: Index) -> dict[str, tuple[int, float]]:
    with index.store.reader() as reader:
        stored = reader.stored(reader.documents(plan.Everything()))
    return {row["Company"]: (row["Count"], row["Freight"]) for row in stored.values()}


def expected(orders: dict[str, tuple[str, int]]) -> dict[str, tuple[int, float]]:
    counts = Counter(company for company, _ in orders.values())
    freights: dict[str, float] = {}
    for company, freight in orders.values():
        freights[company] = freights.get(company, 0) + freight
    return {company: (counts[company], freights[company]) for company in counts}


@pytest.mark.parametrize("direct_limit", [1024, 4], ids=["reduced-whole", "reduced-by-bucket"])
def test_results_stay_exact_under_updates_and_deletes(storage: SqliteStorage, folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch, direct_limit: int) -> None:
    monkeypatch.setattr(reduction, "DIRECT_REDUCE_LIMIT", direct_limit)
    monkeypatch.setattr(reduction, "BUCKET_BITS", 3)
    draw = random.Random(7)
    orders: dict[str, tuple[str, int]] = {}
    index = totals_index(folder)
    for round_number in range(4):
        for _ in range(60):
            doc_id = f"orders/{draw.randrange(80)}"
            if doc_id in orders and draw.random() < 0.3:
                delete(storage, doc_id)
                del orders[doc_id]
            else:
                orders[doc_id] = (f"companies/{draw.randrange(5)}", draw.randrange(1, 10))
                put(storage, doc_id, "Orders", Company=orders[doc_id][0], Freight=orders[doc_id][1])
        feed(index, storage, batch=17 + round_number)
        assert results(index) == expected(orders)
    assert index.store.counters["doc_count"] == len(expected(orders))


def test_a_result_goes_with_its_last_source(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "orders/1", "Orders", Company="companies/1", Freight=2)
    put(storage, "orders/2", "Orders", Company="companies/2", Freight=3)
    index = totals_index(folder)
    feed(index, storage)
    assert results(index) == {"companies/1": (1, 2), "companies/2": (1, 3)}
    delete(storage, "orders/2")
    put(storage, "orders/1", "Orders", Company="companies/3", Freight=2)
    feed(index, storage)
    assert results(index) == {"companies/3": (1, 2)}
    with index.store.reader() as reader:
        assert reader.document_count == 1


def test_reduce_failures_are_recorded_with_their_key(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "orders/1", "Orders", Company="companies/1", Freight="heavy")
    put(storage, "orders/2", "Orders", Company="companies/2", Freight=1)
    index = totals_index(folder)
    feed(index, storage)
    assert results(index) == {"companies/2": (1, 1)}
    (error,) = index.store.errors()
    assert error.document == 'Reduce key: "companies/1"' and error.action == "Reduce"
    assert index.store.counters["reduce_errors"] == 1


def test_results_are_queried_by_their_fields(storage: SqliteStorage, folder: Path) -> None:
    for number in range(10):
        put(storage, f"orders/{number}", "Orders", Company=f"companies/{number % 3}", Freight=number)
    index = totals_index(folder)
    feed(index, storage)
    with index.store.reader() as reader:
        found = reader.documents(plan.Range("Freight", "num", 12.0, None))
        assert sorted(row["Company"] for row in reader.stored(found).values()) == ["companies/0", "companies/1",
                                                                                   "companies/2"]
        found = reader.documents(plan.Equals("Count", frozenset({("num", 4.0)})))
        assert [row["Company"] for row in reader.stored(found).values()] == ["companies/0"]


class _CountingReduce(IndexReduce):
    """The compiled reduce, counting the outputs it is handed."""

    reapplies = True

    def __init__(self, inner: IndexReduce) -> None:
        self._inner = inner
        self.field_names = inner.field_names
        self.handed = 0

    def keys(self, outputs: Sequence[dict[str, Any]]) -> list[Any]:
        return self._inner.keys(outputs)

    def reduce(self, groups: Sequence[Sequence[dict[str, Any]]]) -> list[Any]:
        self.handed += sum(len(group) for group in groups)
        return self._inner.reduce(groups)


def test_a_key_that_only_gains_outputs_is_reduced_from_its_previous_result(storage: SqliteStorage,
                                                                           folder: Path) -> None:
    index = totals_index(folder)
    definition = index.definition
    assert isinstance(definition, StaticIndexDefinition) and definition.reduce is not None
    counting = _CountingReduce(definition.reduce)
    definition.reduce = counting
    for number in range(200):
        put(storage, f"orders/{number}", "Orders", Company=f"companies/{number % 2}", Freight=1)
    feed(index, storage, batch=10)
    assert results(index) == {"companies/0": (100, 100), "companies/1": (100, 100)}
    # 20 batches: each reduces its 10 outputs and the 2 previous results (reducing every output again
    # each batch would hand the reduce 10 + 20 + ... + 200 = 2,100 outputs).
    assert counting.handed == 200 + 2 * 19
    delete(storage, "orders/0")  # a key that lost an output is reduced from its outputs again
    feed(index, storage)
    assert results(index) == {"companies/0": (99, 99), "companies/1": (100, 100)}
    assert counting.handed == 238 + 99


def test_a_reduce_that_counts_its_inputs_stays_exact(storage: SqliteStorage, folder: Path) -> None:
    counting = {**TOTALS, "Reduce": "from r in results group r by r.Company into g select new "
                                    "{ Company = g.Key, Count = g.Count(), Freight = g.Sum(x => x.Freight) }"}
    index = totals_index(folder, counting)
    orders: dict[str, tuple[str, int]] = {}
    for number in range(120):
        orders[f"orders/{number}"] = (f"companies/{number % 12}", 2)
        put(storage, f"orders/{number}", "Orders", Company=orders[f"orders/{number}"][0], Freight=2)
    feed(index, storage, batch=24)
    assert results(index) == expected(orders)


def test_index_files_of_an_earlier_version_gain_the_new_tables(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "orders/1", "Orders", Company="companies/1", Freight=2)
    index = totals_index(folder)
    feed(index, storage)
    index.store.close()
    with sqlite3.connect(folder / "t.index.sqlite3") as db:
        db.execute("DROP TABLE reduce_values")
    reopened = Index(IndexStore.open(folder / "t.index.sqlite3"))
    put(storage, "orders/2", "Orders", Company="companies/1", Freight=3)
    feed(reopened, storage)
    assert results(reopened) == {"companies/1": (2, 5)}
