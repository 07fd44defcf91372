"""Auto-indexes over real SQLite storage: naming, following the change feed, restarts, errors, staleness.

Text is embedded by a small deterministic stand-in (hashed words) so that these tests stay fast; the
embedded model itself is used by the documents-layer and HTTP tests.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest
from ravendb.documents.indexes.definitions import IndexDefinition

from rookdb.ai.embeddings.layout import section_fingerprint
from rookdb.errors import AiUnavailableError, InvalidQueryError
from rookdb.indexes.vector.auto_indexes import DEFINITIONS_FILE, AutoIndexConfig, AutoIndexDefinition, AutoIndexes
from rookdb.indexes.vector.field_index import FieldIndex, GraphSettings
from rookdb.indexes.vector.vectorizer import DocumentVectorizer, SectionFingerprint
from rookdb.query import parse_query
from rookdb.query.index_names import index_fields, index_name, vector_field_specs
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put

DIMENSIONS = 32
GRAPH = GraphSettings(m=12, ef_construction=16)


class WordEmbedder:
    """Hashes words into a unit vector; records every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.failures = 0

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self.failures:
            self.failures -= 1
            raise AiUnavailableError("model is loading")
        self.calls.append(list(texts))
        rows = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                rows[row, hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % DIMENSIONS] += 1.0
        normalized: npt.NDArray[np.float32] = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        return normalized


class TaskVectors:
    """What an embeddings task stored, by (collection, task, source id, field), and of other generations
    by (collection, task, generation, source id, field)."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str, str, str], list[npt.NDArray[np.float32]]] = {}
        self.generations: dict[tuple[str, str, int, str, str], list[npt.NDArray[np.float32]]] = {}
        self.reads: list[tuple[int, str]] = []
        self.on_read: Callable[[int, str], None] = lambda generation, source_id: None

    def __call__(self, collection: str, task: str, generation: int, source_id: str, field: str
                 ) -> list[npt.NDArray[np.float32]]:
        self.reads.append((generation, source_id))
        self.on_read(generation, source_id)
        if generation:
            return self.generations.get((collection, task, generation, source_id, field), [])
        return self.stored.get((collection, task, source_id, field), [])


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


def open_indexes(tmp_path: Path, storage: SqliteStorage, embedder: WordEmbedder | None = None,
                 tasks: TaskVectors | None = None, generations: Callable[[str], tuple[int, ...]] = lambda task: (0,),
                 pace: Callable[[], None] = lambda: None, fingerprint: SectionFingerprint | None = None,
                 **config: Any) -> AutoIndexes:
    vectorizer = DocumentVectorizer(embedder or WordEmbedder(), tasks or TaskVectors(), fingerprint)
    settings = AutoIndexConfig(graph=config.pop("graph", GRAPH), **config)
    return AutoIndexes.open(tmp_path / "indexes", storage, vectorizer, settings, generations=generations, pace=pace)


def wanted(rql: str, parameters: dict[str, Any] | None = None) -> AutoIndexDefinition:
    query = parse_query(rql)
    return AutoIndexDefinition(index_name(query, parameters or {}), query.source.name or "",
                               tuple(index_fields(query, parameters or {})),
                               tuple(vector_field_specs(query, parameters or {})))


def ensure(indexes: AutoIndexes, rql: str, parameters: dict[str, Any] | None = None) -> AutoIndexDefinition:
    definition, _ = indexes.ensure(wanted(rql, parameters))
    return definition


def field_of(indexes: AutoIndexes, rql: str, parameters: dict[str, Any] | None = None) -> FieldIndex:
    return indexes.field(vector_field_specs(parse_query(rql), parameters or {})[0])


def catch_up(indexes: AutoIndexes) -> int:
    steps = 1
    while indexes.index_step():
        steps += 1
    return steps


def best(found: dict[str, float]) -> str:
    return next(iter(found))


def search(field: FieldIndex, vector: Any, allowed: Sequence[str] | None = None, **options: Any) -> dict[str, float]:
    settings = {"minimum_similarity": 0.0, "number_of_candidates": 16, "exact": False, "scanning_threshold": 1024}
    return field.search([np.asarray(vector, dtype=np.float32)], allowed_ids=allowed, **{**settings, **options})


TAGS = "from Products where vector.search(Tags, $v)"
NAME = "from Products where vector.search(embedding.text(Name), $q)"


# ---- definitions -----------------------------------------------------------------------------


def test_names_follow_ravendb_and_fields_are_shared(tmp_path: Path, storage: SqliteStorage) -> None:
    indexes = open_indexes(tmp_path, storage)
    plain, created = indexes.ensure(wanted(NAME))
    assert created and plain.name == "Auto/Products/ByVector.search(embedding.text(Name))"
    assert indexes.ensure(wanted(NAME)) == (plain, False)
    filtered = ensure(indexes, "from Products where vector.search(embedding.text(Name), $q) and PricePerUnit > 5")
    assert filtered.name == "Auto/Products/ByPricePerUnitAndVector.search(embedding.text(Name))"
    assert filtered.fields == ("PricePerUnit", "Vector.search(embedding.text(Name))")
    assert indexes.field(plain.vector_fields[0]) is indexes.field(filtered.vector_fields[0])
    saved = orjson.loads((tmp_path / "indexes" / DEFINITIONS_FILE).read_bytes())
    assert [item["Name"] for item in saved] == [plain.name, filtered.name]


def test_two_vector_fields_and_a_task_field(tmp_path: Path, storage: SqliteStorage) -> None:
    indexes = open_indexes(tmp_path, storage)
    both = ensure(indexes, "from Companies where vector.search(embedding.text(Name), $a) or "
                           "vector.search(embedding.text(Address.Country), $b)")
    assert both.name == ("Auto/Companies/ByVector.search(embedding.text(Address.Country))"
                         "AndVector.search(embedding.text(Name))")
    assert len(both.vector_fields) == 2
    task = ensure(indexes, "from Categories where vector.search(embedding.text(Name, ai.task('t-1')), $q)")
    assert task.name == "Auto/Categories/ByVector.search(embedding.text(Name|ai.task('t-1')))"


def test_only_collection_queries(tmp_path: Path, storage: SqliteStorage) -> None:
    indexes = open_indexes(tmp_path, storage)
    with pytest.raises(InvalidQueryError, match="collection query"):
        ensure(indexes, "from @all_docs where vector.search(Tags, $v)")


# ---- following the change feed ----------------------------------------------------------------


def test_new_changed_and_deleted_documents(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0, 0])
    put(storage, "products/2", Tags=[0, 1, 0])
    put(storage, "orders/1", "Orders", Tags=[1, 0, 0])
    indexes = open_indexes(tmp_path, storage)
    definition = ensure(indexes, TAGS)
    field = field_of(indexes, TAGS)
    assert indexes.is_stale(definition)
    catch_up(indexes)
    assert not indexes.is_stale(definition)
    assert list(search(field, [1, 0.1, 0])) == ["products/1", "products/2"]

    put(storage, "products/2", Tags=[1, 0.05, 0])  # now the closer one
    put(storage, "products/3", Tags=[0, 0, 1])
    assert indexes.is_stale(definition)
    catch_up(indexes)
    assert best(search(field, [1, 0.05, 0])) == "products/2"
    delete(storage, "products/2")
    catch_up(indexes)
    assert "products/2" not in search(field, [1, 0.05, 0])
    assert field.document_count == 2

    put(storage, "orders/2", "Orders", Tags=[0, 1, 0])  # other collections do not make it stale
    assert not indexes.is_stale(definition)


def test_documents_without_the_field_are_not_indexed(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0])
    put(storage, "products/2", Name="no vector")
    indexes = open_indexes(tmp_path, storage)
    ensure(indexes, TAGS)
    catch_up(indexes)
    put(storage, "products/1", Name="vector removed")
    catch_up(indexes)
    assert field_of(indexes, TAGS).document_count == 0


def test_text_is_embedded_once_per_batch(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Name="Mozzarella di Giovanni")
    put(storage, "products/2", Name=["Chai tea", "black tea"])
    put(storage, "products/3", Name="")
    embedder = WordEmbedder()
    indexes = open_indexes(tmp_path, storage, embedder)
    ensure(indexes, NAME)
    catch_up(indexes)
    assert embedder.calls == [["Mozzarella di Giovanni", "Chai tea", "black tea"]]
    field = field_of(indexes, NAME)
    query = embedder(["black tea"])[0]
    assert best(search(field, query)) == "products/2"  # the document's best vector counts
    assert len(field.vectors_of("PRODUCTS/2")) == 2 and field.vectors_of("products/3") == []


def test_batches_are_bounded(tmp_path: Path, storage: SqliteStorage) -> None:
    for number in range(5):
        put(storage, f"products/{number}", Tags=[number, 1.0])
    indexes = open_indexes(tmp_path, storage, batch_size=2)
    definition = ensure(indexes, TAGS)
    assert indexes.index_step() and indexes.is_stale(definition)
    assert field_of(indexes, TAGS).document_count == 2
    assert catch_up(indexes) == 2
    assert field_of(indexes, TAGS).document_count == 5 and not indexes.is_stale(definition)


# ---- persistence -------------------------------------------------------------------------------


def test_resumes_from_its_checkpoint_after_a_restart(tmp_path: Path, storage: SqliteStorage) -> None:
    for number in range(20):
        put(storage, f"products/{number}", Name=f"product number {number}")
    indexes = open_indexes(tmp_path, storage)
    definition = ensure(indexes, NAME)
    catch_up(indexes)
    indexes.save(force=True)
    position = field_of(indexes, NAME).position

    embedder = WordEmbedder()
    reopened = open_indexes(tmp_path, storage, embedder)
    assert [d.name for d in reopened.definitions()] == [definition.name]
    field = field_of(reopened, NAME)
    assert field.position == position and field.document_count == 20
    assert not reopened.is_stale(definition)  # nothing to rebuild
    put(storage, "products/new", Name="brand new")
    catch_up(reopened)
    assert embedder.calls == [["brand new"]]
    assert best(search(field, embedder(["brand new"])[0])) == "products/new"
    assert "products/7" in search(field, embedder(["product number 7"])[0])


def test_changes_after_the_last_save_are_replayed(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0])
    indexes = open_indexes(tmp_path, storage)
    ensure(indexes, TAGS)
    catch_up(indexes)
    indexes.save(force=True)
    put(storage, "products/2", Tags=[0, 1])
    delete(storage, "products/1")
    catch_up(indexes)  # applied, but never saved: a crash now loses only this progress

    reopened = open_indexes(tmp_path, storage)
    field = field_of(reopened, TAGS)
    assert field.document_count == 1  # the saved state
    catch_up(reopened)
    assert list(search(field, [1, 0])) == ["products/2"]


def test_other_graph_settings_rebuild_the_index(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0])
    indexes = open_indexes(tmp_path, storage)
    definition = ensure(indexes, TAGS)
    catch_up(indexes)
    indexes.save(force=True)
    reopened = open_indexes(tmp_path, storage, graph=GraphSettings(m=16, ef_construction=16))
    assert field_of(reopened, TAGS).position == 0 and reopened.is_stale(definition)
    catch_up(reopened)
    assert list(search(field_of(reopened, TAGS), [1, 0])) == ["products/1"]


# ---- errors --------------------------------------------------------------------------------------


def test_bad_documents_are_recorded_and_skipped(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0, 0])
    put(storage, "products/2", Tags=True)
    put(storage, "products/3", Tags=[1, 0])
    put(storage, "products/4", Tags=[[1, 0, 0], [1, 0]])
    indexes = open_indexes(tmp_path, storage)
    ensure(indexes, TAGS)
    catch_up(indexes)
    assert field_of(indexes, TAGS).document_count == 1
    listed = indexes.describe()[0]
    assert listed["ErrorsCount"] == 3
    errors = {error["Document"]: error["Error"] for error in listed["Errors"]}
    assert "is a boolean" in errors["products/2"]
    assert "has 2 dimensions but field 'Tags' has 3" in errors["products/3"]
    assert "different lengths" in errors["products/4"]


def test_a_failing_model_is_retried(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Name="Chai")
    embedder = WordEmbedder()
    embedder.failures = 1
    indexes = open_indexes(tmp_path, storage, embedder, error_backoff=0.0)
    definition = ensure(indexes, NAME)
    assert indexes.index_step()  # failed: still busy, position kept
    assert indexes.is_stale(definition) and field_of(indexes, NAME).position == 0
    catch_up(indexes)
    assert not indexes.is_stale(definition) and field_of(indexes, NAME).document_count == 1
    assert "model is loading" in indexes.describe()[0]["Errors"][0]["Error"]


# ---- task fields ---------------------------------------------------------------------------------


def test_task_fields_follow_the_embeddings_collection(tmp_path: Path, storage: SqliteStorage) -> None:
    tasks = TaskVectors()
    indexes = open_indexes(tmp_path, storage, tasks=tasks)
    rql = "from Products where vector.search(embedding.text(Name, ai.task('t')), $q)"
    definition = ensure(indexes, rql)
    field = field_of(indexes, rql)
    put(storage, "products/1", Name="Chai")
    catch_up(indexes)
    assert field.document_count == 0  # the task has not embedded it yet

    tasks.stored[("Products", "t", "products/1", "Name")] = [np.asarray([1, 0], dtype=np.float32)]
    put(storage, "embeddings/products/1", "@embeddings/Products", t={"Name": ["hash"]})
    assert indexes.is_stale(definition)
    catch_up(indexes)
    assert list(search(field, [1, 0])) == ["products/1"]
    delete(storage, "products/1")
    catch_up(indexes)
    assert field.document_count == 0


def test_an_embeddings_document_rewritten_with_the_same_vectors_is_not_indexed_again(tmp_path: Path,
                                                                                      storage: SqliteStorage) -> None:
    tasks = TaskVectors()
    indexes = open_indexes(tmp_path, storage, tasks=tasks, generations=lambda task: (0, 1))
    rql = "from Products where vector.search(embedding.text(Name, ai.task('t')), $q)"
    ensure(indexes, rql)
    spec = vector_field_specs(parse_query(rql), {})[0]
    serving = indexes.field(spec)

    def rewrite_all() -> int:
        """Bytes of the serving index's files after the embeddings documents are written again."""
        for number in range(3):
            put(storage, f"embeddings/products/{number}", "@embeddings/Products", t={"Name": ["hash"]},
                g1={"Name": ["other"]})
        catch_up(indexes)
        serving.save()
        return sum(path.stat().st_size for path in (tmp_path / "indexes").iterdir() if "-g1" not in path.name)

    for number in range(3):
        put(storage, f"products/{number}", Name="Chai")
        tasks.stored[("Products", "t", f"products/{number}", "Name")] = [np.asarray([1, number], dtype=np.float32)]
        tasks.generations[("Products", "t", 1, f"products/{number}", "Name")] = [np.asarray([0, 1], dtype=np.float32)]
    first = rewrite_all()
    assert serving.document_count == 3 and indexes.field(spec, 1).document_count == 3
    # A migration rewrites the documents for its own generation (or a clean-up, for another): the
    # serving vectors did not change, so the serving index does no work and does not grow.
    assert rewrite_all() == first
    tasks.stored[("Products", "t", "products/2", "Name")] = [np.asarray([2, 1], dtype=np.float32)]
    assert rewrite_all() > first  # a changed one is indexed again (its old row stays, removed)
    assert best(search(serving, [2, 1])) == "products/2" and serving.document_count == 3


def test_a_rewrite_that_keeps_the_served_vectors_is_skipped_without_reading_them(tmp_path: Path,
                                                                                 storage: SqliteStorage) -> None:
    tasks = TaskVectors()
    indexes = open_indexes(tmp_path, storage, tasks=tasks, generations=lambda task: (0, 1),
                           fingerprint=section_fingerprint)
    rql = "from Products where vector.search(embedding.text(Name, ai.task('t')), $q)"
    ensure(indexes, rql)
    spec = vector_field_specs(parse_query(rql), {})[0]
    serving = indexes.field(spec)

    def write(number: int, served: str, **staged: Any) -> None:
        put(storage, f"embeddings/products/{number}", "@embeddings/Products",
            t={"@quantization": "Single", "Name": [served]}, **staged)

    def served_reads() -> list[str]:
        return [source_id for generation, source_id in tasks.reads if generation == 0]

    for number in range(3):
        put(storage, f"products/{number}", Name="Chai")
        tasks.stored[("Products", "t", f"products/{number}", "Name")] = [np.asarray([1, number], dtype=np.float32)]
        write(number, f"served-{number}")
        tasks.generations[("Products", "t", 1, f"products/{number}", "Name")] = [np.asarray([0, 1], dtype=np.float32)]
    catch_up(indexes)
    assert serving.document_count == 3 and len(served_reads()) == 3
    # The next generation is written beside the served one: the serving index reads nothing back.
    for number in range(3):
        write(number, f"served-{number}", **{"t@1": {"@quantization": "Single", "@generation": 1,
                                                    "Name": [f"next-{number}"]}})
    catch_up(indexes)
    assert len(served_reads()) == 3 and indexes.field(spec, 1).document_count == 3
    # Served vectors that change are read and indexed; so is any change of the source document.
    tasks.stored[("Products", "t", "products/2", "Name")] = [np.asarray([2, 1], dtype=np.float32)]
    write(2, "served-2-changed")
    put(storage, "products/1", Name="Chai tea")
    catch_up(indexes)
    assert sorted(served_reads()[3:]) == ["products/1", "products/2"]
    assert best(search(serving, [2, 1])) == "products/2"
    # After a change of its source, a document's next rewrite is read once, then known again.
    delete(storage, "products/0")
    write(1, "served-1")
    catch_up(indexes)
    assert serving.document_count == 2 and served_reads()[5:] == ["products/1"]
    write(1, "served-1", **{"t@1": {"@quantization": "Single", "@generation": 1, "Name": ["next-1"]}})
    catch_up(indexes)
    assert served_reads()[6:] == [] and serving.document_count == 2


def test_a_rewrite_is_not_skipped_when_the_vectors_read_came_from_a_later_version(tmp_path: Path,
                                                                                  storage: SqliteStorage) -> None:
    tasks = TaskVectors()
    indexes = open_indexes(tmp_path, storage, tasks=tasks, fingerprint=section_fingerprint)
    rql = "from Products where vector.search(embedding.text(Name, ai.task('t')), $q)"
    ensure(indexes, rql)
    serving = indexes.field(vector_field_specs(parse_query(rql), {})[0])
    key = ("Products", "t", "products/1", "Name")

    def write(served: str, vector: list[float]) -> None:
        put(storage, "embeddings/products/1", "@embeddings/Products", t={"@quantization": "Single", "Name": [served]})
        tasks.stored[key] = [np.asarray(vector, dtype=np.float32)]

    put(storage, "products/1", Name="Chai")
    write("a", [1, 0])

    def overtaken(generation: int, source_id: str) -> None:
        tasks.on_read = lambda generation, source_id: None
        write("b", [0, 1])  # written after the feed was read, before the vectors are

    tasks.on_read = overtaken
    catch_up(indexes)  # indexes the vectors of version "b" from the change of version "a"
    write("a", [1, 0])  # back to "a": it must be read, not taken for what the index holds
    catch_up(indexes)
    assert best(search(serving, [1, 0])) == "products/1"
    assert search(serving, [1, 0])["products/1"] > 0.99


def test_a_task_field_builds_the_next_generation_beside_the_serving_one(tmp_path: Path, storage: SqliteStorage
                                                                         ) -> None:
    tasks = TaskVectors()
    live: list[tuple[int, ...]] = [(0,)]
    indexes = open_indexes(tmp_path, storage, tasks=tasks, generations=lambda task: live[0])
    rql = "from Products where vector.search(embedding.text(Name, ai.task('t')), $q)"
    ensure(indexes, rql)
    spec = vector_field_specs(parse_query(rql), {})[0]
    put(storage, "products/1", Name="Chai")
    tasks.stored[("Products", "t", "products/1", "Name")] = [np.asarray([1, 0], dtype=np.float32)]
    tasks.generations[("Products", "t", 1, "products/1", "Name")] = [np.asarray([0, 0, 1], dtype=np.float32)]
    catch_up(indexes)
    assert not indexes.generation_current("t", 1)  # no index of generation 1 yet
    live[0] = (0, 1)
    assert not indexes.generation_current("t", 1)  # opened, not indexed
    put(storage, "embeddings/products/1", "@embeddings/Products", t={"Name": ["hash"]})
    catch_up(indexes)
    assert indexes.generation_current("t", 1)
    assert indexes.field(spec).dimensions == 2 and indexes.field(spec, 1).dimensions == 3  # serving: generation 0
    assert list(search(indexes.field(spec, 1), [0, 0, 1])) == ["products/1"]
    indexes.save(force=True)
    before = set((tmp_path / "indexes").iterdir())
    live[0] = (1,)
    catch_up(indexes)
    assert indexes.field(spec).generation == 1 and indexes.field(spec).dimensions == 3
    with pytest.raises(InvalidQueryError):
        indexes.field(spec, 0)
    gone = before - set((tmp_path / "indexes").iterdir())
    assert gone and all("-g1" not in path.name for path in gone)


def test_the_next_generation_is_built_in_paced_small_batches_and_saved_rarely(tmp_path: Path,
                                                                              storage: SqliteStorage) -> None:
    tasks, paced = TaskVectors(), []
    indexes = open_indexes(tmp_path, storage, tasks=tasks, generations=lambda task: (0, 1),
                           pace=lambda: paced.append(1), building_batch_size=4, save_interval=3600.0)
    rql = "from Products where vector.search(embedding.text(Name, ai.task('t')), $q)"
    ensure(indexes, rql)
    spec = vector_field_specs(parse_query(rql), {})[0]
    for number in range(10):
        put(storage, f"products/{number}", Name="Chai")
        tasks.stored[("Products", "t", f"products/{number}", "Name")] = [np.asarray([1, 0], dtype=np.float32)]
        tasks.generations[("Products", "t", 1, f"products/{number}", "Name")] = [np.asarray([0, 1], dtype=np.float32)]
    steps = catch_up(indexes)
    assert indexes.field(spec).document_count == 10 and indexes.field(spec, 1).document_count == 10
    assert steps == 3 and len(paced) == 3  # 10 documents in batches of 4, each batch after yielding
    indexes.save(idle=True)
    assert not indexes.field(spec).dirty and indexes.field(spec, 1).dirty  # a fresh serving build is saved at once
    indexes.save(force=True)
    assert not indexes.field(spec, 1).dirty


# ---- searching, waiting, listing -----------------------------------------------------------------


def test_filtered_search_keeps_to_the_allowed_documents(tmp_path: Path, storage: SqliteStorage) -> None:
    rng = np.random.default_rng(7)
    for number in range(300):
        put(storage, f"products/{number}", Tags=rng.standard_normal(8).tolist())
    indexes = open_indexes(tmp_path, storage)
    ensure(indexes, TAGS)
    catch_up(indexes)
    field = field_of(indexes, TAGS)
    allowed = [f"products/{number}" for number in range(0, 300, 7)]
    query = rng.standard_normal(8)
    found = search(field, query, allowed, number_of_candidates=5)
    assert len(found) == 5 and set(found) <= set(allowed)
    exact = search(field, query, allowed, number_of_candidates=5, exact=True)
    assert found == pytest.approx(exact)


def test_waiting_for_the_indexing_thread(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0])
    indexes = open_indexes(tmp_path, storage)
    definition = ensure(indexes, TAGS)
    assert not indexes.wait_until_current(definition, timeout=0.05)  # nobody indexes
    worker = threading.Thread(target=catch_up, args=(indexes,))
    worker.start()
    assert indexes.wait_until_current(definition, timeout=10)
    worker.join()


def test_listing_is_an_index_definition_the_client_reads(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Name="Chai", PricePerUnit=18)
    indexes = open_indexes(tmp_path, storage)
    ensure(indexes, "from Products where vector.search(embedding.text_i8(Name), $q) and PricePerUnit > 1")
    catch_up(indexes)
    listed = indexes.describe()[0]
    definition = IndexDefinition.from_json(listed)
    assert definition.name == "Auto/Products/ByPricePerUnitAndVector.search(embedding.text_i8(Name))"
    assert (listed["Type"], listed["IsStale"], listed["EntriesCount"]) == ("AutoMap", False, 1)
    vector = listed["Fields"]["Vector.search(embedding.text_i8(Name))"]["Vector"]
    assert vector == {"SourceEmbeddingType": "Text", "DestinationEmbeddingType": "Int8", "Dimensions": DIMENSIONS,
                      "NumberOfEdges": 12, "NumberOfCandidatesForIndexing": 16, "SourceFieldName": "Name",
                      "TaskIdentifier": None}


def test_a_fresh_build_is_saved_when_indexing_goes_idle(tmp_path: Path, storage: SqliteStorage) -> None:
    put(storage, "products/1", Tags=[1, 0])
    indexes = open_indexes(tmp_path, storage, save_interval=3600.0)
    ensure(indexes, TAGS)
    assert not indexes.index_step()
    field = field_of(indexes, TAGS)
    indexes.save(idle=False)
    assert field.dirty  # busy threads save only every save_interval
    indexes.save(idle=True)
    assert not field.dirty
    put(storage, "products/2", Tags=[0, 1])
    indexes.index_step()
    indexes.save(idle=True)
    assert field.dirty  # saved once already: now the interval applies


def test_a_damaged_definitions_file_starts_empty(tmp_path: Path, storage: SqliteStorage) -> None:
    (tmp_path / "indexes").mkdir()
    (tmp_path / "indexes" / DEFINITIONS_FILE).write_text("{not json")
    indexes = open_indexes(tmp_path, storage)
    assert indexes.definitions() == []
    assert (tmp_path / "indexes" / f"{DEFINITIONS_FILE}.damaged").exists()
    ensure(indexes, TAGS)  # queries recreate what they need
    assert [d.name for d in open_indexes(tmp_path, storage).definitions()] == ["Auto/Products/ByVector.search(Tags)"]
