"""Plain dynamic queries take the shorter path once their auto-index exists and is current, with the
results, ordering, errors and staleness reports of the general path."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query.deadline import NO_DEADLINE
from rookdb.query.dynamic import run_dynamic
from rookdb.query.executor import execute
from rookdb.query.parser import parse_query
from rookdb.query.plain import PlainQuery, plain_query, run_plain
from tests.support.indexing import StorageSource
from tests.support.plain_products import PLAIN
from tests.support.storage import put


def _plain(text: str) -> PlainQuery:
    found = plain_query(text, parse_query(text))
    assert found is not None
    return found


def _shorter(text: str, parameters: dict[str, Any], source: StorageSource, indexes: IndexRegistry,
             **paging: Any) -> Any:
    return run_plain(_plain(text), parameters, source, indexes, start=paging.get("start", 0),
                     page_size=paging.get("page_size"), order_by_score=True, deadline=NO_DEADLINE)


@pytest.mark.parametrize(("text", "parameters"), PLAIN)
def test_the_shorter_path_answers_as_a_scan_does(products_index: tuple[StorageSource, IndexRegistry], text: str,
                                                 parameters: dict[str, Any]) -> None:
    source, indexes = products_index
    general = run_dynamic(text, parameters, source, indexes, wait_for_non_stale=30)  # creates the index
    shorter = _shorter(text, parameters, source, indexes)
    assert shorter is not None
    scanned = execute(text, parameters, source)
    assert shorter.results == scanned.results == general.results
    assert shorter.total_results == scanned.total_results == general.total_results
    assert (shorter.index_name, shorter.result_etag, shorter.index_timestamp, shorter.is_stale) == (
        general.index_name, general.result_etag, general.index_timestamp, False)


def test_paging_from_the_request(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Price < $hi"
    general = run_dynamic(text, {"hi": 20}, source, indexes, start=5, page_size=3, wait_for_non_stale=30)
    shorter = _shorter(text, {"hi": 20}, source, indexes, start=5, page_size=3)
    assert shorter is not None and (shorter.results, shorter.total_results) == (general.results, general.total_results)


@pytest.mark.parametrize("text", [
    "from Products", "from Products where id() = 'products/1'", "from index 'Auto/Products/ByName'",
    "from Products where search(Name, $n)", "from Products where Name = $n select Name",
    "from Products where Name = $n include Tags", "from Products where boost(Name = $n, 2)",
    "from Products where Name = $n order by score()", "from Products group by Name select count()",
    "from Products where lucene(Name, $n)", "from Products where Name = $n include timings()",
    "from Products as p where p.Name = $n select { N: p.Name }",
])
def test_other_queries_are_not_plain(text: str) -> None:
    assert plain_query(text, parse_query(text)) is None


def test_without_its_index_the_general_path_runs(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    assert _shorter("from Products where Name = $n", {"n": "chai"}, source, indexes) is None
    assert indexes.indexes() == []  # the shorter path creates nothing
    assert run_dynamic("from Products where Name = $n", {"n": "chai"}, source, indexes).total_results == 1


def test_an_index_with_changes_to_apply_goes_the_general_way(
        products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Name = $n"
    run_dynamic(text, {"n": "chai"}, source, indexes, wait_for_non_stale=30)
    put(source.storage, "products/new", "Products", Name="Chai")
    assert _shorter(text, {"n": "chai"}, source, indexes) is None  # nothing read, nothing applied
    caught_up = run_dynamic(text, {"n": "chai"}, source, indexes)  # applies the small lag itself
    assert (caught_up.total_results, caught_up.is_stale) == (2, False)
    assert caught_up.result_etag == source.storage.last_etag()
    again = _shorter(text, {"n": "chai"}, source, indexes)
    assert again is not None and (again.total_results, again.result_etag) == (2, caught_up.result_etag)


def test_errors_are_those_of_the_general_path(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Name = $n"
    run_dynamic(text, {"n": "chai"}, source, indexes, wait_for_non_stale=30)
    with pytest.raises(InvalidQueryError, match=r"\$n"):
        run_dynamic(text, {}, source, indexes)
    with pytest.raises(InvalidQueryError, match="limit"):
        run_dynamic("from Products where Name = $n limit $l", {"n": "chai", "l": "ten"}, source, indexes)


def test_equalities_in_a_row_answer_as_a_scan_does(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    """One text with values of every kind in turn: each answers as the scan does, whatever came before."""
    source, indexes = products_index
    text = "from Products where Code = $c"
    run_dynamic(text, {"c": 1}, source, indexes, wait_for_non_stale=30)
    values: list[Any] = ["x12", 12, "12", 12.0, "X12", "true", True, None, 7, "7", ["12", 7], "item", 250, "x12"]
    for value in values:
        shorter = _shorter(text, {"c": value}, source, indexes)
        scanned = execute(text, {"c": value}, source)
        assert shorter is not None and shorter.results == scanned.results, value
        assert shorter.total_results == scanned.total_results


def test_an_equality_follows_its_index_when_a_merged_one_replaces_it(
        products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Name = $n"
    first = _shorter(text, {"n": "chang"}, source, indexes) or run_dynamic(text, {"n": "chang"}, source, indexes,
                                                                             wait_for_non_stale=30)
    assert _shorter(text, {"n": "chai"}, source, indexes) is not None
    run_dynamic("from Products where Name = $n and Price > $lo", {"n": "chai", "lo": 1}, source, indexes,
                wait_for_non_stale=30)  # a merged index (Name and Price) replaces the first
    for value in ("Chai", "item 4", "konbu"):
        general = run_dynamic(text, {"n": value}, source, indexes, wait_for_non_stale=30)
        shorter = _shorter(text, {"n": value}, source, indexes)
        assert shorter is not None and shorter.index_name == general.index_name != first.index_name
        assert (shorter.results, shorter.total_results) == (execute(text, {"n": value}, source).results, 1)
