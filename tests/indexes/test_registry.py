"""The registry: RavenDB's auto-index matching and merging, retirement, deletion, reset and restarts."""

from __future__ import annotations

from pathlib import Path

from rookdb.indexes import plan
from rookdb.indexes.definitions import AutoIndexField, FieldIndexing
from rookdb.indexes.registry import IndexingConfig, IndexRegistry, index_file_name
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import put


def field(name: str, use: FieldIndexing = FieldIndexing.DEFAULT) -> AutoIndexField:
    return AutoIndexField(name, (name,), frozenset({use}))


def fill(storage: SqliteStorage, count: int) -> None:
    with storage.write() as tx:
        tx.put_many([(f"products/{n}", "Products", {"Name": f"P{n}", "Price": n, "Cat": f"c{n % 3}",
                                                    "@metadata": {"@collection": "Products"}})
                     for n in range(count)], {})


def names(registry: IndexRegistry) -> list[str]:
    return [index.name for index in registry.indexes()]


def test_queries_reuse_covering_indexes_and_merge_new_fields(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 30)
    registry = IndexRegistry.open(folder, storage)
    with registry.for_query("Products", [field("Name")]) as first:
        assert (first.index.name, first.created, first.stale) == ("Auto/Products/ByName", True, False)
    with registry.for_query("products", [field("Name")]) as again:
        assert again.index is first.index and not again.created
    with registry.for_query("Products", [field("Price"), field("Name", FieldIndexing.SEARCH)]) as merged:
        assert merged.index.name == "Auto/Products/ByNameAndPriceAndSearch(Name)" and merged.created
    assert names(registry) == ["Auto/Products/ByName", "Auto/Products/ByNameAndPriceAndSearch(Name)"]
    registry.step()  # the merged index is current: the one it covers goes
    assert names(registry) == ["Auto/Products/ByNameAndPriceAndSearch(Name)"]
    assert not (folder / index_file_name("Auto/Products/ByName")).exists()
    with registry.for_query("Products", [field("Name")]) as covered:
        assert covered.index.name == "Auto/Products/ByNameAndPriceAndSearch(Name)" and not covered.created
    with registry.for_query(None, [field("Name")]) as everywhere:
        assert everywhere.index.name == "Auto/AllDocs/ByName"
    registry.close()


def test_the_old_index_serves_until_the_merged_one_caught_up(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 40)
    registry = IndexRegistry.open(folder, storage, IndexingConfig(batch_size=10, new_index_wait=0))
    registry.for_query("Products", [field("Name")], wait=30).__enter__()
    with registry.for_query("Products", [field("Cat")]) as merged:
        assert merged.created and merged.stale  # it did not wait: the build goes on in the background
    with registry.for_query("Products", [field("Name")]) as old:
        assert old.index.name == "Auto/Products/ByName"  # the most up to date index that covers the query
    while registry.step():
        pass
    assert names(registry) == ["Auto/Products/ByCatAndName"]
    registry.close()


def test_indexes_with_vector_fields_are_matched_by_name_only(storage: SqliteStorage, folder: Path) -> None:
    registry = IndexRegistry.open(folder, storage)
    vector = "Vector.search(embedding.text(Name))"
    with registry.for_query("Products", [field("Price")]) as plain:
        assert plain.index.name == "Auto/Products/ByPrice"
    with registry.for_query("Products", [], [vector]) as alone:
        assert alone.index.name == f"Auto/Products/By{vector}"
    with registry.for_query("Products", [field("Price")], [vector]) as filtered:
        assert filtered.index.name == f"Auto/Products/ByPriceAnd{vector}"
    with registry.for_query("Products", [field("Name")]) as other:
        assert other.index.name == "Auto/Products/ByNameAndPrice"  # vector indexes are never merged into
    registry.step()
    assert names(registry) == ["Auto/Products/ByNameAndPrice", f"Auto/Products/ByPriceAnd{vector}",
                               f"Auto/Products/By{vector}"]
    registry.close()


def test_restarts_resume_from_the_checkpoint_without_rebuilding(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 20)
    registry = IndexRegistry.open(folder, storage)
    with registry.for_query("Products", [field("Price")]):
        pass
    registry.close()
    put(storage, "products/late", Price=99)
    reopened = IndexRegistry.open(folder, storage)
    index = reopened.indexes()[0]
    assert index.checkpoint == 20 and index.is_stale(storage)
    attempts = index.store.counters["map_attempts"]
    assert not reopened.step()
    assert index.store.counters["map_attempts"] == attempts + 1  # only the new document was mapped
    with index.reader() as reader:
        assert reader.count(plan.Range("Price", "num", 50.0, None)) == 1
    reopened.close()


def test_delete_reset_and_damaged_files(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 5)
    registry = IndexRegistry.open(folder, storage)
    with registry.for_query("Products", [field("Name")]) as query:
        name = query.index.name
    reset = registry.reset(name)
    assert reset is not None and reset.checkpoint == 0 and reset.is_stale(storage)
    registry.step()
    assert reset.checkpoint == 5
    assert registry.delete(name) and not registry.delete(name) and registry.reset(name) is None
    assert names(registry) == [] and list(folder.iterdir()) == []
    registry.close()
    (folder / index_file_name("Auto/Products/ByBroken")).write_bytes(b"garbage" * 100)
    (folder / f"{index_file_name('Auto/Products/ByGone')}.deleted").write_bytes(b"")
    reopened = IndexRegistry.open(folder, storage)
    assert names(reopened) == [] and list(folder.iterdir()) == []
    reopened.close()


def static(name: str, map_text: str, **extra: object) -> StaticIndexDefinition:
    return StaticIndexDefinition.compile({"Name": name, "Maps": [map_text], **extra})


BY_PRICE = "from p in docs.Products select new { p.Price }"
BY_DOUBLE_PRICE = "from p in docs.Products select new { Price = p.Price * 2 }"


def prices(registry: IndexRegistry, name: str, low: float) -> int:
    with registry.named(name, wait=10) as chosen, chosen.index.reader() as reader:
        return reader.count(plan.Range("Price", "num", low, None))


def test_a_redefinition_is_built_side_by_side_and_swapped_in(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 30)
    registry = IndexRegistry.open(folder, storage)
    first = registry.put(static("Products/ByPrice", BY_PRICE))
    assert registry.put(static("Products/ByPrice", BY_PRICE)) is first  # identical: nothing happens
    locked = registry.put(static("Products/ByPrice", BY_PRICE, LockMode="LockedIgnore"))
    assert locked is first and isinstance(first.definition, StaticIndexDefinition)
    assert first.definition.wire["LockMode"] == "LockedIgnore"  # same entries: changed in place
    registry.step()
    assert prices(registry, "Products/ByPrice", 40) == 0
    building = registry.put(static("Products/ByPrice", BY_DOUBLE_PRICE))
    assert building is not first
    assert [name for name, _ in registry.named_indexes()] == ["Products/ByPrice", "ReplacementOf/Products/ByPrice"]
    assert prices(registry, "Products/ByPrice", 40) == 0  # queries keep the old one until the new one caught up
    registry.step()
    assert [name for name, _ in registry.named_indexes()] == ["Products/ByPrice"]
    assert prices(registry, "Products/ByPrice", 40) == 10 and first.retired
    assert sorted(path.name for path in folder.glob("*.index.sqlite3")) == [index_file_name("Products/ByPrice")]
    registry.close()
    reopened = IndexRegistry.open(folder, storage)
    assert prices(reopened, "Products/ByPrice", 40) == 10
    reopened.close()


def test_an_interrupted_swap_finishes_at_the_next_start(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 10)
    registry = IndexRegistry.open(folder, storage)
    registry.put(static("Products/ByPrice", BY_PRICE))
    registry.put(static("Products/ByPrice", BY_DOUBLE_PRICE))
    registry.close()
    (folder / index_file_name("Products/ByPrice")).unlink()  # as if the old file was deleted, then a crash
    reopened = IndexRegistry.open(folder, storage)
    assert [name for name, _ in reopened.named_indexes()] == ["Products/ByPrice"]
    assert prices(reopened, "Products/ByPrice", 10) == 5
    reopened.close()


def test_disabled_and_paused_indexes_are_not_fed(storage: SqliteStorage, folder: Path) -> None:
    registry = IndexRegistry.open(folder, storage)
    index = registry.put(static("Products/ByPrice", BY_PRICE))
    registry.set_state("Products/ByPrice", "Disabled")
    fill(storage, 5)
    registry.step()
    assert index.checkpoint == 0
    registry.set_state("Products/ByPrice", "Normal")
    registry.pause()
    registry.step()
    assert index.checkpoint == 0 and not registry.running(index)
    registry.resume()
    registry.step()
    assert index.checkpoint == storage.last_etag()
    registry.close()
    assert IndexRegistry.open(folder, storage).get("Products/ByPrice") is not None


def test_a_query_learns_in_its_snapshot_whether_its_index_is_current(storage: SqliteStorage, folder: Path) -> None:
    fill(storage, 10)
    registry = IndexRegistry.open(folder, storage, IndexingConfig(inline_catch_up=2))
    with registry.for_query("Products", [field("Name")]) as first:
        assert first.created and first.stale is False
    put(storage, "products/new", Name="New")
    new = plan.Equals("Name", frozenset({("str", "new")}))
    with registry.for_query("Products", [field("Name")]) as chosen, chosen.snapshot() as snapshot:
        assert chosen.stale is None  # decided in the snapshot, where the database's last etag is read too
        assert not snapshot.stale and snapshot.checkpoint == storage.last_etag()  # it applied the small lag
        assert snapshot.reader.documents(new) == [storage.last_etag()]
        assert snapshot.timestamp == chosen.index.store.last_indexed
    for number in range(3):  # more than a query applies itself
        put(storage, f"products/later{number}", Name="later")
    with registry.for_query("Products", [field("Name")]) as chosen, chosen.snapshot() as snapshot:
        assert snapshot.stale and snapshot.checkpoint == chosen.index.checkpoint < storage.last_etag()
    old = chosen.index
    registry.reset("Auto/Products/ByName")  # the query shape's choice is learnt again
    with registry.for_query("Products", [field("Name")], wait=30) as again, again.snapshot() as snapshot:
        assert again.index is not old and not again.created and not snapshot.stale
        assert snapshot.checkpoint == storage.last_etag()
    registry.close()
