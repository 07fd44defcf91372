"""Static map indexes over a real database: related documents re-index their loaders, several collections
are followed, created fields appear, failures stay per document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rookdb.indexes import plan
from rookdb.indexes.index import Index
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put


def index_of(folder: Path, **definition: Any) -> Index:
    folder.mkdir(exist_ok=True)
    compiled = StaticIndexDefinition.compile({"Name": "I", "Fields": {}, **definition})
    return Index(IndexStore.create(folder / "i.index.sqlite3", compiled))


def feed(index: Index, storage: SqliteStorage) -> None:
    while index.catch_up(storage, 3):  # small batches: several rounds, merged feeds cut short
        pass


def matching(index: Index, condition: plan.Condition) -> list[str]:
    with index.store.reader() as reader:
        return sorted(reader.ids(reader.documents(condition)).values())


def equals(field: str, value: str) -> plan.Equals:
    return plan.Equals(field, frozenset({("str", value)}))


def test_a_changed_or_deleted_related_document_reindexes_its_loaders(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "categories/1", "Categories", Name="Beverages")
    for number in range(1, 6):
        put(storage, f"products/{number}", Name=f"P{number}", Category=f"categories/{1 + number % 2}")
    index = index_of(folder, Maps=["from p in docs.Products let c = LoadDocument(p.Category, \"Categories\") "
                                   "select new { p.Name, Category = c.Name }"])
    feed(index, storage)
    assert matching(index, equals("Category", "beverages")) == ["products/2", "products/4"]
    put(storage, "categories/2", "Categories", Name="Condiments")  # created after its loaders
    put(storage, "categories/1", "Categories", Name="Drinks")
    assert index.is_stale(storage)
    feed(index, storage)
    assert matching(index, equals("Category", "drinks")) == ["products/2", "products/4"]
    assert matching(index, equals("Category", "condiments")) == ["products/1", "products/3", "products/5"]
    delete(storage, "categories/1")
    put(storage, "products/4", Name="P4", Category="categories/2")
    feed(index, storage)
    assert matching(index, plan.Equals("Category", frozenset({("null",)}))) == ["products/2"]
    assert matching(index, equals("Category", "condiments")) == ["products/1", "products/3", "products/4",
                                                                 "products/5"]
    assert index.store.counters["doc_count"] == 5 and not index.is_stale(storage)


def test_several_collections_and_deletes(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "products/1", Name="Chai")
    put(storage, "categories/1", "Categories", Name="Chai")
    put(storage, "orders/1", "Orders", Name="Chai")
    index = index_of(folder, Maps=["from p in docs.Products select new { p.Name }",
                                   "docs.Categories.Select(c => new { c.Name })"])
    feed(index, storage)
    assert matching(index, equals("Name", "chai")) == ["categories/1", "products/1"]
    delete(storage, "categories/1")
    feed(index, storage)
    assert matching(index, equals("Name", "chai")) == ["products/1"]


def test_created_and_stored_fields(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "products/1", Attributes={"Color": "Red", "Size": 3}, Name="Chai")
    index = index_of(folder, Maps=["from p in docs.Products select new { p.Name, "
                                   "_ = p.Attributes.Select(a => CreateField(a.Key, a.Value, true, true)) }"],
                     Fields={"Name": {"Storage": "Yes"}})
    feed(index, storage)
    with index.store.reader() as reader:
        found = reader.documents(plan.FullText("Color", (plan.SearchTerm(("red",)),)))
        assert reader.stored(found) == {found[0]: {"Name": "Chai", "Color": "Red", "Size": 3}}
    assert matching(index, plan.Range("Size", "num", 2.0, None)) == ["products/1"]


def test_a_failing_map_records_the_document_and_indexes_the_rest(storage: SqliteStorage, folder: Path) -> None:
    put(storage, "products/1", Name="Chai")
    put(storage, "products/2", Name=7)
    index = index_of(folder, Maps=["from p in docs.Products select new { Lower = p.Name.ToLower() }"])
    feed(index, storage)
    assert matching(index, plan.Everything()) == ["products/1"]
    (error,) = index.store.errors()
    assert error.document == "products/2" and "ToLower" in error.error
    assert (index.store.counters["map_successes"], index.store.counters["map_errors"]) == (1, 1)


def test_an_entry_whose_every_value_is_null_is_left_out(storage: SqliteStorage, folder: Path) -> None:
    # RavenDB does not index empty entries (Indexing.IndexEmptyEntries is off): a facet or a "= null"
    # query over `docs` never sees documents of other shapes.
    put(storage, "cameras/1", "Cameras", maker="Sony", model=None)
    put(storage, "facets/1", "FacetSetups", Facets=[])
    index = index_of(folder, Maps=["from c in docs select new { c.maker, c.model }"])
    feed(index, storage)
    assert matching(index, plan.Everything()) == ["cameras/1"]
    assert matching(index, plan.Equals("model", frozenset({("null",)}))) == ["cameras/1"]
