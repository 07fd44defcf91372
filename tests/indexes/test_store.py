"""Index files: entries and checkpoint commit together, survive reopening and crashes, record errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from rookdb.errors import StorageError
from rookdb.indexes import plan
from rookdb.indexes.definitions import AutoIndexField, AutoMapDefinition, FieldIndexing, IndexEntry
from rookdb.indexes.files import remove_files
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put

PRODUCTS = AutoMapDefinition("Products", [
    AutoIndexField("Name", ("Name",), frozenset({FieldIndexing.DEFAULT, FieldIndexing.SEARCH})),
    AutoIndexField("Price", ("Price",)),
])


def feed(store: IndexStore, storage: SqliteStorage) -> None:
    store.apply(storage.changes_since(store.checkpoint, 10_000, "Products"), storage.last_etag())


def names(store: IndexStore, condition: plan.Condition) -> list[str]:
    with store.reader() as reader:
        return sorted(reader.ids(reader.documents(condition)).values())


def test_entries_follow_puts_updates_and_deletes(storage: SqliteStorage, folder: Path) -> None:
    folder.mkdir()
    store = IndexStore.create(folder / "p.index.sqlite3", PRODUCTS)
    put(storage, "products/1", Name="Chai", Price=18)
    put(storage, "products/2", Name="Chang", Price=19)
    put(storage, "companies/1", "Companies", Name="Chai")
    feed(store, storage)
    assert store.checkpoint == 3 and store.counters["doc_count"] == 2
    assert names(store, plan.Equals("Name", frozenset({("str", "chai")}))) == ["products/1"]
    put(storage, "products/1", Name="Tea", Price=5)
    delete(storage, "products/2")
    feed(store, storage)
    assert names(store, plan.Equals("Name", frozenset({("str", "chai")}))) == []
    assert names(store, plan.Range("Price", "num", None, 10.0)) == ["products/1"]
    assert names(store, plan.Everything()) == ["products/1"] and store.counters["doc_count"] == 1
    with store.reader() as reader:
        assert reader.scores(plan.FullText("Name", (plan.SearchTerm(("tea",)),))).keys() == {4}  # etag of the update
    store.close()
    reopened = IndexStore.open(folder / "p.index.sqlite3")
    assert reopened.checkpoint == 5 and reopened.definition == PRODUCTS
    assert names(reopened, plan.Everything()) == ["products/1"]
    reopened.close()


class Failing(AutoMapDefinition):
    """Fails on documents named "bad", as a static map can throw."""

    def map(self, document: dict[str, Any]) -> list[IndexEntry]:
        if document.get("Name") == "bad":
            raise ValueError("no bad names")
        return super().map(document)


def test_a_failing_document_is_an_error_and_the_rest_is_indexed(storage: SqliteStorage, folder: Path) -> None:
    folder.mkdir()
    store = IndexStore.create(folder / "f.index.sqlite3", Failing("Products", PRODUCTS.fields))
    for number, name in enumerate(["a", "bad", "c"]):
        put(storage, f"products/{number}", Name=name)
    feed(store, storage)
    assert names(store, plan.Everything()) == ["products/0", "products/2"]
    errors = store.errors()
    assert [(e.document, e.error, e.action) for e in errors] == [("products/1", "ValueError: no bad names", "Map")]
    assert (store.counters["map_attempts"], store.counters["map_successes"], store.counters["map_errors"]) == (3, 2, 1)
    store.clear_errors()
    assert store.errors() == []
    store.close()


CRASH = """
import os, sys
from pathlib import Path
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
storage = SqliteStorage(Path(sys.argv[1]))
store = IndexStore.open(Path(sys.argv[2]))
real = store._writer
class Dying:
    def __getattr__(self, name):
        return getattr(real, name)
    def executemany(self, sql, rows):
        real.executemany(sql, rows)
        if sql.startswith("INSERT OR REPLACE INTO meta"):
            os._exit(3)  # the process dies after writing everything but before COMMIT
    def execute(self, sql, *args):
        return real.execute(sql, *args)
store._writer = Dying()
store.apply(storage.changes_since(0, 100, "Products"), storage.last_etag())
"""


def test_a_crash_mid_batch_leaves_the_index_at_its_checkpoint(storage: SqliteStorage, folder: Path) -> None:
    folder.mkdir()
    path = folder / "c.index.sqlite3"
    IndexStore.create(path, PRODUCTS).close()
    for number in range(5):
        put(storage, f"products/{number}", Name=f"P{number}")
    died = subprocess.run([sys.executable, "-c", CRASH, str(storage.path), str(path)], cwd=Path(__file__).parents[2],
                          capture_output=True, text=True, timeout=60)
    assert died.returncode == 3, died.stderr
    store = IndexStore.open(path)
    assert store.checkpoint == 0 and names(store, plan.Everything()) == []
    feed(store, storage)  # resumes: nothing lost, nothing twice
    assert store.checkpoint == 5 and store.counters["doc_count"] == 5 and len(names(store, plan.Everything())) == 5
    store.close()


def test_unreadable_files_are_refused(folder: Path) -> None:
    folder.mkdir()
    garbage = folder / "g.index.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError):
        IndexStore.open(garbage)
    remove_files(garbage)
    assert list(folder.iterdir()) == []


def test_sorted_orders_are_built_on_demand(storage: SqliteStorage, folder: Path) -> None:
    folder.mkdir()
    store = IndexStore.create(folder / "s.index.sqlite3", PRODUCTS)
    for number in range(20):
        put(storage, f"products/{number}", Name=f"P{number}", Price=number % 7)
    feed(store, storage)
    key = plan.SortKey("Price", "number", descending=True, missing_first=False)
    with store.reader() as reader:
        assert not reader.can_walk(key)
    store.ensure_sorted("Price", "number")
    with store.reader() as reader:
        assert reader.can_walk(key)
        walked = list(reader.ordered(plan.Everything(), key))
    assert [value for _, value in walked] == sorted((n % 7 for n in range(20)), reverse=True)
    with store.snapshot() as db:
        field = store.fields["Price"].id
        explained = " ".join(row[-1] for row in db.execute(
            f"EXPLAIN QUERY PLAN SELECT doc, num FROM slots WHERE field = {field} AND num IS NOT NULL ORDER BY num"))
    assert f"slots_num_{field}" in explained
    store.close()


def segments(store: IndexStore) -> int:
    with store.snapshot() as db:
        table = f"fts_{store.fields['Name'].id}"
        return int(db.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx").fetchone()[0])


def test_full_text_segments_merge_once_enough_rows_were_written(storage: SqliteStorage, folder: Path) -> None:
    folder.mkdir()
    store = IndexStore.create(folder / "m.index.sqlite3", PRODUCTS)
    words = ["chai", "chang", "tea", "syrup", "spice"]
    for batch in range(3):  # each batch commits its own segment
        for number in range(10):
            name = f"{words[number % 5]} {words[(number + batch) % 5]} x{number}"
            put(storage, f"products/{batch}-{number}", Name=name)
        feed(store, storage)
    put(storage, "products/0-0", Name="tea tea")
    delete(storage, "products/1-1")
    feed(store, storage)
    search = plan.FullText("Name", (plan.SearchTerm(("tea",)), plan.SearchTerm(("chai",)), plan.SearchTerm(("x3",))))
    with store.reader() as reader:
        before = reader.scores(search)
        ranked = reader.ranked(search, 2.0, 1, 5)
    assert segments(store) == 4
    assert not store.merge_full_text(minimum_rows=1_000) and segments(store) == 4
    assert store.merge_full_text(minimum_rows=10) and segments(store) == 1
    assert not store.merge_full_text(minimum_rows=10)  # nothing written since
    with store.reader() as reader:
        assert reader.scores(search) == before and reader.ranked(search, 2.0, 1, 5) == ranked
    store.close()
    assert not store.merge_full_text(minimum_rows=0)  # closed: nothing to merge


def test_readers_map_the_database_file_and_follow_it_when_compaction_shrinks_it(
        storage: SqliteStorage, folder: Path) -> None:
    folder.mkdir()
    store = IndexStore.create(folder / "m.index.sqlite3", PRODUCTS)
    store.documents_file = storage.documents_file
    with storage.write() as tx:
        for number in range(300):
            tx.put(f"products/{number}", "Products", {"Name": f"p{number % 3}", "Price": number, "Pad": "x" * 4000,
                                                      "@metadata": {"@collection": "Products"}})
    feed(store, storage)
    condition = plan.Equals("Name", frozenset({("str", "p1")}))
    position, page = store.reader().page_at_position(condition)
    assert position.current and len(page) == 100
    with store.snapshot() as db:  # the same thread's reading connection
        assert db.execute("PRAGMA store.mmap_size").fetchone()[0] > 0
    with storage.write() as tx:
        for number in range(30, 300):
            tx.delete(f"products/{number}")
    feed(store, storage)
    before, after = storage.compact()
    assert after < before / 4  # the mapped file shrank under the connection that mapped it
    position, page = store.reader().page_at_position(condition)
    kept = storage.get_many([f"products/{number}" for number in range(1, 30, 3)])
    stored = [orjson.loads(document.body) for document in kept if document is not None]
    assert len(stored) == 10
    assert position.current and [orjson.loads(body) for _, body in page if body is not None] == stored
    store.close()
