"""RQL through the official client over Northwind; expectations computed from the JSON file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ravendb import (
    DocumentStore,
    Explanations,
    HighlightingOptions,
    PutCompareExchangeValueOperation,
    RavenDocumentQuery,
    SessionOptions,
    TransactionMode,
)
from ravendb.documents.queries.highlighting import Highlightings
from ravendb.exceptions.raven_exceptions import RavenException

from tests.support.northwind import NORTHWIND_JSON


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(NORTHWIND_JSON.read_text())
    return loaded


def collection(documents: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc["@metadata"]["@collection"] == name]


def test_collection_count(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    with northwind.open_session() as session:
        assert session.query_collection("Orders").count() == len(collection(documents, "Orders"))
        assert len(list(session.advanced.raw_query("from @all_docs", dict))) == len(documents)


def test_untyped_session_query_reads_every_collection(northwind: DocumentStore,
                                                      documents: list[dict[str, Any]]) -> None:
    # session.query() without a type sends from '@all_docs', quoted
    expected = {doc["@metadata"]["@id"] for doc in documents if doc.get("Name") in ("Chai", "Chang")}
    with northwind.open_session() as session:
        results = list(session.query().where_in("Name", ["Chai", "Chang"]))
        ids = {session.advanced.get_document_id(result) for result in results}
    assert ids == expected and len(expected) == 2


def test_filter_and_order_by_price(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    expected = sorted(
        (doc for doc in collection(documents, "Products") if doc["PricePerUnit"] > 20),
        key=lambda doc: -doc["PricePerUnit"],
    )
    with northwind.open_session() as session:
        results = list(session.advanced.raw_query(
            "from Products where PricePerUnit > $min order by PricePerUnit as double desc", dict,
        ).add_parameter("min", 20))
    assert [p["PricePerUnit"] for p in results] == [doc["PricePerUnit"] for doc in expected]
    assert {p["Name"] for p in results} == {doc["Name"] for doc in expected}


def test_generated_query_with_paging(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    names = sorted((doc["Name"] for doc in collection(documents, "Products")), key=str.lower)
    with northwind.open_session() as session:
        page = list(session.query_collection("Products", dict).order_by("Name").skip(5).take(10))
    assert [p["Name"] for p in page] == names[5:15]


def test_nested_array_path(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    expected = {
        doc["@metadata"]["@id"] for doc in collection(documents, "Orders")
        if any(line["ProductName"].lower() == "chang" for line in doc["Lines"])
    }
    with northwind.open_session() as session:
        results = list(session.advanced.raw_query("from Orders where Lines[].ProductName = 'Chang'"))
        ids = {session.advanced.get_document_id(order) for order in results}
    assert ids == expected and expected


def test_in_and_nested_field(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    expected = sum(
        1 for doc in collection(documents, "Companies") if doc["Address"]["Country"] in ("Germany", "France"))
    with northwind.open_session() as session:
        count = len(list(session.advanced.raw_query(
            "from Companies where Address.Country in ($countries)", dict).add_parameter(
            "countries", ["Germany", "France"])))
    assert count == expected > 0


def test_projection_with_alias(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    employees = sorted(collection(documents, "Employees"), key=lambda doc: doc["LastName"].lower())
    with northwind.open_session() as session:
        rows = list(session.advanced.raw_query(
            "from Employees order by LastName select FirstName as First, Address.City as City", dict))
    assert [(row["First"], row["City"]) for row in rows] == [
        (doc["FirstName"], doc["Address"]["City"]) for doc in employees]


def test_search_between_and_starts_with(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    products = collection(documents, "Products")
    with northwind.open_session() as session:
        found = {p["Name"] for p in session.advanced.raw_query(
            "from Products where search(Name, 'chef')", dict)}
        between = len(list(session.advanced.raw_query(
            "from Products where PricePerUnit between 10 and 20", dict)))
        starts = len(list(session.advanced.raw_query(
            "from Products where startsWith(Name, 'ch') and not Discontinued = true", dict)))
    assert found == {doc["Name"] for doc in products if "chef" in doc["Name"].lower().split()}
    assert between == sum(1 for doc in products if 10 <= doc["PricePerUnit"] <= 20)
    assert starts == sum(
        1 for doc in products if doc["Name"].lower().startswith("ch") and doc["Discontinued"] is not True)


def test_query_include_is_served_with_the_results(northwind: DocumentStore) -> None:
    with northwind.open_session() as session:
        products = list(session.advanced.raw_query(
            "from Products where Name = 'Chai' include Supplier", dict))
        supplier_id = products[0]["Supplier"]
        supplier = session.load(supplier_id)
        assert supplier is not None
        assert session.advanced.number_of_requests == 1


def test_bad_rql_raises_a_readable_error(northwind: DocumentStore) -> None:
    with northwind.open_session() as session, pytest.raises(RavenException) as raised:
        list(session.advanced.raw_query("from Products where Name = = 'x'"))
    message = str(raised.value)
    assert "InvalidQueryException" in message
    assert "column" in message.lower()


def test_unknown_parameter_is_named(northwind: DocumentStore) -> None:
    with northwind.open_session() as session, pytest.raises(RavenException, match="missing"):
        list(session.advanced.raw_query("from Products where Name = $missing"))


def test_include_timings(northwind: DocumentStore) -> None:
    seen: list[Any] = []
    with northwind.open_session() as session:
        results = list(session.query_collection("Products").timings(seen.append).where_not_equals("Name", "Chai"))
    assert results and seen[0].duration_in_ms > 0 and set(seen[0].timings) == {"Query", "Includes"}


def test_compare_exchange_values_as_where_values(northwind: DocumentStore) -> None:
    northwind.operations.send(PutCompareExchangeValueOperation("rql/favourite-drink", "Chang", 0))
    with northwind.open_session() as session:
        found = list(session.query_collection("Products", dict)
                     .where_equals("Name", RavenDocumentQuery.cmp_xchg("rql/favourite-drink")))
        missing = list(session.advanced.raw_query("from Products where Name = cmpxchg('rql/no-such-key')", dict))
    assert [product["Name"] for product in found] == ["Chang"]
    assert missing == []


def test_lucene_fuzzy_and_intersect(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    products = collection(documents, "Products")
    with northwind.open_session() as session:
        lucene = list(session.query_collection("Products", dict).where_lucene("Name", "chai OR chang"))
        fuzzy = list(session.query_collection("Products", dict)
                     .where_equals("Name", "Chal").fuzzy(0.5))
        both = list(session.query_collection("Products", dict)
                    .where_greater_than("PricePerUnit", 20).intersect().search("Name", "chef"))
    assert sorted(product["Name"] for product in lucene) == ["Chai", "Chang"]
    assert [product["Name"] for product in fuzzy] == ["Chai"]
    assert {product["Name"] for product in both} == {
        doc["Name"] for doc in products if doc["PricePerUnit"] > 20 and "chef" in doc["Name"].lower().split()}


def test_include_explanations(northwind: DocumentStore) -> None:
    seen: list[Explanations] = []
    with northwind.open_session() as session:
        results = list(session.query_collection("Products", dict)
                       .include_explanations(explanations_callback=seen.append).search("Name", "chef"))
        ids = [session.advanced.get_document_id(result) for result in results]
    assert len(ids) == 2 and set(seen[0].explanations) == set(ids)
    assert all("search(Name, $p0)" in lines[0] for lines in seen[0].explanations.values())


def test_highlight(northwind: DocumentStore) -> None:
    tagged: list[Highlightings] = []
    plain: list[Highlightings] = []
    options = HighlightingOptions(pre_tags=["**"], post_tags=["**"])
    with northwind.open_session() as session:
        results = list(session.query_collection("Products", dict)
                       .highlight("Name", 64, 1, tagged.append, options)
                       .search("Name", "chef gumbo"))
        ids = [session.advanced.get_document_id(result) for result in results]
        list(session.query_collection("Products", dict).highlight("Name", 64, 1, plain.append).search("Name", "chef"))
    assert set(tagged[0].result_indents) == set(ids) and len(ids) == 2
    assert tagged[0].get_fragments("products/5-A") == ["**Chef** Anton's **Gumbo** Mix"]
    assert plain[0].get_fragments("products/5-A") == [
        "<b style=\"background:yellow\">Chef</b> Anton's Gumbo Mix"]


def test_javascript_projections(northwind: DocumentStore) -> None:
    with northwind.open_session() as session:
        rows = list(session.advanced.raw_query(
            "from Products as p where p.PricePerUnit > $min order by p.PricePerUnit as double desc "
            "select { Name: p.Name.toUpperCase(), Id: id(p), Doubled: p.PricePerUnit * 2, "
            "Cv: getMetadata(p)['@change-vector'] != null, Supplier: load(p.Supplier).Name } limit 2", dict,
        ).add_parameter("min", 100))
    assert [row["Name"] for row in rows] == ["CÔTE DE BLAYE", "THÜRINGER ROSTBRATWURST"]
    assert rows[0]["Id"] == "products/38-A" and rows[0]["Doubled"] == 527.0 and rows[0]["Cv"] is True
    assert rows[0]["Supplier"] == "Aux joyeux ecclésiastiques"


def test_declared_functions_and_compare_exchange_includes(northwind: DocumentStore) -> None:
    northwind.operations.send(PutCompareExchangeValueOperation("rql/chai-note", "steep 3 minutes", 0))
    query = ("declare function note(p, key) {\n  includes.cmpxchg(key);\n  return { Name: p.Name, Key: key };\n}\n"
             "from Products as p where p.Name = 'Chai' select note(p, $key)")
    cluster_wide = SessionOptions(transaction_mode=TransactionMode.CLUSTER_WIDE)
    with northwind.open_session(session_options=cluster_wide) as session:
        rows = list(session.advanced.raw_query(query, dict).add_parameter("key", "rql/chai-note"))
        requests = session.advanced.number_of_requests
        value = session.advanced.cluster_transaction.get_compare_exchange_value("rql/chai-note")
        assert session.advanced.number_of_requests == requests  # served from the query's includes
    assert [{key: row[key] for key in ("Name", "Key")} for row in rows] == [{"Name": "Chai", "Key": "rql/chai-note"}]
    assert value is not None and value.value == "steep 3 minutes"


def test_a_failing_projection_is_a_javascript_exception(northwind: DocumentStore) -> None:
    with northwind.open_session() as session, pytest.raises(RavenException, match="JavaScriptException"):
        list(session.advanced.raw_query("from Products as p select { X: p.Nope.Deeper }", dict))


FOXES = ["a quick brown fox", "the fox is quick", "quick fox", "a fox, then a very slow and quick dog"]


@pytest.mark.parametrize(("text", "slop", "expected"), [
    ("quick_fox", 1, ["quick fox", "a quick brown fox"]),
    ("quick fox", 2, ["quick fox", "a quick brown fox", "the fox is quick"]),
    ("quick fox", 0, ["quick fox"]),
    ("the quick fox", 0, ["quick fox"]),  # stop words take no position
])
def test_proximity_search_through_the_client(store: DocumentStore, text: str, slop: int,
                                             expected: list[str]) -> None:
    with store.open_session() as session:
        for number, name in enumerate(FOXES):
            session.store({"name": name}, f"foxes/{number}")
            session.advanced.get_metadata_for(session.load(f"foxes/{number}", dict))["@collection"] = "Foxes"
        session.save_changes()
    with store.open_session() as session:
        if slop > 0:
            query = (session.query_collection("Foxes", dict).wait_for_non_stale_results()
                     .search("name", text).proximity(slop))
            assert f"proximity(search(name, $p0), {slop})" in query.index_query.query
        else:  # the client refuses 0, the RQL takes it: an exact phrase
            query = (session.advanced.raw_query(f"from Foxes where proximity(search(name, $t), {slop})", dict)
                     .add_parameter("t", text).wait_for_non_stale_results())
        found = [fox["name"] for fox in query]
    assert found == expected


def test_proximity_needs_a_search_clause(store: DocumentStore) -> None:
    with store.open_session() as session, pytest.raises(RavenException, match="InvalidQueryException"):
        list(session.advanced.raw_query("from Foxes where proximity(name = 'fox', 2)"))
    with store.open_session() as session, pytest.raises(RavenException, match="wildcards"):
        list(session.advanced.raw_query("from Foxes where proximity(search(name, 'quick fo*'), 2)"))


def test_regex_ignores_case_as_ravendb_does(northwind: DocumentStore, documents: list[dict[str, Any]]) -> None:
    with northwind.open_session() as session:
        upper = [product["Name"] for product in session.query_collection("Products", dict).where_regex("Name", "^[NA]")]
        lower = list(session.advanced.raw_query("from Products where regex(Name, '^[na]')", dict))
    expected = sorted(product["Name"] for product in collection(documents, "Products") if product["Name"][0] in "NA")
    assert sorted(upper) == sorted(product["Name"] for product in lower) == expected and expected
