"""Reading an index snapshot: full-text pages ranked best first, value matches in document order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.indexes import plan
from rookdb.indexes.definitions import AutoIndexField, AutoMapDefinition, FieldIndexing
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import put

PRODUCTS = AutoMapDefinition("Products", [
    AutoIndexField("Name", ("Name",), frozenset({FieldIndexing.DEFAULT, FieldIndexing.SEARCH})),
    AutoIndexField("Cat", ("Cat",)),
])
NAMES = ["tea", "tea chai", "chai", "tea tea", "chai", "tea", "syrup", "tea chai", "chai tea", "tea"]


@pytest.fixture
def store(storage: SqliteStorage, folder: Path) -> Iterator[IndexStore]:
    folder.mkdir()
    store = IndexStore.create(folder / "r.index.sqlite3", PRODUCTS)
    for number, name in enumerate(NAMES):
        put(storage, f"products/{number}", Name=name, Cat=f"c{number % 3}")
    store.apply(storage.changes_since(0, 100, "Products"), storage.last_etag())
    yield store
    store.close()


@pytest.mark.parametrize(("boost", "skip", "take"), [(1.0, 0, 3), (2.5, 2, 4), (1.0, 0, None), (0.5, 5, None),
                                                     (1.0, 0, 0), (1.0, 20, 5)])
def test_full_text_pages_are_the_best_first_with_ties_in_document_order(
        store: IndexStore, boost: float, skip: int, take: int | None) -> None:
    search = plan.FullText("Name", (plan.SearchTerm(("tea",)), plan.SearchTerm(("chai",))))
    with store.reader() as reader:
        scores = reader.scores(search)
        page, total = reader.ranked(search, boost, skip, take)
    best = sorted(scores, key=lambda doc: (-scores[doc] * boost, doc))
    expected = best[skip:] if take is None else best[skip : skip + take]
    assert page == [(doc, scores[doc] * boost) for doc in expected] and total == 9
    assert len({round(score, 9) for score in scores.values()}) < len(scores)  # ties to break


@pytest.mark.parametrize(("condition", "skip", "take"), [
    (plan.Equals("Cat", frozenset({("str", "c1")})), 1, 2),
    (plan.Equals("Cat", frozenset({("str", "c1"), ("str", "c2")})), 0, 4),
    (plan.Or((plan.Equals("Cat", frozenset({("str", "c0")})), plan.FullText("Name", (plan.SearchTerm(("syrup",)),)))),
     1, None),
    (plan.Not(plan.Equals("Cat", frozenset({("str", "c0")}))), 2, 3),
])
def test_value_matches_come_in_document_order(store: IndexStore, condition: plan.Condition, skip: int,
                                              take: int | None) -> None:
    with store.reader() as reader:
        everything = reader.documents(condition)
        assert everything == sorted(everything) and len(everything) == reader.count(condition)
        end = None if take is None else skip + take
        assert reader.documents(condition, skip, take) == everything[skip:end]
