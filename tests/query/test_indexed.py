"""Queries answered from auto-indexes give exactly what scanning the collection gives, reading less.

Every query runs twice over the same Northwind storage: scanned (the reference) and through its
auto-index; results, order, totals and projections must be identical. The indexes are built as the
queries come, so later queries also exercise merged auto-indexes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query import execute
from rookdb.query.dynamic import run_dynamic
from rookdb.query.executor import QueryResult
from rookdb.storage.sqlite import SqliteStorage
from tests.support.indexing import StorageSource, indexed_northwind


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    with indexed_northwind(tmp_path_factory.mktemp("indexed")) as opened:
        yield opened


def both(database: tuple[StorageSource, IndexRegistry], text: str, parameters: dict[str, Any] | None = None,
         **options: Any) -> tuple[QueryResult, QueryResult]:
    source, registry = database
    scanned = execute(text, parameters or {}, source, **options)
    scans, loaded = source.scans, source.loaded
    indexed = run_dynamic(text, parameters or {}, source, registry, **options)
    assert source.scans == scans, "the indexed query scanned the collection"
    if " distinct " not in text:  # distinct rows are only known once every match is projected
        assert source.loaded - loaded <= max(len(indexed.results), 1) + len(indexed.includes)
    assert indexed.index_name.startswith("Auto/") and not indexed.is_stale
    return scanned, indexed


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("from Products where PricePerUnit > 20 order by PricePerUnit as double desc", {}),
    ("from Orders where Lines[].ProductName = 'chang'", {}),
    ("from Orders where exact(Lines[].ProductName = 'chang')", {}),
    ("from Orders where exact(Lines[].ProductName = 'Chang')", {}),
    ("from Companies where Address.Country in ('Germany','France')", {}),
    ("from Products where Name in ($p0)", {"p0": ["chai", "Chang", "nope"]}),
    ("from Employees where Territories all in ('06897', '19713')", {}),
    ("from Employees where Territories in ('06897', '19713')", {}),
    ("from Employees where Territories all in ($none)", {"none": []}),
    ("from Products where PricePerUnit between $lo and $hi", {"lo": 18, "hi": 19}),
    ("from Products where PricePerUnit between 18 and 'z'", {}),
    ("from Orders where OrderedAt >= '1998-05-01' and OrderedAt < '1998-05-06'", {}),
    ("from Orders where exact(OrderedAt >= '1998-05-01T00' and OrderedAt < '1998-05-06')", {}),
    ("from Products where startsWith(Name, 'ch')", {}),
    ("from Products where startsWith(Name, $p)", {"p": "CH"}),
    ("from Products where exact(startsWith(Name, 'Ch'))", {}),
    ("from Products where startsWith(PricePerUnit, '1')", {}),
    ("from Products where startsWith(Discontinued, 'TR')", {}),
    ("from Products where endsWith(Name, 'SAUCE')", {}),
    ("from Products where exact(endsWith(Name, 'Sauce'))", {}),
    ("from Products where endsWith(PricePerUnit, '.5')", {}),
    ("from Products where regex(Name, '^[A-C].*s$')", {}),
    ("from Suppliers where exists(HomePage)", {}),
    ("from Products where exists(NoSuchField)", {}),
    ("from Companies where Address.Region = null", {}),
    ("from Companies where Address.Region != null", {}),
    ("from Products where true and not Discontinued = true", {}),
    ("from Products where Discontinued != true", {}),
    ("from Products where Discontinued = 'false'", {}),
    ("from Products where (Category = 'categories/1-A' or Category = 'categories/2-A') "
     "and not (PricePerUnit < 15 or UnitsInStock = 0)", {}),
    ("from Products where id() = 'PRODUCTS/1-a' and PricePerUnit > 1", {}),
    ("from Products where exact(id() = 'products/1-A') or Name = 'Chang'", {}),
    ("from Products where id() between 'products/2' and 'products/4' and Name != 'x'", {}),
    ("from Orders as o where o.Freight > 500 select o.Company, o.ShipTo.City as City", {}),
    ("from Products order by Name", {}),
    ("from Products order by PricePerUnit", {}),
    ("from Products order by Category desc, UnitsInStock as long, Name", {}),
    ("from Companies order by Fax", {}),
    ("from Companies order by Fax desc", {}),
    ("from Companies order by Fax nulls last", {}),
    ("from Companies order by Fax desc nulls first", {}),
    ("from Employees order by Extension as long desc", {}),
    ("from Orders order by Freight as long, id() desc", {}),
    ("from Products order by Name as alphaNumeric", {}),
    ("from Products order by random('x')", {}),
    ("from Products where PricePerUnit > 10 order by random($seed) limit 5", {"seed": "y"}),
    ("from Companies where Address.Country = 'Germany' select Name as CompanyName, Address.City as City, "
     "Address.Location.Latitude, id() as Id", {}),
    ("from Orders where id() = 'orders/1-A' and Freight > 0 select Lines[].ProductName as Names, Nope", {}),
    ("from Products order by Category select distinct Category", {}),
    ("from Products where PricePerUnit > 5 select distinct Category limit 3, 2", {}),
    ("from Orders where Company = 'companies/1-A' include Company, Employee, Lines[].Product", {}),
    ("from Orders order by id() include Company limit 1", {}),
    ("from Products order by Name limit 5, 10", {}),
    ("from Products order by Name limit 10 offset 5", {}),
    ("from Products order by Name offset 70", {}),
    ("from 'Products' where Name = $p0 limit $p1, $p2", {"p0": "Chang", "p1": 0, "p2": 0}),
    ("from Orders where Lines[].Quantity = '12'", {}),
    ("from Orders where Lines[].Quantity = 12", {}),
    ("from Products where startsWith(Name, null)", {}),
    ("from Products where Name < null", {}),
    ("from Products where Name >= $list", {"list": [1]}),
    ("from Orders where ShipTo.Location.Latitude > 50 order by ShipTo.Location.Longitude as double", {}),
    ("from Orders where Freight between 10 and 20 order by Freight as double desc limit 7", {}),
    ("from Orders where Employee = 'employees/1-A' order by Freight desc, OrderedAt limit 20", {}),
    ("from @all_docs where Name = 'Chai'", {}),
    ("from @all_docs where startsWith(Name, 'c') order by Name", {}),
    ("from Products where NoSuchField = 'x'", {}),
    ("from Products where NoSuchField = null limit 3", {}),
    ("from Products where not exists(Name)", {}),
    ("from Products where fuzzy(Name = 'Chal', 0.5)", {}),
    ("from Products where fuzzy(Name = $n, 0.3) and PricePerUnit > 10", {"n": "Chang"}),
    ("from Products where fuzzy(id() = 'products/1-b', 0.8)", {}),
    ("from Products where fuzzy(PricePerUnit = 18, 0.5)", {}),
    ("from Products where lucene(Name, 'chai OR Chang')", {}),
    ("from Products where lucene(Name, 'Ch* -chai')", {}),
    ("from Products where lucene(Name, 'PricePerUnit:[10 TO 20} AND Discontinued:true')", {}),
    ("from Products where lucene(Name, $q) order by Name", {"q": "*sauce c?a* \"Chef Anton's Gumbo Mix\""}),
    ("from Products where lucene(Name, 'Chal~') or lucene(Category, 'categories/1-A^2')", {}),
    ("from Products where intersect(Name = 'Chai', PricePerUnit > 5)", {}),
]


@pytest.mark.parametrize(("text", "parameters"), QUERIES, ids=[text for text, _ in QUERIES])
def test_indexed_results_equal_the_scan(database: tuple[StorageSource, IndexRegistry], text: str,
                                        parameters: dict[str, Any]) -> None:
    scanned, indexed = both(database, text, parameters)
    assert indexed.results == scanned.results
    assert indexed.total_results == scanned.total_results
    assert indexed.includes == scanned.includes


@pytest.mark.parametrize(("start", "page_size"), [(0, 5), (3, 4), (70, 50), (0, 0)])
def test_request_paging(database: tuple[StorageSource, IndexRegistry], start: int, page_size: int) -> None:
    scanned, indexed = both(database, "from Orders where Freight > 20 order by ShipVia, Freight as double",
                            start=start, page_size=page_size)
    assert indexed.results == scanned.results and indexed.total_results == scanned.total_results


@pytest.mark.parametrize("terms", ["chef", "CHEF gumbo", "choco*", "*sauce", "*ant*", "anton's", "", "***",
                                   "sir rodney's"])
@pytest.mark.parametrize("operator", ["", ", and"])
def test_search_matches_the_same_documents(database: tuple[StorageSource, IndexRegistry], terms: str,
                                           operator: str) -> None:
    text = f"from Products where search(Name, $t{operator})"
    scanned, indexed = both(database, text, {"t": terms})
    assert sorted(item["@metadata"]["@id"] for item in indexed.results) == \
        sorted(item["@metadata"]["@id"] for item in scanned.results)
    scores = [item["@metadata"]["@index-score"] for item in indexed.results]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)


@pytest.mark.parametrize(("terms", "slop", "names"), [
    ("chef gumbo", 2, {"Chef Anton's Gumbo Mix"}),  # "anton" and "s" between
    ("chef gumbo", 1, set()),
    ("gumbo chef", 3, set()),  # reversed: 2 more moves
    ("gumbo chef", 4, {"Chef Anton's Gumbo Mix"}),
    ("anton's cajun", 0, {"Chef Anton's Cajun Seasoning"}),
    ("the", 5, set()),  # only a stop word: no phrase
])
def test_proximity_matches_the_same_documents(database: tuple[StorageSource, IndexRegistry], terms: str, slop: int,
                                              names: set[str]) -> None:
    text = f"from Products where proximity(search(Name, $t), {slop})"
    scanned, indexed = both(database, text, {"t": terms})
    assert {item["Name"] for item in indexed.results} == {item["Name"] for item in scanned.results} == names
    counted, _ = both(database, f"from Products where PricePerUnit > 0 and {text[20:]}", {"t": terms})
    assert counted.total_results == len(names)


@pytest.mark.parametrize(("where", "names"), [
    ("fuzzy(Name = 'Chal', 0.5)", {"Chai"}),
    ("fuzzy(Name = 'chai', 0.74)", {"Chai"}),
    ("fuzzy(Name = 'chal', 0.75)", set()),
    ("lucene(Name, 'chai OR CHANG')", {"Chai", "Chang"}),
    ("lucene(Name, '+Ch* -chai -chang') and PricePerUnit < 20", {"Chartreuse verte", "Chocolade"}),
])
def test_fuzzy_and_lucene_match_what_lucene_would(database: tuple[StorageSource, IndexRegistry], where: str,
                                                  names: set[str]) -> None:
    _, indexed = both(database, f"from Products where {where}")
    assert {item["Name"] for item in indexed.results} == names


def test_search_ranks_by_bm25(database: tuple[StorageSource, IndexRegistry]) -> None:
    _, indexed = both(database, "from Products where search(Name, 'chef anton gumbo')")
    assert [item["Name"] for item in indexed.results][:2] == ["Chef Anton's Gumbo Mix", "Chef Anton's Cajun Seasoning"]
    scores = [item["@metadata"]["@index-score"] for item in indexed.results]
    assert scores[0] > scores[1] > 0


def test_search_combined_with_filters_and_boosts(database: tuple[StorageSource, IndexRegistry]) -> None:
    text = ("from Products where (search(Name, 'chef') or boost(Name = 'Chai', 2) or Name = 'Chang') "
            "and PricePerUnit > 5 order by score()")
    scanned, indexed = both(database, text)
    assert {item["Name"] for item in indexed.results} == {item["Name"] for item in scanned.results}
    scores = {item["Name"]: item["@metadata"]["@index-score"] for item in indexed.results}
    assert scores["Chai"] == 2.0 and scores["Chang"] == 1.0
    assert list(scores.values()) == sorted(scores.values(), reverse=True)


def test_unsupported_clauses_name_their_position(database: tuple[StorageSource, IndexRegistry]) -> None:
    source, registry = database
    text = "from Products where PricePerUnit > 1 and search(id(), 'chai')"
    with pytest.raises(InvalidQueryError, match="search\\(\\) works on document fields") as raised:
        run_dynamic(text, {}, source, registry)
    assert raised.value.position == text.index("id()")


@pytest.mark.parametrize("text", [
    "from Products where Discontinued = true",
    "from Products where PricePerUnit between 10 and 20 limit 4, 3",
    "from Products where PricePerUnit > 20 order by PricePerUnit as double desc limit 5",
    "from Products where search(Name, 'chai tea') or Category = 'categories/1-A'",
])
def test_the_page_read_with_the_index_equals_the_one_loaded_by_id(database: tuple[StorageSource, IndexRegistry],
                                                                 text: str) -> None:
    source, registry = database
    elsewhere = StorageSource(source.storage)
    elsewhere.documents_file = None  # a source the index did not attach: it loads the page by id
    before = source.loaded
    joined, loaded = run_dynamic(text, {}, source, registry), run_dynamic(text, {}, elsewhere, registry)
    assert joined.results == loaded.results and joined.total_results == loaded.total_results
    assert 0 < elsewhere.loaded == len(loaded.results) and source.loaded == before


ORDERED = [
    "from Products order by Name",
    "from Products order by PricePerUnit",
    "from Products order by Category desc, UnitsInStock as long, Name",
    "from Companies order by Fax",
    "from Companies order by Fax desc",
    "from Companies order by Fax nulls last",
    "from Companies order by Fax desc nulls first",
    "from Employees order by Extension as long desc",
    "from Orders order by Freight as long, id() desc",
    "from Orders order by Freight as long desc",
    "from Orders where Freight > 10 order by ShipTo.Country, Freight as double desc",
    "from Orders order by id() desc",
    "from Orders order by Employee, OrderedAt desc",
    "from Products where Discontinued = false order by Supplier desc, Name",
]


@pytest.mark.parametrize("text", ORDERED)
@pytest.mark.parametrize("page", ["limit 1", "limit 5", "limit 3, 17", "limit 40 offset 20", "limit 500"])
def test_walking_the_sorted_values_gives_the_full_sort(database: tuple[StorageSource, IndexRegistry],
                                                      monkeypatch: pytest.MonkeyPatch, text: str, page: str) -> None:
    from rookdb.query import indexed

    monkeypatch.setattr(indexed, "DEFAULT_FULL_SORT_LIMIT", 0)  # walk the index's order even for Northwind
    scanned, walked = both(database, f"{text} {page}")
    assert walked.results == scanned.results and walked.total_results == scanned.total_results


MIXED: list[Any] = [
    "12", 12, 12.0, 12.5, -3, 0, True, False, "true", "TRUE", None, [], [1, "a"], ["x", ["y", None]],
    {"x": 1}, [{"x": 1}], "Chang", "CHANG", "chang ", "", " 7", "1e3", "İstanbul", "straße", "\u03b1", 1e300,
    "12.0", "-", "z" * 3,
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    """One document per kind of value at ``V`` (and one without it), each twice in ``W`` as an array."""
    folder: Path = tmp_path_factory.mktemp("mixed")
    storage = SqliteStorage(folder / "db.sqlite3")
    with storage.write() as tx:
        rows = [(f"m/{number}", "Mixed", {"V": value, "W": [value, value], "@metadata": {"@collection": "Mixed"}})
                for number, value in enumerate(MIXED)]
        rows.append(("m/missing", "Mixed", {"@metadata": {"@collection": "Mixed"}}))
        tx.put_many(rows, {})
    registry = IndexRegistry.open(folder / "indexes", storage)
    yield StorageSource(storage), registry
    registry.close()
    storage.close()


TYPED = [
    "V = '12'", "V = 12", "V = 12.0", "V = 'true'", "V = true", "V = false", "V = null", "V != null", "V = ''",
    "V = 'chang'", "exact(V = 'Chang')", "exact(V = 'chang')", "V = 'İstanbul'", "V = 'i̇stanbul'",
    "V in (12, 'a', null)", "V all in (1, 'a')", "W all in (12, '12')", "V = $list", "W = 'y'", "W = null",
    "V > 0", "V >= 12", "V < 12", "V > 'a'", "V < 'Z'", "exact(V < 'Z')", "V between 0 and 12.5",
    "V between 'a' and 'z'", "V > -1e301", "W > 11", "V between 12 and 'z'",
    "startsWith(V, '1')", "startsWith(V, 'TR')", "startsWith(V, '')", "exact(startsWith(V, 'CH'))",
    "startsWith(V, '-')", "endsWith(V, '.0')", "endsWith(V, 'ANG')", "exact(endsWith(V, 'ANG'))", "endsWith(V, '')",
    "regex(V, '^[a-z]')", "regex(V, '1')", "exists(V)", "not exists(V)", "exists(W)", "exists(V.x)", "V.x = 1",
    "not V = 12 and not V = null", "(V = 12 or V = 'chang') and not exact(V = 'CHANG')", "true and not V > 0",
    "id() = 'M/3' or V = 0", "id() > 'm/2' and V != 0",
]


@pytest.mark.parametrize("where", TYPED)
def test_typed_values_match_as_the_scan_does(mixed: tuple[StorageSource, IndexRegistry], where: str) -> None:
    scanned, indexed = both(mixed, f"from Mixed where {where}", {"list": ["12", None]})
    assert [item["@metadata"]["@id"] for item in indexed.results] == \
        [item["@metadata"]["@id"] for item in scanned.results]


@pytest.mark.parametrize("order", ["V", "V desc", "V as long", "V as double desc", "V as alphaNumeric", "W",
                                   "W as double nulls last", "V desc nulls first", "V as string, id() desc"])
@pytest.mark.parametrize("page", ["", "limit 4", "limit 7, 9"])
def test_typed_values_sort_as_the_scan_does(mixed: tuple[StorageSource, IndexRegistry], monkeypatch: pytest.MonkeyPatch,
                                            order: str, page: str) -> None:
    from rookdb.query import indexed as answering

    monkeypatch.setattr(answering, "DEFAULT_FULL_SORT_LIMIT", 0)
    scanned, indexed = both(mixed, f"from Mixed order by {order} {page}")
    assert [item["@metadata"]["@id"] for item in indexed.results] == \
        [item["@metadata"]["@id"] for item in scanned.results]
