"""Static indexes through the official Python client: defined with ``PutIndexesOperation`` and index
classes, listed, queried, redefined side by side, disabled, reset and deleted; LINQ maps, multi-maps,
related documents and map-reduce kept correct under updates and deletes."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.indexes.abstract_index_creation_tasks import (
    AbstractIndexCreationTask,
    AbstractMultiMapIndexCreationTask,
)
from ravendb.documents.indexes.definitions import (
    AdditionalAssembly,
    FieldIndexing,
    FieldStorage,
    IndexDefinition,
    IndexFieldOptions,
    IndexLockMode,
    IndexPriority,
    IndexState,
)
from ravendb.documents.indexes.index_creation import IndexCreation
from ravendb.documents.operations.indexes import (
    DeleteIndexOperation,
    DisableIndexOperation,
    EnableIndexOperation,
    GetIndexErrorsOperation,
    GetIndexesOperation,
    GetIndexingStatusOperation,
    GetIndexNamesOperation,
    GetIndexOperation,
    GetIndexStatisticsOperation,
    IndexHasChangedOperation,
    PutIndexesOperation,
    ResetIndexOperation,
    SetIndexesLockOperation,
    SetIndexesPriorityOperation,
    StartIndexingOperation,
    StopIndexingOperation,
)
from ravendb.exceptions.documents.compilation import IndexCompilationException
from ravendb.exceptions.documents.indexes import IndexDoesNotExistException

from rookdb.server.runner import BackgroundServer
from tests.support.stores import open_store
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


class Product:
    def __init__(self, Name: str = "", PricePerUnit: float = 0.0, Category: str = "",
                 Discontinued: bool = False) -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit
        self.Category = Category
        self.Discontinued = Discontinued


class Category:
    def __init__(self, Name: str = "") -> None:
        self.Name = Name


class Products_ByCategoryName(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = ("from p in docs.Products let c = LoadDocument(p.Category, \"Categories\") "
                    "select new { p.Name, CategoryName = c.Name, p.PricePerUnit }")
        self._index("Name", FieldIndexing.SEARCH)
        self._store("CategoryName", FieldStorage.YES)


class Products_ByCategory(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "docs.Products.Select(p => new { p.Category, Count = 1 })"
        self.reduce = ("from r in results group r by r.Category into g "
                       "select new { Category = g.Key, Count = g.Sum(x => x.Count) }")


class Names_Everywhere(AbstractMultiMapIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self._add_map("from p in docs.Products select new { p.Name }")
        self._add_map("from c in docs.Categories select new { c.Name }")


def seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Category("Beverages"), "categories/1")
        session.store(Category("Condiments"), "categories/2")
        session.store(Product("Chai", 18, "categories/1"), "products/1")
        session.store(Product("Chang", 19, "categories/1"), "products/2")
        session.store(Product("Aniseed Syrup", 10, "categories/2"), "products/3")
        session.save_changes()


def query(store: DocumentStore, rql: str, **parameters: Any) -> list[dict[str, Any]]:
    with store.open_session() as session:
        found = session.advanced.raw_query(rql, dict).wait_for_non_stale_results()
        for name, value in parameters.items():
            found = found.add_parameter(name, value)
        return list(found)


def ids(results: list[dict[str, Any]]) -> list[str]:
    return sorted(result["@metadata"]["@id"] for result in results)


def test_index_classes_are_created_and_queried(store: DocumentStore) -> None:
    seed(store)
    IndexCreation.create_indexes([Products_ByCategoryName(), Products_ByCategory(), Names_Everywhere()], store)
    assert sorted(store.maintenance.send(GetIndexNamesOperation(0, 10))) == [
        "Names/Everywhere", "Products/ByCategory", "Products/ByCategoryName"]
    found = query(store, "from index 'Products/ByCategoryName' where CategoryName = 'beverages'")
    assert ids(found) == ["products/1", "products/2"] and {r["Name"] for r in found} == {"Chai", "Chang"}
    assert ids(query(store, "from index 'Products/ByCategoryName' where search(Name, 'syrup')")) == ["products/3"]
    totals = query(store, "from index 'Products/ByCategory' order by Category")
    assert [(r["Category"], r["Count"]) for r in totals] == [("categories/1", 2), ("categories/2", 1)]
    assert ids(query(store, "from index 'Names/Everywhere' where Name = 'beverages'")) == ["categories/1"]
    assert ids(query(store, "from index 'Names/Everywhere' where Name = 'chai'")) == ["products/1"]


@pytest.mark.parametrize(("where", "expected"), [
    ("lucene(Name, 'syrup')", ["products/3"]),  # a word of the value, not the whole value
    ("lucene(Name, 'SYRUP OR chai')", ["products/1", "products/3"]),
    ("lucene(Name, 'anis*') and lucene(Name, '*rup')", ["products/3"]),
    ("lucene(Name, '\"aniseed syrup\"')", ["products/3"]),
    ("lucene(Name, '\"syrup aniseed\"')", []),  # a phrase keeps its order
    ("fuzzy(Name = 'sirup', 0.5)", ["products/3"]),
    ("fuzzy(Name = 'aniseed sirup', 0.5)", ["products/3"]),
    ("fuzzy(Name = 'sirup', 0.9)", []),
])
def test_lucene_and_fuzzy_read_the_words_of_search_fields(store: DocumentStore, where: str,
                                                            expected: list[str]) -> None:
    seed(store)
    Products_ByCategoryName().execute(store)
    assert ids(query(store, f"from index 'Products/ByCategoryName' where {where}")) == expected


def test_lucene_compares_whole_values_on_other_fields(store: DocumentStore) -> None:
    seed(store)
    Names_Everywhere().execute(store)
    assert ids(query(store, "from index 'Names/Everywhere' where lucene(Name, 'syrup')")) == []
    assert ids(query(store, "from index 'Names/Everywhere' where lucene(Name, '\"aniseed syrup\"')")) == ["products/3"]
    assert ids(query(store, "from Products where lucene(Name, 'syrup')")) == []


def test_related_documents_and_reduce_results_follow_changes(store: DocumentStore) -> None:
    seed(store)
    IndexCreation.create_indexes([Products_ByCategoryName(), Products_ByCategory()], store)
    with store.open_session() as session:
        session.load("categories/1", Category).Name = "Drinks"
        session.delete("products/3")
        session.store(Product("Ipoh Coffee", 46, "categories/1"), "products/4")
        session.save_changes()
    assert ids(query(store, "from index 'Products/ByCategoryName' where CategoryName = 'drinks'")) == [
        "products/1", "products/2", "products/4"]
    projected = query(store, "from index 'Products/ByCategoryName' where CategoryName = 'drinks' "
                             "select CategoryName")
    assert [result["CategoryName"] for result in projected] == ["Drinks"] * 3
    totals = query(store, "from index 'Products/ByCategory'")
    assert [(r["Category"], r["Count"]) for r in totals] == [("categories/1", 3)]


def test_definitions_are_listed_as_sent(store: DocumentStore) -> None:
    definition = IndexDefinition(
        name="Products/Search", maps={"from p in docs.Products select new { p.Name, p.PricePerUnit }"},
        fields={"Name": IndexFieldOptions(indexing=FieldIndexing.SEARCH, storage=FieldStorage.YES)})
    store.maintenance.send(PutIndexesOperation(definition))
    read = store.maintenance.send(GetIndexOperation("Products/Search"))
    assert read.name == "Products/Search"
    assert read.maps == {"from p in docs.Products select new { p.Name, p.PricePerUnit }"}
    listed = store.maintenance.send(GetIndexesOperation(0, 10))
    assert [index.name for index in listed] == ["Products/Search"]
    stats = store.maintenance.send(GetIndexStatisticsOperation("Products/Search"))
    assert stats.name == "Products/Search"
    assert store.maintenance.send(IndexHasChangedOperation(definition)) is False
    definition.maps = {"from p in docs.Products select new { p.Name }"}
    assert store.maintenance.send(IndexHasChangedOperation(definition)) is True
    assert store.maintenance.send(GetIndexOperation("Nope")) is None


def test_a_map_outside_the_subset_is_refused_with_its_position(store: DocumentStore) -> None:
    definition = IndexDefinition(name="Bad", maps={
        "from e in docs.Events select new { Where = CreateSpatialField(e.Lat, e.Lng) }"})
    with pytest.raises(IndexCompilationException) as raised:
        store.maintenance.send(PutIndexesOperation(definition))
    assert "Failed to compile index Bad" in str(raised.value)
    assert "CreateSpatialField" in str(raised.value) and "line 1, column 44" in str(raised.value)
    assert store.maintenance.send(GetIndexNamesOperation(0, 10)) == []


def test_runtime_assemblies_are_accepted_and_unknown_ones_refused(store: DocumentStore) -> None:
    seed(store)
    definition = IndexDefinition(name="Xml", maps={
        "from c in docs.Categories select new { Kind = typeof(System.Xml.XmlNode).Name, c.Name }"})
    definition.additional_assemblies = {AdditionalAssembly.from_runtime("System.Xml"),
                                        AdditionalAssembly.from_runtime("System.Private.Xml", {"System.Xml"})}
    store.maintenance.send(PutIndexesOperation(definition))
    assert ids(query(store, "from index 'Xml' where Kind = 'XmlNode'")) == ["categories/1", "categories/2"]
    read = store.maintenance.send(GetIndexOperation("Xml"))
    # the client keeps each entry's JSON whole in assembly_name
    assert sorted(entry.assembly_name["AssemblyName"] for entry in read.additional_assemblies) == [
        "System.Private.Xml", "System.Xml"]
    definition.name = "Missing"
    definition.additional_assemblies = {AdditionalAssembly.from_runtime("Some.Assembly.That.Does.Not.Exist")}
    with pytest.raises(IndexCompilationException) as raised:
        store.maintenance.send(PutIndexesOperation(definition))
    assert str(raised.value).splitlines()[0].endswith(
        "IndexCompilationException: Cannot load assembly 'Some.Assembly.That.Does.Not.Exist'.")
    assert store.maintenance.send(GetIndexNamesOperation(0, 10)) == ["Xml"]


def test_redefinition_builds_side_by_side_and_identical_is_a_no_op(store: DocumentStore, server: BackgroundServer,
                                                                  ) -> None:
    seed(store)
    first = IndexDefinition(name="Products/ByPrice", maps={"from p in docs.Products select new { p.PricePerUnit }"})
    store.maintenance.send(PutIndexesOperation(first))
    assert ids(query(store, "from index 'Products/ByPrice' where PricePerUnit > 15")) == ["products/1", "products/2"]
    created = store.maintenance.send(GetIndexStatisticsOperation("Products/ByPrice")).created_timestamp
    store.maintenance.send(PutIndexesOperation(first))
    assert store.maintenance.send(GetIndexStatisticsOperation("Products/ByPrice")).created_timestamp == created
    second = IndexDefinition(name="Products/ByPrice", maps={
        "from p in docs.Products select new { PricePerUnit = p.PricePerUnit * 2 }"})
    store.maintenance.send(PutIndexesOperation(second))
    wait_for(lambda: store.maintenance.send(GetIndexNamesOperation(0, 10)) == ["Products/ByPrice"])
    assert ids(query(store, "from index 'Products/ByPrice' where PricePerUnit > 30")) == ["products/1", "products/2"]
    assert store.maintenance.send(GetIndexOperation("Products/ByPrice")).maps == second.maps


def test_disable_enable_reset_lock_priority_and_delete(store: DocumentStore) -> None:
    seed(store)
    definition = IndexDefinition(name="Products/ByName", maps={"from p in docs.Products select new { p.Name }"})
    store.maintenance.send(PutIndexesOperation(definition))
    query(store, "from index 'Products/ByName'")
    store.maintenance.send(DisableIndexOperation("Products/ByName"))
    assert store.maintenance.send(GetIndexStatisticsOperation("Products/ByName")).state == IndexState.DISABLED
    with store.open_session() as session:
        session.store(Product("Tofu", 23), "products/5")
        session.save_changes()
    with store.open_session() as session:
        stats: list[Any] = []
        list(session.advanced.raw_query("from index 'Products/ByName' where Name = 'tofu'", dict)
             .statistics(stats.append))
        assert stats[0].is_stale
    store.maintenance.send(EnableIndexOperation("Products/ByName"))
    assert ids(query(store, "from index 'Products/ByName' where Name = 'tofu'")) == ["products/5"]
    store.maintenance.send(SetIndexesLockOperation(IndexLockMode.LOCKED_IGNORE, "Products/ByName"))
    store.maintenance.send(SetIndexesPriorityOperation(IndexPriority.HIGH, "Products/ByName"))
    read = store.maintenance.send(GetIndexOperation("Products/ByName"))
    assert read.lock_mode == IndexLockMode.LOCKED_IGNORE and read.priority == IndexPriority.HIGH
    store.maintenance.send(StopIndexingOperation())
    assert store.maintenance.send(GetIndexingStatusOperation()).status.value == "Paused"
    store.maintenance.send(StartIndexingOperation())
    store.maintenance.send(ResetIndexOperation("Products/ByName"))
    assert len(query(store, "from index 'Products/ByName'")) == 4
    store.maintenance.send(DeleteIndexOperation("Products/ByName"))
    with pytest.raises(IndexDoesNotExistException), store.open_session() as session:
        list(session.advanced.raw_query("from index 'Products/ByName'", dict))


def test_map_errors_are_recorded_per_document(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Product("Chai", 18), "products/1")
        session.store({"Name": 5, "@metadata": {"@collection": "Products"}}, "products/2")
        session.save_changes()
    definition = IndexDefinition(name="Products/Lower", maps={
        "from p in docs.Products select new { Lower = p.Name.ToLower() }"})
    store.maintenance.send(PutIndexesOperation(definition))
    assert ids(query(store, "from index 'Products/Lower'")) == ["products/1"]
    (errors,) = store.maintenance.send(GetIndexErrorsOperation("Products/Lower"))
    assert [error.document for error in errors.errors] == ["products/2"]
    assert "ToLower" in errors.errors[0].error


def test_explicit_nulls_are_indexed_and_missing_properties_left_out(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"Name": None, "@metadata": {"@collection": "Companies"}}, "companies/1")
        session.store({"Phone": "1", "@metadata": {"@collection": "Companies"}}, "companies/2")
        session.save_changes()
    plain = IndexDefinition(name="Companies/ByName", maps={"from c in docs.Companies select new { c.Name };"})
    as_null = IndexDefinition(name="Companies/ByName/AsNull", maps={"from c in docs.Companies select new { c.Name }"},
                              configuration={"Indexing.IndexMissingFieldsAsNull": "true"})
    store.maintenance.send(PutIndexesOperation(plain, as_null))
    assert ids(query(store, "from index 'Companies/ByName' where Name = null")) == ["companies/1"]
    assert store.maintenance.send(GetIndexStatisticsOperation("Companies/ByName")).entries_count == 1
    both = ["companies/1", "companies/2"]
    assert ids(query(store, "from index 'Companies/ByName/AsNull' where Name = null")) == both
    assert store.maintenance.send(GetIndexStatisticsOperation("Companies/ByName/AsNull")).entries_count == 2


def test_definitions_live_in_the_record_and_survive_a_restart(tmp_path: Path) -> None:
    with BackgroundServer(tmp_path) as first:
        store = open_store(first.url, "Durable")
        seed(store)
        store.maintenance.send(PutIndexesOperation(IndexDefinition(
            name="Products/ByName", maps={"from p in docs.Products select new { p.Name }"})))
        assert ids(query(store, "from index 'Products/ByName' where Name = 'chang'")) == ["products/2"]
        record = httpx.get(f"{first.url}/admin/databases", params={"name": "Durable"}).json()
        assert list(record["Indexes"]) == ["Products/ByName"]
        before = store.maintenance.send(GetIndexStatisticsOperation("Products/ByName"))
        store.close()
    for leftover in (tmp_path / "databases" / "Durable" / "indexes").iterdir():
        leftover.unlink()  # the record alone brings the index back
    with BackgroundServer(tmp_path) as second:
        store = DocumentStore(urls=[second.url], database="Durable")
        store.initialize()
        assert ids(query(store, "from index 'Products/ByName' where Name = 'chang'")) == ["products/2"]
        after = store.maintenance.send(GetIndexStatisticsOperation("Products/ByName"))
        store.close()
    assert before.map_attempts == after.map_attempts == 3


class Shipment:
    def __init__(self, name: str = "", ordered_at: str = "", shipped_at: str = "") -> None:
        self.name = name
        self.ordered_at = ordered_at
        self.shipped_at = shipped_at


def test_a_time_span_is_compared_by_its_ticks(store: DocumentStore) -> None:
    # The client sends a timedelta as its ticks; the index keeps a TimeSpan's text and its ticks.
    store.maintenance.send(PutIndexesOperation(IndexDefinition(name="Delays", maps={
        "from s in docs.Shipments select new { delay = s.shipped_at - ((DateTime?)s.ordered_at) }"})))
    with store.open_session() as session:
        for name, hours in (("minutes", 0.05), ("hours", 2), ("days", 49)):
            ordered = datetime.datetime(2024, 1, 1) - datetime.timedelta(hours=hours)
            session.store(Shipment(name, ordered.isoformat(), "2024-01-01T00:00:00.0000000"))
        session.save_changes()
    with store.open_session() as session:
        short = session.query_index("Delays", Shipment).wait_for_non_stale_results() \
            .where_less_than("delay", datetime.timedelta(hours=3))
        assert sorted(found.name for found in short) == ["hours", "minutes"]
        long = session.query_index("Delays", Shipment).where_greater_than("delay", datetime.timedelta(hours=3))
        assert [found.name for found in long] == ["days"]
    assert [r["name"] for r in query(store, "from index 'Delays' where delay = '2.01:00:00'")] == ["days"]
