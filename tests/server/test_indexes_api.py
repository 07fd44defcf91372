"""Auto-indexes through the official client: created by queries, merged, listed, reset, deleted,
kept across restarts, with their statistics and errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.commands.explain import ExplainQueryCommand
from ravendb.documents.indexes.definitions import IndexDefinition
from ravendb.documents.operations.indexes import (
    DeleteIndexErrorsOperation,
    DeleteIndexOperation,
    GetIndexErrorsOperation,
    GetIndexesOperation,
    GetIndexingStatusOperation,
    GetIndexNamesOperation,
    GetIndexOperation,
    GetIndexStatisticsOperation,
    GetTermsOperation,
    PutIndexesOperation,
    ResetIndexOperation,
)
from ravendb.documents.operations.statistics import GetStatisticsOperation
from ravendb.documents.queries.index_query import IndexQuery
from ravendb.exceptions.raven_exceptions import RavenException

from rookdb.server.runner import BackgroundServer
from tests.support.stores import StoreFactory, open_store
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


class Product:
    def __init__(self, Name: str = "", Price: float = 0.0, Cat: str = "") -> None:
        self.Name = Name
        self.Price = Price
        self.Cat = Cat


def fill(store: DocumentStore, count: int) -> None:
    with store.bulk_insert() as bulk:
        for number in range(count):
            bulk.store_as(Product(f"Product {number}", number * 1.5, f"c{number % 4}"), f"products/{number}")


def query(store: DocumentStore, rql: str, **parameters: Any) -> tuple[list[dict[str, Any]], Any]:
    stats: list[Any] = []
    with store.open_session() as session:
        found = session.advanced.raw_query(rql, dict)
        for name, value in parameters.items():
            found = found.add_parameter(name, value)
        results = list(found.statistics(stats.append))
    return results, stats[0]


def names(store: DocumentStore) -> list[str]:
    listed: list[str] = store.maintenance.send(GetIndexNamesOperation(0, 100))
    return listed


def test_queries_create_merge_and_list_auto_indexes(server: BackgroundServer, new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 50)
    results, stats = query(store, "from Products where Name = $n", n="Product 7")
    assert [item["Price"] for item in results] == [10.5]
    assert (stats.index_name, stats.is_stale, stats.total_results) == ("Auto/Products/ByName", False, 1)
    ranged, stats = query(store, "from Products where Price between 3 and 6 order by Price as double desc")
    assert [item["Price"] for item in ranged] == [6.0, 4.5, 3.0]
    assert stats.index_name == "Auto/Products/ByNameAndPrice"  # merged with the index of the collection
    wait_for(lambda: names(store) == ["Auto/Products/ByNameAndPrice"], what="the merged index to replace the old")
    _, stats = query(store, "from Products where Name = 'Product 1'")
    assert stats.index_name == "Auto/Products/ByNameAndPrice"

    definitions: list[IndexDefinition] = store.maintenance.send(GetIndexesOperation(0, 10))
    assert [definition.name for definition in definitions] == ["Auto/Products/ByNameAndPrice"]
    listed = httpx.get(f"{server.url}/databases/{store.database}/indexes", timeout=30).json()["Results"]
    assert {name: field["Indexing"] for name, field in listed[0]["Fields"].items()} == {
        "Name": "Default", "Price": "Default"}  # (the client's own IndexDefinition.fields does not parse)
    one = store.maintenance.send(GetIndexOperation("Auto/Products/ByNameAndPrice"))
    assert one is not None and one.name == "Auto/Products/ByNameAndPrice"
    assert store.maintenance.send(GetIndexOperation("Auto/Products/ByNothing")) is None
    statistics = store.maintenance.send(GetIndexStatisticsOperation("Auto/Products/ByNameAndPrice"))
    assert (statistics.entries_count, statistics.stale, statistics.map_errors) == (50, False, 0)
    assert statistics.type.value == "AutoMap" and statistics.last_indexing_time is not None
    status = store.maintenance.send(GetIndexingStatusOperation())
    assert [index.name for index in status.indexes] == ["Auto/Products/ByNameAndPrice"]


def test_collection_reads_and_searches(new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 30)
    everything, stats = query(store, "from Products")
    assert len(everything) == 30 and stats.index_name == "collection/Products"
    found, stats = query(store, "from Products where search(Name, 'product 7*') limit 3")
    assert stats.index_name == "Auto/Products/BySearch(Name)"
    scores = [item["@metadata"]["@index-score"] for item in found]
    assert scores == sorted(scores, reverse=True) and len(found) == 3
    assert names(store) == ["Auto/Products/BySearch(Name)"]


def test_reading_your_own_writes_and_waiting(new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 10)
    query(store, "from Products where Cat = 'c1'")
    with store.open_session() as session:
        session.store(Product("New", 1.0, "c1"), "products/new")
        session.save_changes()
    after, stats = query(store, "from Products where Cat = 'c1'")
    assert "products/new" in {item["@metadata"]["@id"] for item in after} and not stats.is_stale
    with store.open_session() as session:
        waited = list(session.query_collection("Products", dict).where_equals("Cat", "c2")
                      .wait_for_non_stale_results(timedelta(seconds=60)))
    assert len(waited) == 2


def test_reset_and_delete(server: BackgroundServer, new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 20)
    query(store, "from Products where Cat = 'c3'")
    name = "Auto/Products/ByCat"
    store.maintenance.send(ResetIndexOperation(name))  # RavenDB's RESET method, through httptools
    results, stats = query(store, "from Products where Cat = 'c3'")
    assert stats.index_name == name and len(results) == 5
    store.maintenance.send(DeleteIndexOperation(name))
    assert names(store) == []
    again = httpx.delete(f"{server.url}/databases/{store.database}/indexes", params={"name": name}, timeout=30)
    assert again.status_code == 404 and again.json()["Type"].endswith("IndexDoesNotExistException")
    store.maintenance.send(DeleteIndexOperation(name))  # the client takes 404 as "already gone"


def test_terms_of_a_field_in_lucene_order(server: BackgroundServer, new_store: StoreFactory) -> None:
    store = new_store()
    with store.open_session() as session:
        for number, (name, cat) in enumerate([("Zed", "c1"), ("arek", "c2"), ("Arek", None), ("", "c1")]):
            session.store(Product(name, number * 2.5, cat), f"products/{number}")  # type: ignore[arg-type]
        session.save_changes()
    query(store, "from Products where Name = 'x' and Cat = 'y' and Price > 1")
    index = "Auto/Products/ByCatAndNameAndPrice"
    assert store.maintenance.send(GetTermsOperation(index, "Name", None)) == ["EMPTY_STRING", "arek", "zed"]
    assert store.maintenance.send(GetTermsOperation(index, "Cat", None)) == ["NULL_VALUE", "c1", "c2"]
    assert store.maintenance.send(GetTermsOperation(index, "Cat", "NULL_VALUE", 1)) == ["c1"]
    # numbers as the JSON writes them
    assert store.maintenance.send(GetTermsOperation(index, "Price", None)) == ["0.0", "2.5", "5.0", "7.5"]
    assert store.maintenance.send(GetTermsOperation(index, "NoSuchField", None)) == []
    missing = httpx.get(f"{server.url}/databases/{store.database}/indexes/terms",
                        params={"name": "Nope", "field": "Name"}, timeout=30)
    assert missing.status_code == 400 and missing.json()["Type"].endswith("IndexDoesNotExistException")


def test_terms_of_a_search_field_are_its_words(new_store: StoreFactory) -> None:
    store = new_store()
    with store.open_session() as session:
        session.store(Product("Chai Tea, green", 1, "c1"), "products/1")
        session.store(Product("Green CHAI", 2, "c1"), "products/2")
        session.save_changes()
    query(store, "from Products where search(Name, 'tea')")
    words = store.maintenance.send(GetTermsOperation("Auto/Products/BySearch(Name)", "search(Name)", None))
    assert words == ["chai", "green", "tea"]


def test_database_statistics_list_the_indexes(new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 5)
    query(store, "from Products where Cat = 'c3'")
    definition = IndexDefinition(name="Products/ByName", maps={"from p in docs.Products select new { p.Name };"})
    store.maintenance.send(PutIndexesOperation(definition))
    wait_for(lambda: not store.maintenance.send(GetIndexStatisticsOperation("Products/ByName")).stale)
    statistics = store.maintenance.send(GetStatisticsOperation())
    listed = {index.name: index for index in statistics.indexes}
    assert statistics.count_of_indexes == 2 and set(listed) == {"Auto/Products/ByCat", "Products/ByName"}
    assert listed["Products/ByName"].type.value == "Map" and listed["Auto/Products/ByCat"].type.value == "AutoMap"
    assert all(index.lock_mode is not None and index.last_indexing_time is not None for index in listed.values())
    assert statistics.last_indexing_time == max(index.last_indexing_time for index in listed.values())


def test_clearing_the_errors_of_a_missing_index_raises(new_store: StoreFactory) -> None:
    store = new_store()
    store.maintenance.send(DeleteIndexErrorsOperation())
    with pytest.raises(RavenException, match="Index 'Nope' does not exist"):
        store.maintenance.send(DeleteIndexErrorsOperation(["Nope"]))


def explain(server: BackgroundServer, store: DocumentStore, rql: str) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/databases/{store.database}/queries", params={"debug": "explain"},
                          json={"Query": rql}, timeout=30)
    assert response.status_code == 200, response.text
    command = ExplainQueryCommand(store.conventions, IndexQuery(rql))  # the client reads the same answer
    store.get_request_executor().execute_command(command)
    assert [{"Index": found.index, "Reason": found.reason} for found in command.result] == response.json()["Results"]
    answer: dict[str, Any] = response.json()
    return answer


def test_explain_says_why_each_auto_index_is_not_used(server: BackgroundServer, new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 10)
    query(store, "from Products where Cat = 'c1'")
    query(store, "from Products where search(Name, 'product')")
    merged = "Auto/Products/ByCatAndSearch(Name)"
    wait_for(lambda: names(store) == [merged])
    assert explain(server, store, "from Products where Cat = 'c1' and Price > 3") == {
        "IndexName": merged, "Results": [{"Index": merged, "Reason": "The following field is missing: Price"}]}
    not_searchable = "The following field is not searchable Cat, while the query needs to search() on it"
    assert explain(server, store, "from Products where search(Cat, 'c1')")["Results"] == [
        {"Index": merged, "Reason": not_searchable}]
    assert explain(server, store, "from Orders where Freight > 1") == {"IndexName": None, "Results": []}
    assert names(store) == [merged]  # explaining creates no index
    named = httpx.post(f"{server.url}/databases/{store.database}/queries", params={"debug": "explain"},
                       json={"Query": f"from index '{merged}'"}, timeout=30)
    assert named.status_code == 400 and "Explain can only work on dynamic indexes" in named.json()["Message"]


def test_explain_names_the_complete_matches_not_chosen(server: BackgroundServer, new_store: StoreFactory) -> None:
    store = new_store()
    with store.open_session() as session:
        for number in range(3):
            item = {"Cat": f"c{number}", "Raw": [1.0, float(number), 0.0], "@metadata": {"@collection": "Items"}}
            session.store(item, f"items/{number}")
        session.save_changes()
    query(store, "from Items where Cat = 'c1'")
    query(store, "from Items where vector.search(Raw, $v)", v=[1.0, 0.0, 0.0])
    listed = names(store)
    assert listed == ["Auto/Items/ByCat", "Auto/Items/ByVector.search(Raw)"]
    answer = explain(server, store, "from Items")
    assert answer["IndexName"] in listed
    assert answer["Results"] == [{"Index": next(name for name in listed if name != answer["IndexName"]),
                                  "Reason": "Wasn't the widest / most up to date index matching this query"}]
    assert explain(server, store, "from Items where Cat = 'c2'")["IndexName"] == "Auto/Items/ByCat"


def test_bad_queries(new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 5)
    nothing, _ = query(store, "from Products where NoSuchField = 'x'")
    assert nothing == []
    text = "from Products where Price > 1 and search(id(), 'x')"
    with pytest.raises(RavenException, match="InvalidQueryException") as raised:
        query(store, text)
    assert "search() works on document fields" in str(raised.value)


def test_query_results_say_which_index_state_they_reflect(server: BackgroundServer, new_store: StoreFactory) -> None:
    store = new_store()
    fill(store, 5)
    response = httpx.post(f"{server.url}/databases/{store.database}/queries",
                          json={"Query": "from Products where Price > 1"}, timeout=30).json()
    assert (response["IndexName"], response["IsStale"], response["ResultEtag"]) == ("Auto/Products/ByPrice", False, 5)
    assert response["IndexTimestamp"].endswith("Z")


def test_vector_indexing_errors_are_listed(new_store: StoreFactory) -> None:
    store = new_store()
    with store.bulk_insert() as bulk:
        bulk.store_as({"Raw": [1.0, 0.0, 0.0]}, "items/1", metadata={"@collection": "Items"})
        bulk.store_as({"Raw": [0.0, 1.0]}, "items/2", metadata={"@collection": "Items"})
        bulk.store_as({"Raw": [0.0, 0.0, 1.0]}, "items/3", metadata={"@collection": "Items"})
    with store.open_session() as session:
        found = list(session.query_collection("Items", dict).vector_search("Raw", [1.0, 0.0, 0.0])
                     .wait_for_non_stale_results(timedelta(seconds=60)))
    assert {item["@metadata"]["@id"] for item in found} == {"items/1", "items/3"}
    errors = store.maintenance.send(GetIndexErrorsOperation("Auto/Items/ByVector.search(Raw)"))
    assert [error.document for error in errors[0].errors] == ["items/2"]
    assert "dimension" in errors[0].errors[0].error.lower()


def test_indexes_survive_a_restart_without_rebuilding(tmp_path: Path) -> None:
    with BackgroundServer(tmp_path) as first:
        store = open_store(first.url, "Durable")
        fill(store, 40)
        query(store, "from Products where Price >= 30")
        before = store.maintenance.send(GetIndexStatisticsOperation("Auto/Products/ByPrice"))
        store.close()
    with BackgroundServer(tmp_path) as second:
        store = DocumentStore(urls=[second.url], database="Durable")
        store.initialize()
        results, stats = query(store, "from Products where Price >= 30")
        after = store.maintenance.send(GetIndexStatisticsOperation("Auto/Products/ByPrice"))
        store.close()
    assert len(results) == 20 and not stats.is_stale
    assert before.map_attempts == after.map_attempts == 40  # resumed from its checkpoint: nothing mapped again


def test_hybrid_search_with_rank_fusion_through_the_client(northwind: DocumentStore) -> None:
    rql = "from Products where vector.search(embedding.text(Name), $v) or search(Name, $t)"
    with northwind.open_session() as session:
        fused = list(session.advanced.raw_query(rql, dict).add_parameter("v", "italian food")
                     .add_parameter("t", "alice").add_parameter("rookdb.fusion", "rrf")
                     .wait_for_non_stale_results(timedelta(seconds=60)))
        summed = list(session.advanced.raw_query(rql, dict).add_parameter("v", "italian food")
                      .add_parameter("t", "alice"))
    assert fused[0]["Name"] == "Gnocchi di nonna Alice" and summed[0]["Name"] == "Alice Mutton"
