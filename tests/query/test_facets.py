"""Facet queries over Northwind's auto-indexes, checked against counts made from the documents themselves."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query.dynamic import run_dynamic
from rookdb.query.facets import ALL_RESULTS, NULL_VALUE
from rookdb.storage.base import DocumentStorage
from tests.support import northwind
from tests.support.indexing import StorageSource, indexed_documents, write_northwind

Database = tuple[StorageSource, IndexRegistry]
SETUP = {
    "Facets": [{"FieldName": "Category", "DisplayFieldName": None, "Aggregations": {},
                "Options": {"Start": 1, "PageSize": 2, "TermSortMode": "CountDesc", "IncludeRemainingTerms": True}}],
    "RangeFacets": [{"DisplayFieldName": "Prices", "Ranges": ["PricePerUnit < 20", "PricePerUnit >= 20"],
                     "Aggregations": {"Sum": [{"Name": "UnitsInStock", "DisplayName": None}]}, "Options": None}],
    "@metadata": {"@collection": "FacetSetups"},
}


def _write(storage: DocumentStorage) -> None:
    write_northwind(storage)
    with storage.write() as tx:
        tx.put_many([("facets/products", "FacetSetups", SETUP)], {})


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with indexed_documents(tmp_path_factory.mktemp("facets"), _write) as opened:
        yield opened


def _facets(database: Database, text: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    source, registry = database
    result = run_dynamic(text, parameters or {}, source, registry, wait_for_non_stale=15)
    assert result.index_name.startswith("Auto/")
    return {facet["Name"]: facet for facet in orjson.loads(orjson.dumps(result.results))}


def _products() -> list[dict[str, Any]]:
    return [doc for doc in northwind.documents() if doc["@metadata"]["@collection"] == "Products"]


def test_counts_by_field_in_term_order(database: Database) -> None:
    result = _facets(database, "from Products select facet(Category)")["Category"]
    expected = collections.Counter(doc["Category"].lower() for doc in _products())
    assert [(value["Range"], value["Count"]) for value in result["Values"]] == sorted(expected.items())
    assert all(value["Name"] is None and value["Sum"] is None for value in result["Values"])
    assert (result["RemainingTermsCount"], result["RemainingHits"], result["RemainingTerms"]) == (0, 0, [])


def test_aggregations_over_the_matches(database: Database) -> None:
    result = _facets(database, "from Products where PricePerUnit > 20 select facet(Supplier, sum(PricePerUnit), "
                               "max(PricePerUnit), avg(UnitsInStock) as Stock, min(UnitsInStock) as Stock) as S")["S"]
    matches = [doc for doc in _products() if doc["PricePerUnit"] > 20]
    by_supplier = collections.defaultdict(list)
    for doc in matches:
        by_supplier[doc["Supplier"].lower()].append(doc)
    prices = [value for value in result["Values"] if value["Name"] == "PricePerUnit"]
    stocks = [value for value in result["Values"] if value["Name"] == "Stock"]
    assert [value["Range"] for value in prices] == sorted(by_supplier) == [value["Range"] for value in stocks]
    for price, stock in zip(prices, stocks, strict=True):
        docs = by_supplier[price["Range"]]
        assert price["Count"] == stock["Count"] == len(docs)
        assert price["Sum"] == pytest.approx(sum(doc["PricePerUnit"] for doc in docs))
        assert price["Max"] == max(doc["PricePerUnit"] for doc in docs) and price["Min"] is None
        assert stock["Average"] == pytest.approx(sum(doc["UnitsInStock"] for doc in docs) / len(docs))
        assert stock["Min"] == min(doc["UnitsInStock"] for doc in docs) and stock["Sum"] is None


def test_ranges_keep_their_order_and_empty_ranges(database: Database) -> None:
    result = _facets(database, "from Products select facet(PricePerUnit < $low, PricePerUnit between $low and 50, "
                               "PricePerUnit > 50 and PricePerUnit <= 100, PricePerUnit > 1000)",
                     {"low": 10})["PricePerUnit"]
    prices = [doc["PricePerUnit"] for doc in _products()]
    assert [(value["Range"], value["Count"]) for value in result["Values"]] == [
        ("PricePerUnit < 10", sum(p < 10 for p in prices)),
        ("PricePerUnit between 10 and 50", sum(10 <= p <= 50 for p in prices)),
        ("PricePerUnit > 50 and PricePerUnit <= 100", sum(50 < p <= 100 for p in prices)),
        ("PricePerUnit > 1000", 0)]


@pytest.mark.parametrize(("options", "expected"), [
    ({"TermSortMode": "CountDesc"}, lambda counts: sorted(counts, key=lambda t: (-counts[t], t))),
    ({"TermSortMode": "CountAsc", "Start": 2}, lambda counts: sorted(counts, key=lambda t: (counts[t], t))[2:]),
    ({"TermSortMode": "ValueDesc", "PageSize": 3}, lambda counts: sorted(counts, reverse=True)[:3]),
    ({"Start": 1, "PageSize": 2, "IncludeRemainingTerms": True}, lambda counts: sorted(counts)[1:3]),
])
def test_options_sort_and_page_the_terms(database: Database, options: dict[str, Any], expected: Any) -> None:
    result = _facets(database, "from Products select facet(Category, $o)", {"o": options})["Category"]
    counts = collections.Counter(doc["Category"].lower() for doc in _products())
    shown = expected(counts)
    assert [value["Range"] for value in result["Values"]] == shown
    start = options.get("Start", 0)
    assert result["RemainingTermsCount"] == len(counts) - start - len(shown)
    everything = sorted(counts) if "TermSortMode" not in options else None
    if everything is not None:
        assert result["RemainingTerms"] == everything[start + len(shown):]
        assert result["RemainingHits"] == sum(counts[term] for term in everything[start + len(shown):])


def test_all_results_and_null_values(database: Database) -> None:
    results = _facets(database, "from Companies where Address.Country = 'Germany' "
                                "select facet(sum(Address.Location.Latitude)), facet(Address.Region)")
    germans = [doc for doc in northwind.documents()
               if doc["@metadata"]["@collection"] == "Companies" and doc["Address"]["Country"] == "Germany"]
    every = results[ALL_RESULTS]["Values"]
    assert [(value["Range"], value["Count"]) for value in every] == [(ALL_RESULTS, len(germans))]
    # A document without the value counts as 0, as RavenDB's field cache reads it.
    assert every[0]["Sum"] == pytest.approx(sum((doc["Address"]["Location"] or {}).get("Latitude") or 0
                                                for doc in germans))
    regions = {value["Range"]: value["Count"] for value in results["Address.Region"]["Values"]}
    assert regions.get(NULL_VALUE) == sum(doc["Address"]["Region"] is None for doc in germans)


def test_a_setup_document_supplies_facets_and_options(database: Database) -> None:
    results = _facets(database, "from Products select facet(id('facets/products'))")
    counts = collections.Counter(doc["Category"].lower() for doc in _products())
    by_count = sorted(counts, key=lambda t: (-counts[t], t))
    category = results["Category"]
    assert [value["Range"] for value in category["Values"]] == by_count[1:3]
    assert category["RemainingTerms"] == by_count[3:]
    prices = results["Prices"]["Values"]
    assert [(value["Range"], value["Name"]) for value in prices] == [
        ("PricePerUnit < 20", "UnitsInStock"), ("PricePerUnit >= 20", "UnitsInStock")]
    assert prices[0]["Sum"] == sum(doc["UnitsInStock"] for doc in _products() if doc["PricePerUnit"] < 20)


@pytest.mark.parametrize(("text", "parameters", "message"), [
    ("from Products select facet(id('facets/none'))", {}, "does not exist"),
    ("from Products select facet(Category, $o)", {"o": {"TermSortMode": "Sideways"}}, "TermSortMode"),
    ("from Products select facet(Category, $o)", {"o": 3}, "must be an object"),
    ("from Products select facet(Category, $o)", {"o": {"Start": -1}}, "must not be negative"),
    ("from Products select facet(PricePerUnit = 3)", {}, "Unsupported operator"),
    ("from Products select facet(PricePerUnit < 3, UnitsInStock > 4)", {}, "same field"),
])
def test_bad_facets_are_invalid_queries(database: Database, text: str, parameters: dict[str, Any],
                                        message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        _facets(database, text, parameters)
