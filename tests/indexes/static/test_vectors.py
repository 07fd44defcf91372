"""Static indexes' vector graphs are saved beside the index file under its vector version: a restart loads
them instead of rebuilding, a stale save is rebuilt, and they go and move with the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rookdb.indexes.files import companion_directory
from rookdb.indexes.index import Index
from rookdb.indexes.registry import IndexRegistry
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.indexes.store import IndexStore
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put

MAP = "from p in docs.Products select new { p.Name, V = CreateVector(p.Vec) }"


def vectors_of(index: Index) -> StaticIndexDefinition:
    definition = index.definition
    assert isinstance(definition, StaticIndexDefinition)
    return definition


def nearest(index: Index, query: list[float]) -> list[str]:
    """The ids a graph search of ``V`` finds, best first (loading the graphs first, as a query does)."""
    definition = vectors_of(index)
    definition.vectors.ensure_loaded(index.store.path)
    field = definition.vectors.field("V")
    assert field is not None
    found = field.search([np.array(query, np.float32)], minimum_similarity=0.5, number_of_candidates=16,
                         exact=False, allowed_ids=None, scanning_threshold=0)
    return list(found)


def seed(storage: SqliteStorage) -> None:
    put(storage, "products/1", Name="x", Vec=[1.0, 0.0, 0.0])
    put(storage, "products/2", Name="y", Vec=[0.0, 1.0, 0.0])
    put(storage, "products/3", Name="z", Vec=[0.0, 0.0, 1.0])


def built(storage: SqliteStorage, folder: Path) -> Index:
    """An index of the seeded products, caught up."""
    folder.mkdir()
    seed(storage)
    index = Index(IndexStore.create(folder / "i.index.sqlite3", StaticIndexDefinition.compile({"Name": "I",
                                                                                               "Maps": [MAP]})))
    index.catch_up(storage)
    return index


def open_index(path: Path) -> Index:
    return Index(IndexStore.open(path))


def saved_generation(path: Path) -> int:
    manifests = list(companion_directory(path).glob("*.manifest.json"))
    assert len(manifests) == 1
    return int(json.loads(manifests[0].read_bytes())["generation"])


def test_a_reopened_index_loads_its_saved_graph(storage: SqliteStorage, folder: Path) -> None:
    index = built(storage, folder)
    path = index.store.path
    before = nearest(index, [0.0, 1.0, 0.1])
    assert before[0] == "products/2"
    assert vectors_of(index).vectors.rebuilds == 0  # built by the batches, not from the file
    index.retire(delete=False)  # closing saves the graph
    generation = saved_generation(path)
    reopened = open_index(path)
    assert nearest(reopened, [0.0, 1.0, 0.1]) == before
    assert vectors_of(reopened).vectors.rebuilds == 0
    reopened.retire(delete=False)
    assert saved_generation(path) == generation  # nothing changed: nothing saved again


def test_a_graph_saved_before_later_batches_is_rebuilt(storage: SqliteStorage, folder: Path) -> None:
    index = built(storage, folder)
    path = index.store.path
    nearest(index, [1.0, 0.0, 0.0])
    index.store.persist()  # an idle save, then more batches and a crash (closed without saving)
    put(storage, "products/4", Name="w", Vec=[0.0, 0.6, 0.8])
    delete(storage, "products/3")
    index.catch_up(storage)
    index.store.close(persist=False)
    reopened = open_index(path)
    assert nearest(reopened, [0.0, 0.0, 1.0]) == ["products/4", "products/2", "products/1"]  # 3 is gone
    assert vectors_of(reopened).vectors.rebuilds == 1
    reopened.retire(delete=False)  # the rebuilt graph is saved: the next start loads it
    again = open_index(path)
    assert nearest(again, [0.0, 0.0, 1.0]) == ["products/4", "products/2", "products/1"]
    assert vectors_of(again).vectors.rebuilds == 0
    again.retire(delete=False)


def test_a_graph_saved_with_other_options_is_rebuilt(storage: SqliteStorage, folder: Path) -> None:
    index = built(storage, folder)
    path = index.store.path
    nearest(index, [1.0, 0.0, 0.0])
    index.retire(delete=False)
    manifest = next(companion_directory(path).glob("*.manifest.json"))
    manifest.write_bytes(manifest.read_bytes().replace(b'"m": ', b'"m": 1'))  # damaged or other edges
    reopened = open_index(path)
    assert nearest(reopened, [1.0, 0.0, 0.1])[0] == "products/1"
    assert vectors_of(reopened).vectors.rebuilds == 1
    reopened.retire(delete=False)


def test_the_registry_deletes_resets_and_swaps_the_saved_graphs(storage: SqliteStorage, folder: Path) -> None:
    seed(storage)
    registry = IndexRegistry.open(folder, storage)
    registry.put(StaticIndexDefinition.compile({"Name": "Products/ByVec", "Maps": [MAP]}))
    while registry.step():
        pass
    index = registry.get("Products/ByVec")
    assert index is not None and nearest(index, [1.0, 0.0, 0.0])[0] == "products/1"
    path = index.store.path
    registry.close()
    assert companion_directory(path).is_dir()

    registry = IndexRegistry.open(folder, storage)
    # A redefinition (vectors from another field) is built side by side; its graph goes with its file.
    put(storage, "products/1", Name="x", Vec=[1.0, 0.0, 0.0], Other=[-1.0, 0.0, 0.0])
    other = "from p in docs.Products select new { p.Name, V = CreateVector(p.Other ?? p.Vec) }"
    registry.put(StaticIndexDefinition.compile({"Name": "Products/ByVec", "Maps": [other]}))
    while registry.step():
        pass
    swapped = registry.get("Products/ByVec")
    assert swapped is not None and swapped is not index and swapped.store.path == path
    assert "Other" in vectors_of(swapped).wire["Maps"][0]
    assert [item.name for item in folder.iterdir() if item.name.endswith(".saved")] == [path.name + ".saved"]
    registry.close()
    registry = IndexRegistry.open(folder, storage)
    swapped = registry.get("Products/ByVec")
    assert swapped is not None and nearest(swapped, [-1.0, 0.0, 0.0])[0] == "products/1"  # the new vectors
    assert vectors_of(swapped).vectors.rebuilds == 0

    reset = registry.reset("Products/ByVec")
    assert reset is not None and not companion_directory(path).exists()
    while registry.step():
        pass
    assert nearest(reset, [-1.0, 0.0, 0.0])[0] == "products/1"
    reset.store.persist()
    assert companion_directory(path).is_dir()
    assert registry.delete("Products/ByVec")
    assert not companion_directory(path).exists() and not path.exists()
    registry.close()
