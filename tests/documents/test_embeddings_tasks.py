"""The per-database task service: a worker per enabled task, reloads, reset, progress and errors."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, HuggingFaceSettings, render_connection_string
from rookdb.ai.embeddings.worker import TaskState, state_key
from rookdb.ai.quantization import VectorEmbeddingType
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.database import Database
from rookdb.documents.embeddings_tasks import EmbeddingsTasks, embeddings_tasks_of
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY as API_KEY
from tests.support.embeddings import sections
from tests.support.waiting import wait_for

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def connection_json(srv: EmbeddingServer, api_key: str = API_KEY) -> dict[str, Any]:
    return render_connection_string(AiConnectionString(
        "Local", "local", "TextEmbeddings", HuggingFaceSettings(api_key=api_key, model=MODEL, endpoint=srv.url)))


def task_json(name: str = "Products", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": name, "identifier": name.lower(), "connection_string_name": "Local", "collection": "Products",
        "embeddings_path_configurations": (EmbeddingPathConfiguration("Name", ChunkingOptions()),),
    }
    values.update(changes)
    return render_task_configuration(EmbeddingsGenerationConfiguration(**values))


def tei_calls(srv: EmbeddingServer) -> int:
    stats = srv.stats().get("tei-embed")
    return stats.requests if stats else 0


@pytest.fixture
def database(catalog: DatabaseCatalog, srv: EmbeddingServer) -> Database:
    created = catalog.create("Shop")
    created.ai.put_connection_string(connection_json(srv))
    created.insert_many((f"products/{n}-A", {"Name": f"Product {n}", "@metadata": {"@collection": "Products"}})
                        for n in range(1, 13))
    return created


def service(database: Database) -> EmbeddingsTasks:
    found = embeddings_tasks_of(database)
    assert found is not None
    return found


def caught_up(database: Database, task_id: int) -> bool:
    [entry] = [e for e in service(database).progress() if e["TaskId"] == task_id]
    return bool(entry["DocumentsProcessed"] == entry["DocumentsTotal"] and entry["State"] == "Idle")


def test_a_new_task_embeds_the_collection_and_reports_progress(database: Database) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id), what="the task to catch up")
    [entry] = service(database).progress()
    assert entry["DocumentsTotal"] == 12 and entry["Chunks"] == 12 and entry["ProviderCalls"] >= 1
    assert entry["Health"] == "Healthy" and entry["LastError"] is None and entry["History"]
    assert entry["Tokens"] == sum(len(f"Product {n}") // 4 for n in range(1, 13))
    assert all(sections(database.storage, f"products/{n}-A") for n in range(1, 13))  # type: ignore[arg-type]
    assert service(database).status(task) == {"ConnectionStatus": "Active", "Error": None}


def test_new_documents_wake_the_worker(database: Database) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id))
    database.put("products/99-A", {"Name": "Fresh", "@metadata": {"@collection": "Products"}})
    wait_for(lambda: sections(database.storage, "products/99-A"), timeout=3, what="the new document")  # type: ignore[arg-type]


def test_disabling_stops_and_enabling_resumes(database: Database, srv: EmbeddingServer) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id))
    database.ai.set_task_disabled(task, True)
    assert service(database).worker(task.task_id) is None
    assert service(database).progress()[0]["State"] == "Disabled"
    database.put("products/50-A", {"Name": "While disabled", "@metadata": {"@collection": "Products"}})
    assert not sections(database.storage, "products/50-A")  # type: ignore[arg-type]
    calls = tei_calls(srv)
    database.ai.set_task_disabled(task, False)
    wait_for(lambda: caught_up(database, task.task_id))
    assert sections(database.storage, "products/50-A")  # type: ignore[arg-type]
    assert tei_calls(srv) == calls + 1  # only the new document: resumed from the stored position


def test_reset_regenerates_everything_from_the_cache(database: Database, srv: EmbeddingServer) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id))
    calls = tei_calls(srv)
    written = database.ai.update_task(task.task_id, task_json(), reset=True)
    assert written.reset
    service(database).reset(task.task_id)
    wait_for(lambda: caught_up(database, task.task_id))
    [entry] = service(database).progress()
    assert entry["DocumentsChanged"] == 12 and entry["CacheHits"] == 12 and entry["ProviderCalls"] == 0
    assert tei_calls(srv) == calls


def test_changing_the_paths_restarts_the_worker(database: Database) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id))
    first = service(database).worker(task.task_id)
    database.ai.update_task(task.task_id, task_json(quantization=VectorEmbeddingType.INT8), reset=False)
    assert service(database).worker(task.task_id) is not first


def test_new_api_key_restarts_the_worker_and_recovers(database: Database, srv: EmbeddingServer) -> None:
    database.ai.put_connection_string(connection_json(srv, api_key="wrong-key"))
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: service(database).worker(task.task_id).state is TaskState.FALLBACK,  # type: ignore[union-attr]
             what="fallback after a refused key")
    errors = service(database).errors("products")
    assert errors and errors[0]["Kind"] == "Process" and errors[0]["Step"] == "Model Inference"
    assert service(database).status(task)["ConnectionStatus"] == "Reconnect"
    database.ai.put_connection_string(connection_json(srv))
    wait_for(lambda: caught_up(database, task.task_id), what="recovery with the right key")
    recorded = len(service(database).errors())
    assert service(database).clear_errors("Products") == recorded >= 1
    assert service(database).errors() == []
    assert database.storage.get_state(state_key(task.task_id, "errors")) == {"Items": [], "Processes": []}


def test_deleting_a_task_stops_it_and_forgets_its_state(database: Database) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id))
    database.ai.delete_task(task.task_id)
    assert service(database).worker(task.task_id) is None
    assert database.storage.states(state_key(task.task_id)) == {}
    assert service(database).progress() == []


def test_a_missing_connection_string_fails_the_task(database: Database) -> None:
    task = database.ai.add_task(task_json()).task
    # Removing a connection string in use is refused; this simulates a record edited behind our back.
    database.update_record(lambda record: record["AiConnectionStrings"].clear())
    service(database).reload()
    worker = service(database).worker(task.task_id)
    assert worker is not None
    wait_for(lambda: worker.state is TaskState.FAILED)
    assert "does not exist" in (worker.last_error or "")


def test_services_resume_after_reopening(catalog: DatabaseCatalog, database: Database, srv: EmbeddingServer) -> None:
    task = database.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(database, task.task_id))
    calls = tei_calls(srv)
    catalog.close()
    reopened = catalog.get("Shop")
    reopened.put("products/77-A", {"Name": "After restart", "@metadata": {"@collection": "Products"}})
    wait_for(lambda: caught_up(reopened, task.task_id))
    assert tei_calls(srv) == calls + 1
    assert service(reopened).progress()[0]["DocumentsChanged"] == 13
