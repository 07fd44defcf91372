"""Plans of plain queries kept per text: they answer as the general path does, are reused while the
table of indexes stays the same and follow it when an index is created, merged, reset or deleted."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query.deadline import NO_DEADLINE
from rookdb.query.dynamic import run_dynamic
from rookdb.query.executor import QueryResult, execute
from rookdb.query.prepared import PreparedQueries
from tests.support.indexing import StorageSource
from tests.support.plain_products import PLAIN
from tests.support.storage import put


class _Counted:
    """The registry's ``covering``, counting its calls: a plan that holds its index does not ask again."""

    def __init__(self, registry: IndexRegistry) -> None:
        self.calls = 0
        self._covering = registry.covering

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self._covering(*args)


def _planned(prepared: PreparedQueries, text: str, parameters: dict[str, Any], source: StorageSource,
             **paging: Any) -> QueryResult | None:
    return prepared.answer(text, parameters, source, start=paging.get("start", 0), page_size=paging.get("page_size"),
                           deadline=NO_DEADLINE)


def _same(planned: QueryResult | None, general: QueryResult) -> None:
    assert planned is not None
    assert (planned.results, planned.total_results, planned.skipped_results) == (
        general.results, general.total_results, general.skipped_results)
    assert (planned.index_name, planned.is_stale, planned.index_timestamp, planned.result_etag) == (
        general.index_name, general.is_stale, general.index_timestamp, general.result_etag)


@pytest.mark.parametrize(("text", "parameters"), PLAIN)
def test_a_plan_answers_as_the_general_path_does(products_index: tuple[StorageSource, IndexRegistry], text: str,
                                                 parameters: dict[str, Any]) -> None:
    source, indexes = products_index
    run_dynamic(text, parameters, source, indexes, wait_for_non_stale=30)  # creates the index
    prepared = PreparedQueries(indexes)
    for _ in range(2):  # made, then reused
        general = run_dynamic(text, parameters, source, indexes)
        _same(_planned(prepared, text, parameters, source), general)
        assert general.results == execute(text, parameters, source).results
    for start, page_size in ((1, 2), (0, 0), (400, 5)):
        general = run_dynamic(text, parameters, source, indexes, start=start, page_size=page_size)
        _same(_planned(prepared, text, parameters, source, start=start, page_size=page_size), general)


def test_a_plan_is_reused_for_every_value_of_its_parameters(products_index: tuple[StorageSource, IndexRegistry],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    source, indexes = products_index
    text = "from Products where Code = $c"
    run_dynamic(text, {"c": 1}, source, indexes, wait_for_non_stale=30)
    counted = _Counted(indexes)
    monkeypatch.setattr(indexes, "covering", counted)
    prepared = PreparedQueries(indexes)
    for value in ["x12", 12, "12", 12.0, " 12 ", "X12", "true", True, None, 7, "7", ["12", 7], "item", 250, "x12"]:
        _same(_planned(prepared, text, {"c": value}, source), run_dynamic(text, {"c": value}, source, indexes))
        assert execute(text, {"c": value}, source).results == run_dynamic(text, {"c": value}, source, indexes).results
    assert len(prepared) == 1
    assert counted.calls == 1 + 15 * 2  # the plan asked once; the general path asks on each of its runs


def test_queries_that_are_not_plain_have_no_plan(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    prepared = PreparedQueries(indexes)
    for text in ("from Products", "from Products where Name = $n select Name", "from Products where search(Name, $n)",
                 "from Products where Name = cmpxchg($n)", "from Products where Name = $n order by count()",
                 "from Products group by Name select count()"):
        assert _planned(prepared, text, {"n": "chai"}, source) is None
    assert _planned(prepared, "from Products where", {}, source) is None  # the general path raises its error
    assert len(prepared) == 6
    assert indexes.indexes() == []  # nothing was created


def test_errors_are_those_of_the_general_path(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Name = $n limit $l"
    run_dynamic(text, {"n": "chai", "l": 1}, source, indexes, wait_for_non_stale=30)
    prepared = PreparedQueries(indexes)
    assert _planned(prepared, text, {"n": "chai", "l": 1}, source) is not None
    for parameters, message in (({"l": 1}, r"\$n"), ({"n": "chai", "l": "ten"}, "limit")):
        with pytest.raises(InvalidQueryError, match=message) as planned:
            _planned(prepared, text, parameters, source)
        with pytest.raises(InvalidQueryError) as general:
            run_dynamic(text, parameters, source, indexes)
        assert str(planned.value) == str(general.value)


def test_a_plan_follows_the_index_that_a_merged_one_replaces(
        products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Name = $n"
    run_dynamic(text, {"n": "chai"}, source, indexes, wait_for_non_stale=30)
    prepared = PreparedQueries(indexes)
    first = _planned(prepared, text, {"n": "chai"}, source)
    assert first is not None and first.index_name == "Auto/Products/ByName"
    run_dynamic("from Products where Name = $n and Price > $lo", {"n": "chai", "lo": 1}, source, indexes,
                wait_for_non_stale=30)  # a merged index (Name and Price)
    indexes.step()  # retires the first, which the merged one covers
    assert [index.name for index in indexes.indexes()] == ["Auto/Products/ByNameAndPrice"]
    for value in ("Chai", "item 4", "konbu"):
        general = run_dynamic(text, {"n": value}, source, indexes)
        _same(_planned(prepared, text, {"n": value}, source), general)
        assert general.index_name == "Auto/Products/ByNameAndPrice"


def test_a_plan_follows_its_index_when_it_is_deleted_or_reset(
        products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Price < $hi"
    run_dynamic(text, {"hi": 20}, source, indexes, wait_for_non_stale=30)
    prepared = PreparedQueries(indexes)
    assert _planned(prepared, text, {"hi": 20}, source) is not None
    indexes.reset("Auto/Products/ByPrice")
    assert _planned(prepared, text, {"hi": 20}, source) is None  # the new file has yet to index: not current
    _same(_planned(prepared, text, {"hi": 20}, source) or run_dynamic(text, {"hi": 20}, source, indexes,
                                                                        wait_for_non_stale=30),
          run_dynamic(text, {"hi": 20}, source, indexes))
    _same(_planned(prepared, text, {"hi": 20}, source), run_dynamic(text, {"hi": 20}, source, indexes))
    assert indexes.delete("Auto/Products/ByPrice")
    assert _planned(prepared, text, {"hi": 20}, source) is None  # no index: the general path creates one
    assert indexes.indexes() == []


def test_a_plan_goes_the_general_way_while_its_index_has_changes_to_apply(
        products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    text = "from Products where Name = $n"
    run_dynamic(text, {"n": "chai"}, source, indexes, wait_for_non_stale=30)
    prepared = PreparedQueries(indexes)
    assert _planned(prepared, text, {"n": "chai"}, source) is not None
    put(source.storage, "products/new", "Products", Name="Chai")
    assert _planned(prepared, text, {"n": "chai"}, source) is None  # nothing read, nothing applied
    caught_up = run_dynamic(text, {"n": "chai"}, source, indexes)  # applies the small lag itself
    _same(_planned(prepared, text, {"n": "chai"}, source), caught_up)
    assert caught_up.total_results == 2


def test_plans_are_bounded(products_index: tuple[StorageSource, IndexRegistry]) -> None:
    source, indexes = products_index
    prepared = PreparedQueries(indexes, size=3)
    for n in range(10):
        _planned(prepared, f"from Products where Price < {n}", {}, source)
        assert len(prepared) <= 3
