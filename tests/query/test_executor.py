"""The executor over Northwind; every expectation is computed here with plain Python."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from rookdb.errors import IndexNotFoundError, InvalidQueryError
from rookdb.query import ast, execute
from rookdb.query.executor import QueryResult
from tests.support.northwind import MemorySource, collection


def ids(result: QueryResult) -> list[str]:
    return [doc["@metadata"]["@id"] for doc in result.results]


def doc_ids(docs: Sequence[dict[str, Any]]) -> list[str]:
    return [doc["@metadata"]["@id"] for doc in docs]


PRODUCTS = collection("Products")
ORDERS = collection("Orders")
COMPANIES = collection("Companies")
EMPLOYEES = collection("Employees")


# ---- filtering -------------------------------------------------------------------------------


def test_numeric_range_ordered_as_double_descending(northwind_source: MemorySource) -> None:
    result = execute("from Products where PricePerUnit > 20 order by PricePerUnit as double desc", {}, northwind_source)
    expected = sorted((p for p in PRODUCTS if p["PricePerUnit"] > 20), key=lambda p: p["PricePerUnit"], reverse=True)
    assert ids(result) == doc_ids(expected)
    assert result.total_results == len(expected) > 0
    assert result.results[0] is expected[0]  # full documents go out untouched


@pytest.mark.parametrize("name", ["Chang", "chang", "CHANG"])
def test_array_field_matches_when_any_element_does_ignoring_case(northwind_source: MemorySource, name: str) -> None:
    result = execute(f"from Orders where Lines[].ProductName = '{name}'", {}, northwind_source)
    expected = [o for o in ORDERS if any(line["ProductName"] == "Chang" for line in o["Lines"])]
    assert ids(result) == doc_ids(expected)
    assert len(expected) > 10


def test_exact_is_case_sensitive(northwind_source: MemorySource) -> None:
    assert execute("from Orders where exact(Lines[].ProductName = 'chang')", {}, northwind_source).total_results == 0
    exact = execute("from Orders where exact(Lines[].ProductName = 'Chang')", {}, northwind_source)
    loose = execute("from Orders where Lines[].ProductName = 'chang'", {}, northwind_source)
    assert exact.total_results == loose.total_results > 0


def test_nested_path_in_list(northwind_source: MemorySource) -> None:
    result = execute("from Companies where Address.Country in ('Germany','France')", {}, northwind_source)
    assert ids(result) == doc_ids([c for c in COMPANIES if c["Address"]["Country"] in ("Germany", "France")])


def test_in_with_a_list_parameter_as_the_client_sends_it(northwind_source: MemorySource) -> None:
    result = execute("from Products where Name in ($p0)", {"p0": ["chai", "Chang", "nope"]}, northwind_source)
    assert ids(result) == doc_ids([p for p in PRODUCTS if p["Name"] in ("Chai", "Chang")])


def test_all_in_needs_every_value(northwind_source: MemorySource) -> None:
    result = execute("from Employees where Territories all in ('06897', '19713')", {}, northwind_source)
    expected = [e for e in EMPLOYEES if {"06897", "19713"} <= set(e["Territories"])]
    assert ids(result) == doc_ids(expected) and expected
    some = execute("from Employees where Territories in ('06897', '19713')", {}, northwind_source)
    assert some.total_results == len([e for e in EMPLOYEES if {"06897", "19713"} & set(e["Territories"])])


def test_between_is_inclusive(northwind_source: MemorySource) -> None:
    result = execute("from Products where PricePerUnit between $lo and $hi", {"lo": 18, "hi": 19}, northwind_source)
    assert ids(result) == doc_ids([p for p in PRODUCTS if 18 <= p["PricePerUnit"] <= 19])
    assert any(p["PricePerUnit"] == 18 for p in result.results)


def test_string_ranges_compare_text(northwind_source: MemorySource) -> None:
    result = execute("from Orders where OrderedAt >= '1998-05-01' and OrderedAt < '1998-05-06'", {}, northwind_source)
    assert ids(result) == doc_ids([o for o in ORDERS if "1998-05-01" <= o["OrderedAt"] < "1998-05-06"])
    assert result.total_results > 0


@pytest.mark.parametrize(
    ("where", "check"),
    [
        ("startsWith(Name, 'ch')", lambda name: name.lower().startswith("ch")),
        ("startsWith(Name, $p)", lambda name: name.lower().startswith("ch")),
        ("endsWith(Name, 'SAUCE')", lambda name: name.lower().endswith("sauce")),
        ("search(Name, 'chef')", lambda name: "chef" in re.findall(r"\w+", name.lower())),
        ("search(Name, 'CHEF gumbo')", lambda name: bool({"chef", "gumbo"} & set(re.findall(r"\w+", name.lower())))),
        ("search(Name, 'chef gumbo', and)", lambda name: {"chef", "gumbo"} <= set(re.findall(r"\w+", name.lower()))),
        ("search(Name, 'choco*')", lambda name: any(w.startswith("choco") for w in re.findall(r"\w+", name.lower()))),
        ("search(Name, '*sauce')", lambda name: any(w.endswith("sauce") for w in re.findall(r"\w+", name.lower()))),
        ("regex(Name, '^[A-C].*s$')", lambda name: re.search("^[A-C].*s$", name, re.IGNORECASE) is not None),
        ("regex(Name, '^[a-c].*S$')", lambda name: re.search("^[A-C].*s$", name, re.IGNORECASE) is not None),
    ],
)
def test_text_predicates(northwind_source: MemorySource, where: str, check: Any) -> None:
    result = execute(f"from Products where {where}", {"p": "CH"}, northwind_source)
    expected = {p["@metadata"]["@id"] for p in PRODUCTS if check(p["Name"])}
    assert set(ids(result)) == expected and expected


def test_search_orders_by_relevance(northwind_source: MemorySource) -> None:
    result = execute("from Products where search(Name, 'chef anton gumbo')", {}, northwind_source)
    assert result.results[0]["Name"] == "Chef Anton's Gumbo Mix"
    scores = [doc["@metadata"]["@index-score"] for doc in result.results]
    assert scores == sorted(scores, reverse=True)


def test_exists_counts_present_fields_even_when_null(northwind_source: MemorySource) -> None:
    result = execute("from Suppliers where exists(HomePage)", {}, northwind_source)
    suppliers = collection("Suppliers")
    assert ids(result) == doc_ids([s for s in suppliers if "HomePage" in s])
    assert any(s.get("HomePage") is None for s in result.results)
    assert execute("from Products where exists(NoSuchField)", {}, northwind_source).total_results == 0


def test_null_matches_null_and_missing(northwind_source: MemorySource) -> None:
    result = execute("from Companies where Address.Region = null", {}, northwind_source)
    assert ids(result) == doc_ids([c for c in COMPANIES if c["Address"].get("Region") is None])
    not_null = execute("from Companies where Address.Region != null", {}, northwind_source)
    assert not_null.total_results == len(COMPANIES) - result.total_results


@pytest.mark.parametrize(
    "where", ["true and not Discontinued = true", "not Discontinued = true", "Discontinued != true",
              "Discontinued = false", "Discontinued = 'false'"],
)
def test_negation_and_booleans(northwind_source: MemorySource, where: str) -> None:
    result = execute(f"from Products where {where}", {}, northwind_source)
    assert ids(result) == doc_ids([p for p in PRODUCTS if not p["Discontinued"]])


def test_boolean_structure(northwind_source: MemorySource) -> None:
    result = execute(
        "from Products where (Category = 'categories/1-A' or Category = 'categories/2-A') "
        "and not (PricePerUnit < 15 or UnitsInStock = 0)", {}, northwind_source,
    )
    expected = [
        p for p in PRODUCTS
        if p["Category"] in ("categories/1-A", "categories/2-A")
        and not (p["PricePerUnit"] < 15 or p["UnitsInStock"] == 0)
    ]
    assert ids(result) == doc_ids(expected) and expected


def test_id_is_case_insensitive(northwind_source: MemorySource) -> None:
    result = execute("from Products where id() = 'PRODUCTS/1-a'", {}, northwind_source)
    assert ids(result) == ["products/1-A"]
    result = execute("from Products where startsWith(id(), 'products/1')", {}, northwind_source)
    assert ids(result) == [p["@metadata"]["@id"] for p in PRODUCTS if p["@metadata"]["@id"].startswith("products/1")]


def test_alias_prefix_is_the_document_itself(northwind_source: MemorySource) -> None:
    result = execute("from Orders as o where o.Freight > 500 select o.Company, o.ShipTo.City as City", {},
                     northwind_source)
    expected = [o for o in ORDERS if o["Freight"] > 500]
    assert [r["Company"] for r in result.results] == [o["Company"] for o in expected]
    assert [r["City"] for r in result.results] == [o["ShipTo"]["City"] for o in expected]


def test_all_docs_and_collection_names_ignore_case(northwind_source: MemorySource, northwind_docs: list[Any]) -> None:
    assert execute("from @all_docs", {}, northwind_source).total_results == len(northwind_docs)
    assert execute("from products", {}, northwind_source).total_results == len(PRODUCTS)


# ---- ordering --------------------------------------------------------------------------------


def test_default_ordering_is_text_ignoring_case(northwind_source: MemorySource) -> None:
    result = execute("from Products order by Name", {}, northwind_source)
    assert ids(result) == doc_ids(sorted(PRODUCTS, key=lambda p: p["Name"].lower()))
    # Without "as double" a number sorts as its text, as on RavenDB's auto-indexes.
    as_text = execute("from Products order by PricePerUnit", {}, northwind_source)
    assert ids(as_text) == doc_ids(sorted(PRODUCTS, key=lambda p: str(p["PricePerUnit"])))


def test_several_keys_with_mixed_directions(northwind_source: MemorySource) -> None:
    result = execute("from Products order by Category desc, UnitsInStock as long, Name", {}, northwind_source)
    expected = sorted(PRODUCTS, key=lambda p: p["Name"].lower())
    expected.sort(key=lambda p: p["UnitsInStock"])
    expected.sort(key=lambda p: p["Category"], reverse=True)
    assert ids(result) == doc_ids(expected)


def test_missing_values_sort_first_ascending_and_last_descending(northwind_source: MemorySource) -> None:
    def key(c: dict[str, Any]) -> tuple[int, str]:
        return (0, "") if c.get("Fax") is None else (1, c["Fax"].lower())

    ascending = execute("from Companies order by Fax", {}, northwind_source)
    assert ids(ascending) == doc_ids(sorted(COMPANIES, key=key))
    descending = execute("from Companies order by Fax desc", {}, northwind_source)
    assert ids(descending) == doc_ids(sorted(COMPANIES, key=key, reverse=True))
    nulls_last = execute("from Companies order by Fax nulls last", {}, northwind_source)
    assert nulls_last.results[-1].get("Fax") is None and nulls_last.results[0].get("Fax") is not None


def test_as_long_parses_numeric_text(northwind_source: MemorySource) -> None:
    result = execute("from Employees order by Extension as long desc", {}, northwind_source)
    assert ids(result) == doc_ids(sorted(EMPLOYEES, key=lambda e: int(e["Extension"]), reverse=True))


def test_alphanumeric_ordering() -> None:
    codes = ["item10", "item2", "Item1", "item1b", "box"]
    source = MemorySource([{"Code": code, "@metadata": {"@id": f"x/{code}", "@collection": "X"}} for code in codes])
    result = execute("from X order by Code as alphaNumeric", {}, source)
    assert [doc["Code"] for doc in result.results] == ["box", "Item1", "item1b", "item2", "item10"]


def test_random_order_is_a_permutation_repeatable_by_seed(northwind_source: MemorySource) -> None:
    first = ids(execute("from Products order by random('x')", {}, northwind_source))
    again = ids(execute("from Products order by random($seed)", {"seed": "x"}, northwind_source))
    assert first == again and sorted(first) == sorted(doc_ids(PRODUCTS)) and first != doc_ids(PRODUCTS)


# ---- projections, includes, paging -------------------------------------------------------------


def test_select_with_aliases_and_nested_paths(northwind_source: MemorySource) -> None:
    result = execute(
        "from Companies where Address.Country = 'Germany' select Name as CompanyName, Address.City as City, "
        "Address.Location.Latitude, id() as Id", {}, northwind_source,
    )
    expected = [c for c in COMPANIES if c["Address"]["Country"] == "Germany"]
    assert [
        {k: v for k, v in r.items() if k != "@metadata"} for r in result.results
    ] == [
        {"CompanyName": c["Name"], "City": c["Address"]["City"],
         "Address.Location.Latitude": (c["Address"]["Location"] or {}).get("Latitude"), "Id": c["@metadata"]["@id"]}
        for c in expected
    ]
    for row, company in zip(result.results, expected, strict=True):
        assert row["@metadata"]["@projection"] is True
        assert row["@metadata"]["@id"] == company["@metadata"]["@id"]


def test_projected_array_and_missing_field(northwind_source: MemorySource) -> None:
    result = execute("from Orders where id() = 'orders/1-A' select Lines[].ProductName as Names, Nope", {},
                     northwind_source)
    order = next(o for o in ORDERS if o["@metadata"]["@id"] == "orders/1-A")
    assert result.results[0]["Names"] == [line["ProductName"] for line in order["Lines"]]
    assert result.results[0]["Nope"] is None


def test_select_distinct(northwind_source: MemorySource) -> None:
    result = execute("from Products select distinct Category", {}, northwind_source)
    expected = list(dict.fromkeys(p["Category"] for p in PRODUCTS))
    assert [r["Category"] for r in result.results] == expected
    assert result.total_results == len(expected)


def test_includes_follow_ids_in_fields_and_arrays(northwind_source: MemorySource) -> None:
    result = execute(
        "from Orders where Company = 'companies/1-A' include Company, Employee, Lines[].Product", {}, northwind_source,
    )
    orders = [o for o in ORDERS if o["Company"] == "companies/1-A"]
    wanted = {"companies/1-A"} | {o["Employee"] for o in orders} | {ln["Product"] for o in orders for ln in o["Lines"]}
    assert set(result.includes) == wanted
    assert result.includes["companies/1-A"]["Name"] == "Alfreds Futterkiste"
    assert result.included_paths == ["Company", "Employee", "Lines[].Product"]


def test_includes_only_cover_the_returned_page(northwind_source: MemorySource) -> None:
    result = execute("from Orders order by id() include Company limit 1", {}, northwind_source)
    assert list(result.includes) == [result.results[0]["Company"]]


def test_paging_with_rql_limit(northwind_source: MemorySource) -> None:
    everything = ids(execute("from Products order by Name", {}, northwind_source))
    page = execute("from Products order by Name limit 5, 10", {}, northwind_source)
    assert ids(page) == everything[5:15] and page.total_results == len(PRODUCTS)
    assert ids(execute("from Products order by Name limit 10 offset 5", {}, northwind_source)) == everything[5:15]
    assert ids(execute("from Products order by Name offset 70", {}, northwind_source)) == everything[70:]


def test_paging_from_the_request_and_rql_winning(northwind_source: MemorySource) -> None:
    everything = ids(execute("from Products order by Name", {}, northwind_source))
    assert ids(execute("from Products order by Name", {}, northwind_source, start=3, page_size=4)) == everything[3:7]
    client = "from Products order by Name limit $p0, $p1"
    assert ids(execute(client, {"p0": 1, "p1": 2}, northwind_source, page_size=50)) == everything[1:3]
    # skip() without take(): the client sends a null take, so the request's page size applies.
    assert ids(execute(client, {"p0": 2, "p1": None}, northwind_source, page_size=3)) == everything[2:5]
    count = execute("from 'Products' where Name = $p0 limit $p1, $p2", {"p0": "Chang", "p1": 0, "p2": 0},
                    northwind_source)
    assert count.results == [] and count.total_results == 1


@pytest.mark.parametrize("bad", [-1, 1.5, "ten", True])
def test_bad_limits_are_invalid_queries(northwind_source: MemorySource, bad: Any) -> None:
    with pytest.raises(InvalidQueryError, match="limit must be a non-negative integer"):
        execute("from Products limit $p", {"p": bad}, northwind_source)


# ---- errors, naming, timing ----------------------------------------------------------------------


def test_unknown_parameter_is_named(northwind_source: MemorySource) -> None:
    text = "from Products where Name = $p0 and PricePerUnit > $missing"
    with pytest.raises(InvalidQueryError, match=r"\$missing") as caught:
        execute(text, {"p0": "x"}, northwind_source)
    assert caught.value.position == text.index("$missing")
    assert caught.value.query == text


def test_index_queries_name_a_missing_index(northwind_source: MemorySource) -> None:
    with pytest.raises(IndexNotFoundError, match="Orders/Totals"):
        execute("from index 'Orders/Totals'", {}, northwind_source)


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("from Products", "collection/Products"),
        ("from 'Products' limit $p0, $p1", "collection/Products"),
        ("from Products where id() = 'products/1-A'", "collection/Products"),
        ("from @all_docs", "AllDocs"),
        ("from Products where Name = 'x'", "Auto/Products/ByName"),
        ("from Orders where Employee = 'e' and Company = 'c'", "Auto/Orders/ByCompanyAndEmployee"),
        ("from Orders where Company = 'c' order by Freight as double", "Auto/Orders/ByCompanyAndFreight"),
        ("from Orders as o where o.ShipTo.City = 'x'", "Auto/Orders/ByShipTo.City"),
        ("from Orders where Lines[].ProductName = 'x'", "Auto/Orders/ByLines[].ProductName"),
        ("from Products where search(Name, 'x') and Name = 'y'", "Auto/Products/ByNameAndSearch(Name)"),
        ("from Products where exact(Name = 'x')", "Auto/Products/ByExact(Name)"),
        ("from Products order by random()", "Auto/Products/ById()"),
        ("from @all_docs where Name = 'x'", "Auto/AllDocs/ByName"),
        ("from index 'Orders/Totals'", "Orders/Totals"),
        ("from Products where vector.search(embedding.text(Name), $p0)",
         "Auto/Products/ByVector.search(embedding.text(Name))"),
        ("from Categories where vector.search(embedding.text(Name, ai.task('id-for-task-open-ai')), $p0)",
         "Auto/Categories/ByVector.search(embedding.text(Name|ai.task('id-for-task-open-ai')))"),
        ("from Products where vector.search(embedding.text(Name), $p0) and PricePerUnit > 1",
         "Auto/Products/ByPricePerUnitAndVector.search(embedding.text(Name))"),
        ("from Companies where vector.search(embedding.text(Name), $p0) or "
         "vector.search(embedding.text(Address.Country), $p1)",
         "Auto/Companies/ByVector.search(embedding.text(Address.Country))AndVector.search(embedding.text(Name))"),
    ],
)
def test_index_names_follow_ravendb(text: str, index: str) -> None:
    from rookdb.query import index_name, parse_query

    assert index_name(parse_query(text), {}) == index


def test_result_reports_index_name_and_duration(northwind_source: MemorySource) -> None:
    result = execute("from Products where Name = 'Chai'", {}, northwind_source)
    assert result.index_name == "Auto/Products/ByName"
    assert isinstance(result.duration_ms, int) and result.duration_ms >= 0
    assert result.skipped_results == 0 and result.is_stale is False


def test_accepts_a_parsed_query(northwind_source: MemorySource) -> None:
    from rookdb.query import parse_query

    query = parse_query("from Products where Name = $n")
    assert isinstance(query, ast.Query)
    assert ids(execute(query, {"n": "Chai"}, northwind_source)) == ["products/1-A"]


# ---- vector clauses --------------------------------------------------------------------------


class FakeVectors:
    """Scores by a fixed table and records every call, standing in for the vector engine."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.calls: list[tuple[ast.VectorSearch, list[str]]] = []

    def __call__(
        self, clause: ast.VectorSearch, parameters: Mapping[str, Any], candidate_ids: Sequence[str]
    ) -> dict[str, float]:
        self.calls.append((clause, list(candidate_ids)))
        return {doc_id.upper(): score for doc_id, score in self.scores.items() if doc_id in candidate_ids}


VECTOR_SCORES = {"products/1-a": 0.5, "products/2-a": 0.9, "products/38-a": 0.7, "products/9-a": 0.8}


def test_vector_search_without_a_hook_is_refused(northwind_source: MemorySource) -> None:
    with pytest.raises(InvalidQueryError, match="vector search is not available"):
        execute("from Products where vector.search(embedding.text(Name), $p0)", {"p0": "x"}, northwind_source)


def test_vector_results_ordered_by_score_with_index_score(northwind_source: MemorySource) -> None:
    hook = FakeVectors(VECTOR_SCORES)
    result = execute("from Products where vector.search(embedding.text(Name), $p0, 0.5)", {"p0": "tea"},
                     northwind_source, vector_search=hook)
    assert ids(result) == ["products/2-A", "products/9-A", "products/38-A", "products/1-A"]
    assert [r["@metadata"]["@index-score"] for r in result.results] == [0.9, 0.8, 0.7, 0.5]
    clause, candidates = hook.calls[0]
    assert clause.minimum_similarity == 0.5 and clause.field.kind == "text"
    assert candidates == [p["@metadata"]["@id"].lower() for p in PRODUCTS]
    assert "@index-score" not in PRODUCTS[1]["@metadata"]  # the source document is not touched


def test_vector_filter_narrows_the_candidates(northwind_source: MemorySource) -> None:
    hook = FakeVectors(VECTOR_SCORES)
    result = execute("from Products where vector.search(embedding.text(Name), $p0) and PricePerUnit > $p1",
                     {"p0": "x", "p1": 35}, northwind_source, vector_search=hook)
    expensive = [p["@metadata"]["@id"].lower() for p in PRODUCTS if p["PricePerUnit"] > 35]
    assert hook.calls[0][1] == expensive
    assert ids(result) == [i for i in ("products/9-A", "products/38-A") if i.lower() in expensive]


def test_vector_clauses_under_or_see_the_whole_collection(northwind_source: MemorySource) -> None:
    hook = FakeVectors(VECTOR_SCORES)
    result = execute("from Products where vector.search(Tags, $p0) or Name = 'Chai' or vector.search(Tags, $p0)",
                     {"p0": [0.1, 0.2]}, northwind_source, vector_search=hook)
    assert len(hook.calls) == 2 and all(len(c) == len(PRODUCTS) for _, c in hook.calls)
    # Scores add up across the clauses a document matches: Chai matches all three.
    scores = {r["@metadata"]["@id"]: r["@metadata"]["@index-score"] for r in result.results}
    expected = {"products/1-A": 2.0, "products/2-A": 1.8, "products/9-A": 1.6, "products/38-A": 1.4}
    assert scores == pytest.approx(expected)
    assert ids(result) == list(scores)


def test_vector_boost_and_explicit_order(northwind_source: MemorySource) -> None:
    hook = FakeVectors(VECTOR_SCORES)
    boosted = execute("from Products where boost(vector.search(Tags, $p0), 2) or id() = 'products/3-A'",
                      {"p0": [1.0]}, northwind_source, vector_search=hook)
    assert boosted.results[0]["@metadata"]["@index-score"] == pytest.approx(1.8)
    ordered = execute("from Products where vector.search(Tags, $p0) order by Name", {"p0": [1.0]}, northwind_source,
                      vector_search=hook)
    assert [r["Name"] for r in ordered.results] == sorted(r["Name"] for r in ordered.results)
    projected = execute("from Products where vector.search(Tags, $p0) select Name", {"p0": [1.0]}, northwind_source,
                        vector_search=hook)
    assert projected.results[0] == {"Name": "Chang", "@metadata": {
        "@id": "products/2-A", "@projection": True, "@collection": "Products", "@index-score": 0.9}}


def test_text_query_values_match_numbers(northwind_source: MemorySource) -> None:
    as_text = execute("from Orders where Lines[].Quantity = '12'", {}, northwind_source)
    as_number = execute("from Orders where Lines[].Quantity = 12", {}, northwind_source)
    expected = [o for o in ORDERS if any(line["Quantity"] == 12 for line in o["Lines"])]
    assert ids(as_text) == ids(as_number) == doc_ids(expected)


def test_not_equal_includes_documents_without_the_field() -> None:
    source = MemorySource([
        {"Name": "a", "@metadata": {"@id": "x/1", "@collection": "X"}},
        {"Name": "b", "@metadata": {"@id": "x/2", "@collection": "X"}},
        {"@metadata": {"@id": "x/3", "@collection": "X"}},
    ])
    assert ids(execute("from X where Name != 'a'", {}, source)) == ["x/2", "x/3"]
    assert ids(execute("from X where Name = null", {}, source)) == ["x/3"]
    assert ids(execute("from X where Name > 'a'", {}, source)) == ["x/2"]


def test_invalid_regex_is_an_invalid_query(northwind_source: MemorySource) -> None:
    with pytest.raises(InvalidQueryError, match="Invalid regex"):
        execute("from Products where regex(Name, '(')", {}, northwind_source)


def test_score_ordering_and_boosted_predicates(northwind_source: MemorySource) -> None:
    text = "from Products where boost(search(Name, 'chef'), 3) or boost(Name = 'Chai', 2) or Name = 'Chang'"
    best_first = execute(text + " order by score()", {}, northwind_source)
    scores = [r["@metadata"]["@index-score"] for r in best_first.results]
    assert scores == sorted(scores, reverse=True) == [3.0, 3.0, 2.0, 1.0]
    worst_first = execute(text + " order by score() desc", {}, northwind_source)
    assert [r["@metadata"]["@index-score"] for r in worst_first.results] == sorted(scores)
    with pytest.raises(InvalidQueryError, match="boost factor must be a number"):
        execute("from Products where boost(Name = 'x', $b)", {"b": "high"}, northwind_source)


def _words(name: str) -> list[str]:
    return re.findall(r"\w+", name.lower())


@pytest.mark.parametrize(
    ("terms", "check"),
    [
        ("*ant*", lambda name: any("ant" in w for w in _words(name))),
        ("anton's", lambda name: {"anton", "s"} <= set(_words(name))),
        ("", lambda name: False),
        ("***", lambda name: False),
    ],
)
def test_search_terms(northwind_source: MemorySource, terms: str, check: Any) -> None:
    result = execute("from Products where search(Name, $t)", {"t": terms}, northwind_source)
    expected = {p["Name"] for p in PRODUCTS if check(p["Name"])}
    assert {r["Name"] for r in result.results} == expected
    assert terms in ("", "***") or len(expected) >= 2


@pytest.mark.parametrize(
    "where", ["startsWith(Name, null)", "endsWith(Name, $list)", "Name < null", "Name >= $list"],
)
def test_unusable_comparison_values_match_nothing(northwind_source: MemorySource, where: str) -> None:
    assert execute(f"from Products where {where}", {"list": [1]}, northwind_source).total_results == 0


def test_regex_needs_a_string(northwind_source: MemorySource) -> None:
    with pytest.raises(InvalidQueryError, match="regex\\(\\) needs a string"):
        execute("from Products where regex(Name, 5)", {}, northwind_source)


def test_integral_float_limits_are_accepted(northwind_source: MemorySource) -> None:
    assert len(execute("from Products limit $n", {"n": 2.0}, northwind_source).results) == 2


def test_id_projection_without_alias_is_named_id(northwind_source: MemorySource) -> None:
    result = execute("from Products where Name = 'Chai' select id(), Name", {}, northwind_source)
    assert result.results[0]["Id"] == "products/1-A"


def test_filters_and_ed_with_a_vector_clause_leave_its_similarity_alone(northwind_source: MemorySource) -> None:
    hook = FakeVectors(VECTOR_SCORES)
    result = execute("from Products where vector.search(Tags, $p0) and PricePerUnit > 0 and not Name = 'x'",
                     {"p0": [0.1]}, northwind_source, vector_search=hook)
    scores = {r["@metadata"]["@id"].lower(): r["@metadata"]["@index-score"] for r in result.results}
    assert scores == pytest.approx(VECTOR_SCORES)
