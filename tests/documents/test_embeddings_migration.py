"""Moving a task to another connection string: side-by-side generations, the swap, cancel and delete."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings, OpenAiSettings, render_connection_string
from rookdb.ai.embeddings.generations import TaskGenerations
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.background import DEFAULT_YIELD_SECONDS, Foreground
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.querying import run_query
from rookdb.documents.services import DatabaseServices
from rookdb.errors import InUseError, ValidationError
from rookdb.settings import Settings
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.waiting import wait_for

NAMES = ["Chai", "Chang", "Aniseed Syrup", "Mozzarella di Giovanni", "Ravioli Angelo", "Outback Lager",
         "Gnocchi di nonna Alice", "Tofu", "Ikura", "Konbu", "Pavlova", "Geitost"]
SEARCH = "from Products where vector.search(embedding.text(Name, ai.task('names')), $t)"


class WatchedForeground(Foreground):
    """The requests being answered, noting which threads yielded to them."""

    def __init__(self) -> None:
        super().__init__()
        self.yielded: set[str] = set()
        self.paused_holding = 0
        """Pauses made holding something others may wait for (a commit's write lock)."""

    def yield_to(self, limit: float = DEFAULT_YIELD_SECONDS) -> bool:
        self.yielded.add(threading.current_thread().name)
        return super().yield_to(limit)

    def yield_while(self, allowed: Callable[[], bool], limit: float, poll: float = 0.002) -> bool:
        self.paused_holding += 1
        return super().yield_while(allowed, limit, poll)


@pytest.fixture
def catalog(tmp_path: Path, storage_settings: dict[str, str]) -> Iterator[DatabaseCatalog]:
    opened = DatabaseCatalog(tmp_path, Settings({"Ai.Embeddings.MaxBatchSize": 4, **storage_settings}, environ={}))
    opened.foreground = WatchedForeground()  # before any database: its services get this one
    yield opened
    opened.close()


def task_json(connection_string: str, disabled: bool = False) -> dict[str, Any]:
    return render_task_configuration(EmbeddingsGenerationConfiguration(
        name="Names", identifier="names", connection_string_name=connection_string, collection="Products",
        disabled=disabled,
        embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),)))


@pytest.fixture
def db(catalog: DatabaseCatalog, embedding_server: EmbeddingServer) -> DatabaseServices:
    created = catalog.create("Shop")
    created.ai.put_connection_string(render_connection_string(
        AiConnectionString("Embedded", "embedded", "TextEmbeddings", EmbeddedSettings())))
    small = OpenAiSettings(api_key=EMBEDDING_API_KEY, endpoint=embedding_server.url + "/v1",
                           model="text-embedding-3-small", dimensions=256)
    created.ai.put_connection_string(render_connection_string(
        AiConnectionString("Small", "small", "TextEmbeddings", small)))
    created.database.insert_many((f"products/{n}-A", {"Name": name, "@metadata": {"@collection": "Products"}})
                                 for n, name in enumerate(NAMES, start=1))
    return created


def search(db: DatabaseServices, text: str = "italian cheese") -> list[str]:
    result = run_query(db.database, SEARCH, {"t": text}, wait_for_non_stale=30.0, indexes=db.indexes,
                       vectors=db.vectors)
    return [item["@metadata"]["@id"] for item in result.results]


def sections(db: DatabaseServices, source_id: str) -> dict[str, Any]:
    document = db.database.storage.get(f"embeddings/{source_id}")
    return {} if document is None else {key: value for key, value in orjson.loads(document.body).items()
                                        if not key.startswith("@")}


def covered(db: DatabaseServices) -> bool:
    [entry] = db.embeddings.progress()
    return bool(entry["DocumentsProcessed"] == entry["DocumentsTotal"] and entry["State"] == "Idle")


def swapped(db: DatabaseServices, task_id: int, generation: int) -> bool:
    generations = db.ai.generations(task_id)
    return generations.current == generation and not generations.migrating


def index_files(db: DatabaseServices) -> list[str]:
    return sorted(path.name for path in (db.database.directory / "indexes").glob("*-g*"))


def test_a_new_connection_string_is_built_side_by_side_then_swapped_in(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    assert search(db)  # the auto-index of the task field exists before the migration
    db.ai.update_task(task.task_id, task_json("Small"), reset=False)
    wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
    wait_for(lambda: not db.ai.cleanups(), what="the old sections to go")
    for n in range(1, len(NAMES) + 1):
        [(name, section)] = sections(db, f"products/{n}-A").items()
        assert name == "names" and section["@generation"] == 1
    vectors = db.vectors.indexes.field(db.vectors.indexes.definitions()[0].vector_fields[0])
    assert vectors.dimensions == 256 and vectors.generation == 1
    assert search(db)[0] == "products/4-A"
    [entry] = db.embeddings.progress()
    assert entry["Generation"] == 1 and entry["Migration"] is None and entry["ServingConnectionStringName"] == "Small"
    wait_for(lambda: not [name for name in index_files(db) if "-g1" not in name], what="old index files to go")


def test_the_clean_up_yields_to_requests_and_still_finishes_under_a_steady_one(
        catalog: DatabaseCatalog, db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    search(db)
    with catalog.foreground.serving():  # a request in flight the whole time: each wait ends at its limit
        db.ai.update_task(task.task_id, task_json("Small"), reset=False)
        wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
        wait_for(lambda: not db.ai.cleanups(), what="the old sections to go")
    assert isinstance(catalog.foreground, WatchedForeground)
    assert "rookdb-embeddings-cleanup" in catalog.foreground.yielded
    assert all(set(sections(db, f"products/{n}-A")) == {"names"} for n in range(1, len(NAMES) + 1))


def test_the_build_pauses_inside_its_commits_for_requests_and_still_finishes_under_a_steady_one(
        tmp_path: Path, storage_settings: dict[str, str], embedding_server: EmbeddingServer) -> None:
    foreground = WatchedForeground()
    catalog = DatabaseCatalog(tmp_path, Settings({"Ai.Embeddings.MaxBatchSize": 64, **storage_settings}, environ={}))
    catalog.foreground = foreground
    try:
        db = catalog.create("Shop")
        db.ai.put_connection_string(render_connection_string(
            AiConnectionString("Embedded", "embedded", "TextEmbeddings", EmbeddedSettings())))
        db.ai.put_connection_string(render_connection_string(AiConnectionString(
            "Small", "small", "TextEmbeddings", OpenAiSettings(
                api_key=EMBEDDING_API_KEY, endpoint=embedding_server.url + "/v1", model="text-embedding-3-small",
                dimensions=256))))
        count = 40  # a batch of 40 cache entries and 40 embeddings documents: stored in 3 parts
        db.database.insert_many((f"products/{n}-A", {"Name": f"{NAMES[n % len(NAMES)]} {n}",
                                                     "@metadata": {"@collection": "Products"}}) for n in range(count))
        task = db.ai.add_task(task_json("Embedded")).task
        wait_for(lambda: covered(db))
        assert foreground.paused_holding == 0  # the serving generation does not pause
        with foreground.serving():  # a request in flight the whole time: each pause ends at its bound
            db.ai.update_task(task.task_id, task_json("Small"), reset=False)
            wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
        assert foreground.paused_holding >= 2
        wait_for(lambda: not db.ai.cleanups(), what="the old sections to go")
        for n in range(count):
            [(name, section)] = sections(db, f"products/{n}-A").items()
            assert name == "names" and section["@generation"] == 1
    finally:
        catalog.close()


def test_the_latest_search_terms_are_embedded_by_the_new_model_before_the_swap(
        db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    terms = ["italian cheese", "sweet syrup", "dark beer"]
    srv.add_fault("slow", times=None, routes=["openai"], delay=0.3)  # queried while it migrates
    db.ai.update_task(task.task_id, task_json("Small"), reset=False)
    for term in terms:
        assert search(db, term)
    srv.clear_faults()
    wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
    calls = srv.stats()["openai"].requests
    assert [search(db, term)[0] for term in terms] == ["products/4-A", "products/3-A", "products/6-A"]
    assert srv.stats()["openai"].requests == calls  # all three from the cache
    search(db, "seaweed")
    assert srv.stats()["openai"].requests == calls + 1


def test_a_migration_in_progress_serves_the_old_generation(db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    before = search(db)
    srv.add_fault("slow", times=None, routes=["openai"], delay=0.5)  # the migration takes a while
    db.ai.update_task(task.task_id, task_json("Small"), reset=False)
    [entry] = db.embeddings.progress()
    assert entry["ServingConnectionStringName"] == "Embedded" and entry["Migration"]["ConnectionStringName"] == "Small"
    assert entry["Migration"]["FromGeneration"] == 0 and entry["Migration"]["Generation"] == 1
    assert search(db) == before  # the old generation answers
    with pytest.raises(InUseError, match="Names"):
        db.ai.remove_connection_string("Embedded")  # still serving
    srv.clear_faults()
    wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
    assert before and search(db)


def test_going_back_cancels_and_deleting_leaves_nothing(db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    search(db)
    db.ai.set_task_disabled(task, True)  # hold the migration where it is
    db.ai.update_task(task.task_id, task_json("Small", disabled=True), reset=False)
    db.ai.update_task(task.task_id, task_json("Embedded", disabled=True), reset=False)
    assert db.ai.generations(task.task_id) == TaskGenerations(0, last=1)
    db.ai.update_task(task.task_id, task_json("Small", disabled=True), reset=False)
    assert db.ai.generations(task.task_id).current == 2  # never 1 again: its clean-up may be running
    srv.add_fault("slow", times=None, routes=["openai"], delay=0.5)  # still migrating when deleted
    db.ai.set_task_disabled(db.ai.task(task.task_id), False)  # type: ignore[arg-type]
    wait_for(lambda: db.embeddings.progress()[0]["Migration"]["DocumentsProcessed"] > 0, what="the builder")
    assert any("names@2" in sections(db, f"products/{n}-A") for n in range(1, len(NAMES) + 1))
    db.ai.delete_task(task.task_id)
    wait_for(lambda: not db.ai.cleanups(), what="the staged sections to go")
    assert all(set(sections(db, f"products/{n}-A")) <= {"names"} for n in range(1, len(NAMES) + 1))
    assert not db.database.storage.states(f"embeddings/{task.task_id}/")
    wait_for(lambda: not index_files(db), what="the staged index files to go")


def test_a_third_connection_string_mid_migration_drops_the_half_built_generation(
        db: DatabaseServices, srv: EmbeddingServer) -> None:
    tiny = OpenAiSettings(api_key=EMBEDDING_API_KEY, endpoint=srv.url + "/v1",
                          model="text-embedding-3-small", dimensions=128)
    db.ai.put_connection_string(render_connection_string(AiConnectionString("Tiny", "tiny", "TextEmbeddings", tiny)))
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    before = search(db)
    srv.add_fault("slow", times=None, routes=["openai"], delay=0.5)  # "Small" is still building when replaced
    db.ai.update_task(task.task_id, task_json("Small"), reset=False)
    wait_for(lambda: db.embeddings.progress()[0]["Migration"]["DocumentsProcessed"] > 0, what="the first builder")
    db.ai.update_task(task.task_id, task_json("Tiny"), reset=False)
    [entry] = db.embeddings.progress()
    assert entry["ServingConnectionStringName"] == "Embedded"  # the serving generation never changed
    assert entry["Migration"]["ConnectionStringName"] == "Tiny" and entry["Migration"]["Generation"] == 2
    assert search(db) == before
    srv.clear_faults()
    wait_for(lambda: swapped(db, task.task_id, 2), what="the swap to the third connection string")
    wait_for(lambda: not db.ai.cleanups(), what="the dropped and the old sections to go")
    for n in range(1, len(NAMES) + 1):
        [(name, section)] = sections(db, f"products/{n}-A").items()
        assert name == "names" and section["@generation"] == 2
    vectors = db.vectors.indexes.field(db.vectors.indexes.definitions()[0].vector_fields[0])
    assert vectors.dimensions == 128 and vectors.generation == 2
    assert search(db)
    wait_for(lambda: not [name for name in index_files(db) if "-g2" not in name], what="other index files to go")


STATIC_INDEX: dict[str, Any] = {"Name": "Products/ByNameVector",
                "Maps": ['from p in docs.Products select new { Vector = LoadVector("Name", "names") }']}
STATIC_SEARCH = "from index 'Products/ByNameVector' where vector.search(Vector, $t)"
STAGED = "ReplacementOf/Products/ByNameVector"


def static_search(db: DatabaseServices, text: str = "italian cheese") -> list[str]:
    result = run_query(db.database, STATIC_SEARCH, {"t": text}, wait_for_non_stale=30.0, indexes=db.indexes,
                       vectors=db.vectors)
    return [item["@metadata"]["@id"] for item in result.results]


def listed(db: DatabaseServices) -> list[str]:
    return [name for name, _ in db.indexes.registry.named_indexes()]


def static_width(db: DatabaseServices) -> int | None:
    index = db.indexes.registry.get(STATIC_INDEX["Name"])
    assert index is not None
    vectors = index.definition.vectors  # type: ignore[attr-defined]
    vectors.ensure_loaded(index.store.path)
    field = vectors.field("Vector")
    return None if field is None else int(field.width)


def test_a_static_index_loading_the_task_is_built_side_by_side_and_swapped_with_it(
        db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    db.indexes.put_indexes([STATIC_INDEX])
    before = static_search(db)
    assert before and static_width(db) == 384
    srv.add_fault("slow", times=None, routes=["openai"], delay=0.3)  # the migration takes a while
    db.ai.update_task(task.task_id, task_json("Small"), reset=False)
    assert STAGED in listed(db)  # built from the new generation beside the serving index
    assert static_search(db) == before and static_width(db) == 384
    srv.clear_faults()
    wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
    wait_for(lambda: STAGED not in listed(db), what="the build to take over")  # right after the swap
    found = static_search(db)
    assert found and found[0] == search(db)[0] and static_width(db) == 256
    # A reload that read the record just before the swap still names generation 1 as building: it
    # must not start that build again (a query would wait for it to take over, and no swap would come).
    db.indexes.follow_migrations({task.identifier: 1}, {task.identifier: 0})
    assert STAGED not in listed(db)
    wait_for(lambda: not db.ai.cleanups(), what="the old sections to go")
    assert static_search(db) == found and static_width(db) == 256  # the clean-up's rewrites change nothing


def test_a_static_index_query_between_the_swap_and_its_build_taking_over_waits_for_the_build(
        db: DatabaseServices, monkeypatch: pytest.MonkeyPatch) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    db.indexes.put_indexes([STATIC_INDEX])
    assert static_search(db) and static_width(db) == 384
    # Hold the moment after the task's swap (a record transaction) before its build takes the index's place.
    release = threading.Event()
    for method in ("promote_staged", "follow_migrations"):
        def held(*args: Any, _original: Callable[..., None] = getattr(db.indexes, method)) -> None:
            if swapped(db, task.task_id, 1):
                release.wait(30)
            _original(*args)

        monkeypatch.setattr(db.indexes, method, held)
    db.ai.update_task(task.task_id, task_json("Small"), reset=False)
    wait_for(lambda: swapped(db, task.task_id, 1), what="the swap")
    assert STAGED in listed(db)  # the old index still has the name
    answers: list[list[str] | Exception] = []

    def query() -> None:
        try:
            answers.append(static_search(db))
        except Exception as error:
            answers.append(error)

    querying = threading.Thread(target=query)
    querying.start()
    try:
        querying.join(0.5)
        assert not answers and querying.is_alive()  # it waits for the build (the new model's dimensions)
    finally:
        release.set()
    querying.join(30)
    [found] = answers
    assert isinstance(found, list) and found and found[0] == search(db)[0]
    assert STAGED not in listed(db) and static_width(db) == 256


def test_a_cancelled_migration_drops_the_static_indexes_build(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    db.indexes.put_indexes([STATIC_INDEX])
    before = static_search(db)
    db.ai.set_task_disabled(task, True)  # hold the migration where it is
    db.ai.update_task(task.task_id, task_json("Small", disabled=True), reset=False)
    assert STAGED in listed(db)
    db.indexes.put_indexes([STATIC_INDEX])  # the same definition again keeps the build
    assert STAGED in listed(db)
    db.ai.update_task(task.task_id, task_json("Embedded", disabled=True), reset=False)
    assert STAGED not in listed(db)
    db.ai.set_task_disabled(db.ai.task(task.task_id), False)  # type: ignore[arg-type]
    assert static_search(db) == before and static_width(db) == 384


def test_a_static_indexes_build_survives_a_restart_mid_migration(
        tmp_path: Path, storage_settings: dict[str, str], db: DatabaseServices, catalog: DatabaseCatalog) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    wait_for(lambda: covered(db))
    db.indexes.put_indexes([STATIC_INDEX])
    static_search(db)
    db.ai.set_task_disabled(task, True)  # hold the migration where it is
    db.ai.update_task(task.task_id, task_json("Small", disabled=True), reset=False)
    catalog.close()
    reopened = DatabaseCatalog(tmp_path, Settings({"Ai.Embeddings.MaxBatchSize": 4, **storage_settings}, environ={}))
    try:
        again = reopened.get("Shop")
        build = again.indexes.registry.get(STAGED)
        assert build is not None and build.store.staged_for == ("names", 1)
        again.ai.set_task_disabled(again.ai.task(task.task_id), False)  # type: ignore[arg-type]
        wait_for(lambda: swapped(again, task.task_id, 1), what="the swap")
        wait_for(lambda: STAGED not in listed(again), what="the build to take over")  # right after the swap
        assert static_search(again) and static_width(again) == 256
    finally:
        reopened.close()


def test_a_missing_connection_string_is_refused_and_changes_nothing(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json("Embedded")).task
    record, _ = db.database.record()
    with pytest.raises(ValidationError, match="ConnectionStringName"):
        db.ai.update_task(task.task_id, task_json("Nope"), reset=False)
    assert db.database.record()[0] == record
