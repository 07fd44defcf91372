"""JavaScript indexes through the official Python client: maps (fan-out, ``load``, ``id``,
``getMetadata``, ``createField``) and ``groupBy(...).aggregate(...)`` reduces run in V8, kept correct
under updates and deletes; scripts that do not compile are refused, scripts that throw are indexing errors."""

from __future__ import annotations

from typing import Any

import pytest
from ravendb import DocumentStore
from ravendb.documents.indexes.abstract_index_creation_tasks import AbstractJavaScriptIndexCreationTask
from ravendb.documents.indexes.definitions import IndexDefinition
from ravendb.documents.operations.indexes import GetIndexErrorsOperation, GetIndexOperation, PutIndexesOperation
from ravendb.exceptions.documents.compilation import IndexCompilationException

pytestmark = pytest.mark.slow


class Order:
    def __init__(self, Company: str = "", Lines: list[dict[str, Any]] | None = None, Freight: float = 0.0) -> None:
        self.Company = Company
        self.Lines = Lines or []
        self.Freight = Freight


class Company:
    def __init__(self, Name: str = "") -> None:
        self.Name = Name


class Orders_ByCompanyName(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {"""map('Orders', o => {
            const company = load(o.Company, 'Companies');
            return { CompanyName: company ? company.Name : null, Id: id(o),
                     Collection: getMetadata(o)['@collection'],
                     _: createField('Dyn_' + o.Company.replace('/', '_'), o.Freight,
                                    { indexing: 'Exact', storage: true }) };
        })"""}


class Orders_Lines(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {"map('Orders', function (o) { return o.Lines.map(l => ({ Product: l.Product, "
                     "Quantity: l.Quantity })); })"}


class Orders_Totals(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {"map('Orders', o => ({ Company: o.Company, Count: 1, Freight: o.Freight }))"}
        self.reduce = ("groupBy(x => x.Company).aggregate(g => ({ Company: g.key, Count: g.values.reduce((a, v) => "
                       "a + v.Count, 0), Freight: g.values.reduce((a, v) => a + v.Freight, 0) }))")


def seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Company("Alfreds"), "companies/1")
        session.store(Company("Bon app"), "companies/2")
        session.store(Order("companies/1", [{"Product": "products/1", "Quantity": 2},
                                            {"Product": "products/2", "Quantity": 5}], 10.5), "orders/1")
        session.store(Order("companies/1", [{"Product": "products/2", "Quantity": 1}], 4.5), "orders/2")
        session.store(Order("companies/2", [{"Product": "products/3", "Quantity": 7}], 1.0), "orders/3")
        session.save_changes()


def query(store: DocumentStore, rql: str, **parameters: Any) -> list[dict[str, Any]]:
    with store.open_session() as session:
        found = session.advanced.raw_query(rql, dict).wait_for_non_stale_results()
        for name, value in parameters.items():
            found = found.add_parameter(name, value)
        return list(found)


def ids(results: list[dict[str, Any]]) -> list[str]:
    return sorted(result["@metadata"]["@id"] for result in results)


def test_maps_load_related_documents_and_follow_them(store: DocumentStore) -> None:
    seed(store)
    Orders_ByCompanyName().execute(store)
    assert store.maintenance.send(GetIndexOperation("Orders/ByCompanyName")).type.value == "JavaScriptMap"
    assert ids(query(store, "from index 'Orders/ByCompanyName' where CompanyName = 'alfreds'")) == [
        "orders/1", "orders/2"]
    assert ids(query(store, "from index 'Orders/ByCompanyName' where Id = 'orders/3' and Collection = 'Orders'")) \
        == ["orders/3"]
    assert ids(query(store, "from index 'Orders/ByCompanyName' where Dyn_companies_2 = 1.0")) == ["orders/3"]
    with store.open_session() as session:
        session.load("companies/1", Company).Name = "Alfreds Futterkiste"
        session.delete("orders/2")
        session.save_changes()
    assert ids(query(store, "from index 'Orders/ByCompanyName' where CompanyName = 'Alfreds Futterkiste'")) == [
        "orders/1"]


def test_a_map_returning_an_array_fans_out(store: DocumentStore) -> None:
    seed(store)
    Orders_Lines().execute(store)
    assert ids(query(store, "from index 'Orders/Lines' where Product = 'products/2'")) == ["orders/1", "orders/2"]
    assert ids(query(store, "from index 'Orders/Lines' where Quantity > 6")) == ["orders/3"]


def test_map_reduce_with_group_by_aggregate(store: DocumentStore) -> None:
    seed(store)
    Orders_Totals().execute(store)
    totals = query(store, "from index 'Orders/Totals' order by Company")
    assert [(r["Company"], r["Count"], r["Freight"]) for r in totals] == [
        ("companies/1", 2, 15.0), ("companies/2", 1, 1.0)]
    with store.open_session() as session:
        session.delete("orders/3")
        session.load("orders/1", Order).Freight = 20.0
        session.save_changes()
    totals = query(store, "from index 'Orders/Totals' order by Company")
    assert [(r["Company"], r["Count"], r["Freight"]) for r in totals] == [("companies/1", 2, 24.5)]


def test_errors_at_compile_time_and_while_indexing(store: DocumentStore) -> None:
    seed(store)
    with pytest.raises(IndexCompilationException, match=r"Index script \(map 1\) has a syntax error"):
        store.maintenance.send(PutIndexesOperation(IndexDefinition(
            name="Broken", maps={"map('Orders', o => ({ Company: o.Company )))"})))
    with pytest.raises(IndexCompilationException, match="does not call map"):
        store.maintenance.send(PutIndexesOperation(IndexDefinition(name="NoMap", maps={"var x = 1;"})))
    store.maintenance.send(PutIndexesOperation(IndexDefinition(name="Throws", maps={
        "map('Orders', o => { if (o.Freight > 5) throw new Error('too heavy: ' + id(o)); return { F: o.Freight }; })"
    })))
    assert ids(query(store, "from index 'Throws' where F < 5")) == ["orders/2", "orders/3"]
    errors = store.maintenance.send(GetIndexErrorsOperation("Throws"))[0].errors
    assert [error.document for error in errors] == ["orders/1"]
    assert "Error: too heavy: orders/1" in errors[0].error
    store.maintenance.send(PutIndexesOperation(IndexDefinition(name="Spins", maps={
        "map('Orders', o => { if (o.Freight > 10) { while (true) {} } return { F: o.Freight }; })"})))
    assert ids(query(store, "from index 'Spins' where F < 100")) == ["orders/2", "orders/3"]
    errors = store.maintenance.send(GetIndexErrorsOperation("Spins"))[0].errors
    assert [error.document for error in errors] == ["orders/1"] and "time limit" in errors[0].error
