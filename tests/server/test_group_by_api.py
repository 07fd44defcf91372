"""Dynamic ``group by`` queries through the official Python client: raw RQL and the session's
``group_by(...).select_key().select_count()``, answered by auto map-reduce indexes named as RavenDB names
them, listed as ``AutoMapReduce``, and kept correct under updates and deletes."""

from __future__ import annotations

from typing import Any

import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.indexes import GetIndexesOperation, GetIndexNamesOperation
from ravendb.documents.queries.group_by import GroupBy
from ravendb.documents.session.misc import OrderingType
from ravendb.documents.session.query_group_by import GroupByField
from ravendb.exceptions.raven_exceptions import RavenException

from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


class Line:
    def __init__(self, Product: str = "", Quantity: int = 0) -> None:
        self.Product = Product
        self.Quantity = Quantity


class Order:
    def __init__(self, Company: str = "", Freight: float = 0.0, Lines: list[dict[str, Any]] | None = None) -> None:
        self.Company = Company
        self.Freight = Freight
        self.Lines = Lines or []


class Total:
    def __init__(self, Company: str | None = None, Count: int | None = None, Freight: float | None = None) -> None:
        self.Company = Company
        self.Count = Count
        self.Freight = Freight


def line(product: str, quantity: int) -> dict[str, Any]:
    return {"Product": product, "Quantity": quantity}


def seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Order("companies/1", 2.5, [line("products/1", 1), line("products/2", 2)]), "orders/1")
        session.store(Order("companies/1", 4, [line("products/2", 3)]), "orders/2")
        session.store(Order("companies/2", 10, [line("products/1", 1), line("products/2", 2)]), "orders/3")
        session.save_changes()


def query(store: DocumentStore, rql: str) -> list[dict[str, Any]]:
    with store.open_session() as session:
        return [{k: v for k, v in row.items() if k != "@metadata"}
                for row in session.advanced.raw_query(rql, dict).wait_for_non_stale_results()]


def test_group_by_counts_and_sums_from_an_auto_map_reduce_index(store: DocumentStore) -> None:
    seed(store)
    counted = query(store, "from Orders group by Company order by Company select count() as Count, key() as Company")
    assert counted == [{"Count": 2, "Company": "companies/1"}, {"Count": 1, "Company": "companies/2"}]
    summed = query(store, "from Orders group by Company order by sum(Freight) desc "
                          "select key() as Company, sum(Freight) as Freight, count()")
    assert summed == [{"Company": "companies/2", "Freight": 10, "Count": 1},
                      {"Company": "companies/1", "Freight": 6.5, "Count": 2}]
    with store.open_session() as session:
        stats: list[Any] = []
        found = session.advanced.raw_query("from Orders group by Company where Count > 1 order by Count as long desc "
                                           "select key() as Company, count() as Count", dict)
        list(found.statistics(stats.append).wait_for_non_stale_results())
    assert stats[0].index_name == "Auto/Orders/ByCountAndFreightReducedByCompany"
    assert query(store, "from Orders group by Company where Count > 1 select key() as Company, count() as Count") \
        == [{"Company": "companies/1", "Count": 2}]
    listed = {index.name: index for index in store.maintenance.send(GetIndexesOperation(0, 20))}
    merged = listed["Auto/Orders/ByCountAndFreightReducedByCompany"]
    assert merged.type.value == "AutoMapReduce" and merged.reduce == "Orders:[<Name:Company>]"
    # The narrower index is deleted once the extended one (with Freight) has caught up.
    wait_for(lambda: store.maintenance.send(GetIndexNamesOperation(0, 20))
             == ["Auto/Orders/ByCountAndFreightReducedByCompany"], what="the narrower index to be retired")


def test_session_group_by_with_keys_counts_and_sums(store: DocumentStore) -> None:
    seed(store)
    with store.open_session() as session:
        counts = list(session.query(object_type=Order).group_by("Company").select_key().select_count("Count")
                      .order_by_descending("Count").of_type(Total).wait_for_non_stale_results())
        sums = list(session.query(object_type=Order).group_by("Company").select_key()
                    .select_sum(GroupByField("Freight")).order_by("Freight", OrderingType.FLOAT).of_type(Total))
    assert [(total.Company, total.Count) for total in counts] == [("companies/1", 2), ("companies/2", 1)]
    assert [(total.Company, total.Freight) for total in sums] == [("companies/1", 6.5), ("companies/2", 10)]


def test_array_paths_group_by_each_element_or_by_content(store: DocumentStore) -> None:
    seed(store)
    per_product = query(store, "from Orders group by Lines[].Product order by count() desc "
                               "select key() as Product, count() as Count")
    assert per_product == [{"Product": "products/2", "Count": 3}, {"Product": "products/1", "Count": 2}]
    paired = query(store, "from Orders group by Lines[].Product, Lines[].Quantity order by Lines[].Quantity as long "
                          "select Lines[].Product as Product, Lines[].Quantity as Quantity, count() as Count")
    assert paired == [{"Product": "products/1", "Quantity": 1, "Count": 2},
                      {"Product": "products/2", "Quantity": 2, "Count": 2},
                      {"Product": "products/2", "Quantity": 3, "Count": 1}]
    with store.open_session() as session:
        by_content = list(session.advanced.document_query(object_type=Order)
                          .group_by(GroupBy.array("Lines[].Product")).select_key(None, "Products")
                          .select_count("Count").order_by("Count").of_type(dict))
    assert [(row["Products"], row["Count"]) for row in by_content] == [
        (["products/2"], 1), (["products/1", "products/2"], 2)]
    assert "Auto/Orders/ByCountReducedByArray(Lines[].Product)" in store.maintenance.send(
        GetIndexNamesOperation(0, 20))


def test_groups_follow_updates_and_deletes(store: DocumentStore) -> None:
    seed(store)
    rql = "from Orders group by Company order by Company select key() as Company, count() as Count, sum(Freight)"
    assert [row["Count"] for row in query(store, rql)] == [2, 1]
    with store.open_session() as session:
        session.load("orders/2", Order).Company = "companies/3"
        session.delete("orders/3")
        session.save_changes()
    assert query(store, rql) == [{"Company": "companies/1", "Count": 1, "Freight": 2.5},
                                 {"Company": "companies/3", "Count": 1, "Freight": 4}]


def test_where_filters_groups_by_count_and_sum(store: DocumentStore) -> None:
    seed(store)
    assert query(store, "from Orders group by Company where count() > 1 select key() as Company, count()") == [
        {"Company": "companies/1", "Count": 2}]
    assert query(store, "from Orders group by Company where sum(Freight) between 7 and 20 "
                        "select key() as Company, sum(Freight)") == [{"Company": "companies/2", "Freight": 10}]


class Company:
    def __init__(self, Name: str = "") -> None:
        self.Name = Name


def test_include_reads_the_groups_returned(store: DocumentStore) -> None:
    seed(store)
    with store.open_session() as session:
        session.store(Company("One"), "companies/1")
        session.store(Company("Two"), "companies/2")
        session.save_changes()
    with store.open_session() as session:
        groups = list(session.advanced.raw_query(
            "from Orders group by Company order by Company select key() as Company, count() include Company",
            dict).wait_for_non_stale_results())
        assert [group["Company"] for group in groups] == ["companies/1", "companies/2"]
        requests = session.advanced.number_of_requests
        assert [session.load(f"companies/{n}", Company).Name for n in (1, 2)] == ["One", "Two"]
        assert session.advanced.number_of_requests == requests  # both came with the query
    with store.open_session() as session:  # a path the groups do not hold includes nothing
        list(session.advanced.raw_query("from Orders group by Company select count() include Company", dict))
        requests = session.advanced.number_of_requests
        assert session.load("companies/1", Company).Name == "One"
        assert session.advanced.number_of_requests == requests + 1


@pytest.mark.parametrize(("rql", "message"), [
    ("from Orders group by Company where count() > 1 select key()",
     "line 1, column 36: Field 'Count' isn't neither an aggregation"),
    ("from Orders group by Company where sum(o.Freight) > 1 select count()",
     "line 1, column 36: sum() must be called with a single field name"),
    ("from Orders group by Company select Freight", "Field 'Freight' isn't neither an aggregation"),
    ("from Orders group by Company where Freight > 1 select count()", "Field 'Freight'"),
    ("from Orders group by Company select id()", "Cannot use id() in a group by query"),
    ("from index 'Orders/Totals' group by Company select count()", "cannot have a group by clause"),
])
def test_invalid_group_by_queries_are_refused(store: DocumentStore, rql: str, message: str) -> None:
    seed(store)
    with store.open_session() as session, pytest.raises(RavenException) as raised:
        list(session.advanced.raw_query(rql, dict))
    assert "InvalidQueryException" in str(raised.value) and message in str(raised.value)
