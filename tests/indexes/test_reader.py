"""Reading an index snapshot: full-text pages ranked best first, value matches in document order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from rookdb.indexes import plan
from rookdb.indexes.definitions import AutoIndexField, AutoMapDefinition, FieldIndexing
from rookdb.indexes.reader import SnapshotPosition
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put

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


@pytest.fixture
def attached(storage: SqliteStorage, folder: Path) -> Iterator[IndexStore]:
    """The index of ``store`` with the database file attached, as the registry opens it."""
    folder.mkdir()
    store = IndexStore.create(folder / "a.index.sqlite3", PRODUCTS)
    store.documents_file = storage.documents_file
    for number, name in enumerate(NAMES):
        put(storage, f"Products/{number}", Name=name, Cat=f"c{number % 3}")
    store.apply(storage.changes_since(0, 100, "Products"), storage.last_etag())
    yield store
    store.close()


@pytest.mark.parametrize(("skip", "take"), [(0, None), (1, 2), (0, 0), (3, 10), (9, None)])
def test_a_page_comes_with_its_documents_as_stored_now(attached: IndexStore, storage: SqliteStorage,
                                                       skip: int, take: int | None) -> None:
    put(storage, "Products/1", Name="changed since indexed", Cat="c1")  # the index still holds the old version
    delete(storage, "Products/4")
    condition = plan.Equals("Cat", frozenset({("str", "c1")}))
    with attached.reader() as reader:
        documents = reader.documents(condition, skip, take)
        page = reader.page(condition, skip, take)
        ids = reader.ids(documents)
        bodies = reader.bodies(reversed(documents))
    assert [doc for doc, _ in page] == documents  # deleted ones keep their place: the page's count is the index's
    assert dict(page) == bodies and set(bodies) == set(documents)
    expected = {doc: None if stored is None else stored.body
                for doc, stored in zip(documents, storage.get_many([ids[doc] for doc in documents]), strict=True)}
    assert bodies == expected
    if skip == 0 and take is None:
        assert [orjson.loads(body)["Name"] if body else None for _, body in page] == \
            ["changed since indexed", None, "tea chai"]


def test_a_reader_without_the_database_file_reads_no_documents(store: IndexStore) -> None:
    with store.reader() as reader:
        assert reader.documents_file is None


def test_a_current_snapshot_reads_documents_by_their_number(attached: IndexStore, storage: SqliteStorage) -> None:
    condition = plan.Equals("Cat", frozenset({("str", "c1")}))
    with attached.reader() as reader:
        by_id = reader.page(condition)
        position = reader.position()
        assert position == SnapshotPosition(storage.last_etag(), attached.last_indexed, storage.last_etag())
        assert position.current and reader.document_count == len(NAMES)
        assert reader.page(condition) == by_id and reader.bodies([doc for doc, _ in by_id]) == dict(by_id)
    put(storage, "Products/1", Name="changed since indexed", Cat="c1")
    with attached.reader() as reader:
        position = reader.position()
        assert position.database_etag == storage.last_etag()
        assert not position.current and position.checkpoint < position.database_etag
        page = dict(reader.page(condition))  # numbers are no longer all etags: documents are read by id
    assert [orjson.loads(body or b"{}").get("Name") for body in page.values()] == \
        ["changed since indexed", "chai", "tea chai"]


def test_a_snapshot_without_the_database_file_cannot_tell_whether_it_is_current(store: IndexStore) -> None:
    with store.reader() as reader:
        position = reader.position()
    assert position.database_etag is None and not position.current and position.checkpoint > 0


@pytest.mark.parametrize("renumbered", [False, True])
def test_documents_are_read_by_row_id_checked_by_etag(attached: IndexStore, storage: SqliteStorage,
                                                      renumbered: bool) -> None:
    # The database keeps each document under its etag as row id, and a current snapshot reads it there.
    # A file written before that, or a VACUUM free to renumber rows, leaves rows elsewhere: here each
    # row sits at the next one's etag, so a lookup by row id alone would find its neighbour.
    assert storage.documents_file is not None
    if renumbered:
        with sqlite3.connect(storage.documents_file) as raw:
            raw.execute("UPDATE documents SET rowid = rowid + 1000000")
            raw.execute("UPDATE documents SET rowid = rowid - 999999")
        assert storage._read("SELECT count(*) FROM documents WHERE rowid = etag") == [(0,)]
    names = {doc: orjson.loads(body)["Name"] for doc, body in
             storage._read("SELECT etag, body FROM documents WHERE lower_collection = 'products'")}
    condition = plan.Equals("Cat", frozenset({("str", "c1")}))
    position, page = attached.reader().page_at_position(condition)
    assert position.current and [doc for doc, _ in page] == [2, 5, 8]
    assert [orjson.loads(body or b"{}").get("Name") for _, body in page] == [names[2], names[5], names[8]]
    attached.ensure_sorted("Cat", "text")
    with attached.reader() as reader:
        assert reader.position().current
        assert reader.page(condition) == page
        bodies: dict[int, bytes | None] = {}
        walked = [doc for doc, _ in reader.ordered(plan.Everything(), plan.SortKey("Cat", "text"), bodies)]
    assert sorted(walked) == sorted(names) and {doc: orjson.loads(body or b"{}").get("Name")
                                                for doc, body in bodies.items()} == names
