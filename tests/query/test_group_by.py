"""Dynamic group by queries: planned onto auto map-reduce indexes, answered from the groups, kept
current, extended and persisted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query.dynamic import run_dynamic
from rookdb.query.group_by import plan_group_query
from rookdb.query.parser import parse_query
from rookdb.storage.sqlite import SqliteStorage
from tests.support.indexing import StorageSource
from tests.support.storage import delete, put


def order(company: str, freight: float, *products: str) -> dict[str, Any]:
    return {"Company": company, "Freight": freight, "Lines": [{"Product": product} for product in products]}


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    for number, body in enumerate([order("c1", 1, "p1", "p2"), order("c1", 2.5, "p2"), order("c2", 4, "p1")]):
        put(opened, f"orders/{number}", "Orders", **body)
    yield opened
    opened.close()


def rows(storage: SqliteStorage, registry: IndexRegistry, text: str) -> list[dict[str, Any]]:
    result = run_dynamic(text, {}, StorageSource(storage), registry)
    return [{k: v for k, v in row.items() if k != "@metadata"} for row in result.results]


BY_COMPANY = "from Orders group by Company order by Company select key() as Company, count() as Count, sum(Freight)"


def test_groups_are_kept_current_and_survive_a_restart(storage: SqliteStorage, tmp_path: Path) -> None:
    registry = IndexRegistry.open(tmp_path / "indexes", storage)
    assert rows(storage, registry, BY_COMPANY) == [{"Company": "c1", "Count": 2, "Freight": 3.5},
                                                   {"Company": "c2", "Count": 1, "Freight": 4}]
    put(storage, "orders/0", "Orders", **order("c2", 10, "p1"))
    delete(storage, "orders/1")
    assert rows(storage, registry, BY_COMPANY) == [{"Company": "c2", "Count": 2, "Freight": 14}]
    [index] = registry.indexes()
    checkpoint = index.checkpoint
    assert (index.definition.type_name, index.name) == (
        "AutoMapReduce", "Auto/Orders/ByCountAndFreightReducedByCompany")
    by_name = "from index 'Auto/Orders/ByCountAndFreightReducedByCompany' where Count = 2"
    assert rows(storage, registry, by_name) == [{"Company": "c2", "Count": 2, "Freight": 14}]
    registry.close()
    reopened = IndexRegistry.open(tmp_path / "indexes", storage)
    assert [each.checkpoint for each in reopened.indexes()] == [checkpoint]  # resumed, not rebuilt
    assert rows(storage, reopened, BY_COMPANY) == [{"Company": "c2", "Count": 2, "Freight": 14}]
    reopened.close()


def test_a_query_needing_another_aggregation_extends_the_index(storage: SqliteStorage, tmp_path: Path) -> None:
    registry = IndexRegistry.open(tmp_path / "indexes", storage)
    counted = run_dynamic("from Orders group by Company select count()", {}, StorageSource(storage), registry)
    assert counted.index_name == "Auto/Orders/ByCountReducedByCompany"
    summed = run_dynamic("from Orders group by Company select sum(Freight)", {}, StorageSource(storage), registry)
    assert summed.index_name == "Auto/Orders/ByCountAndFreightReducedByCompany"
    again = run_dynamic("from Orders group by Company select count()", {}, StorageSource(storage), registry)
    assert again.index_name == "Auto/Orders/ByCountAndFreightReducedByCompany"
    other = run_dynamic("from Orders group by Lines[].Product select count()", {}, StorageSource(storage), registry)
    assert other.index_name == "Auto/Orders/ByCountReducedByLines[].Product"
    registry.step()
    assert [index.name for index in registry.indexes()] == [
        "Auto/Orders/ByCountAndFreightReducedByCompany", "Auto/Orders/ByCountReducedByLines[].Product"]
    registry.close()


@pytest.mark.parametrize(("text", "expected"), [
    ("from Orders group by Company where Count > 1 select key() as C, count() as N", [{"C": "c1", "N": 2}]),
    ("from Orders group by Company where count() > 1 select key() as C, count() as N", [{"C": "c1", "N": 2}]),
    ("from Orders group by Company where count() in (1) and sum(Freight) >= 4 select key() as C, count(), "
     "sum(Freight)", [{"C": "c2", "Count": 1, "Freight": 4}]),
    ("from Orders group by Company where N = 1 select key() as C, count() as N", [{"C": "c2", "N": 1}]),
    ("from Orders group by Company where C = 'C2' select key() as C, count()", [{"C": "c2", "Count": 1}]),
    ("from Orders group by Lines[].Product order by count() desc, Lines[].Product select key(), count() as n",
     [{"Lines[].Product": "p1", "n": 2}, {"Lines[].Product": "p2", "n": 2}]),
    ("from Orders group by Company, Lines[].Product order by Company, Lines[].Product select key(), count()",
     [{"Key": {"Company": "c1", "Lines[].Product": "p1"}, "Count": 1},
      {"Key": {"Company": "c1", "Lines[].Product": "p2"}, "Count": 2},
      {"Key": {"Company": "c2", "Lines[].Product": "p1"}, "Count": 1}]),
    ("from Orders as o group by o.Company order by sum(o.Freight) desc select o.Company, sum(o.Freight) as F "
     "limit 1", [{"Company": "c2", "F": 4}]),
])
def test_where_order_and_select_read_the_groups(storage: SqliteStorage, tmp_path: Path, text: str,
                                                 expected: list[dict[str, Any]]) -> None:
    registry = IndexRegistry.open(tmp_path / "indexes", storage)
    assert rows(storage, registry, text) == expected
    registry.close()


@pytest.mark.parametrize(("text", "message"), [
    ("from Orders group by Company select Freight", "Field 'Freight' isn't neither an aggregation operation"),
    ("from Orders group by Company where Count > 1 select key()", "Field 'Count' isn't neither"),
    ("from Orders group by Company where count() > 1 select key()", "column 36: Field 'Count' isn't neither"),
    ("from Orders group by Company where sum(Freight) > 1 select count()", "column 40: Field 'Freight'"),
    ("from Orders group by Company order by Freight select count()", "Field 'Freight'"),
    ("from Orders group by Company select id()", "Cannot use id() in a group by query"),
    ("from Orders group by Company where id() = 'orders/1' select count()", "Cannot filter a group by query by id()"),
    ("from Orders group by Company order by id() select count()", "Cannot order a group by query by id()"),
    ("from Orders group by Company, Company select count()", "Duplicate group by field 'Company'"),
    ("from Orders group by Company select sum(Company)", "Cannot sum 'Company'"),
    ("from Orders group by Company select distinct count()", "cannot be distinct"),
    ("from Orders as o group by o.Company select { C: o.Company }", "JavaScript projection"),
    ("from index 'X' group by Company select count()", "cannot have a group by clause"),
])
def test_what_ravendb_refuses_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        plan_group_query(parse_query(text), text)
    assert message in raised.value.message


@pytest.mark.parametrize("text", [
    "from Orders select count()", "from Orders select key()", "from Orders where Freight > 1 order by sum(Freight)",
])
def test_aggregates_need_a_group_by(storage: SqliteStorage, tmp_path: Path, text: str) -> None:
    registry = IndexRegistry.open(tmp_path / "indexes", storage)
    with pytest.raises(InvalidQueryError, match="can only be used in a group by query"):
        run_dynamic(text, {}, StorageSource(storage), registry)
    registry.close()
