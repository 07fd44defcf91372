"""The per-database task service: a worker per enabled task, reloads, reset, progress and errors."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, HuggingFaceSettings, render_connection_string
from rookdb.ai.embeddings.progress import TaskState
from rookdb.ai.embeddings.worker import state_key
from rookdb.ai.quantization import VectorEmbeddingType
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.ai.tokens import count_tokens
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.services import DatabaseServices
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY as API_KEY
from tests.support.embeddings import HF_MODEL, sections
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
def db(catalog: DatabaseCatalog, srv: EmbeddingServer) -> DatabaseServices:
    created = catalog.create("Shop")
    created.ai.put_connection_string(connection_json(srv))
    created.database.insert_many(
        (f"products/{n}-A", {"Name": f"Product {n}", "@metadata": {"@collection": "Products"}}) for n in range(1, 13))
    return created


def caught_up(db: DatabaseServices, task_id: int) -> bool:
    [entry] = [e for e in db.embeddings.progress() if e["TaskId"] == task_id]
    return bool(entry["DocumentsProcessed"] == entry["DocumentsTotal"] and entry["State"] == "Idle")


def test_a_new_task_embeds_the_collection_and_reports_progress(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id), what="the task to catch up")
    [entry] = db.embeddings.progress()
    assert entry["DocumentsTotal"] == 12 and entry["Chunks"] == 12 and entry["ProviderCalls"] >= 1
    assert entry["Health"] == "Healthy" and entry["LastError"] is None and entry["History"]
    # The local server reports no usage; the bundled tokenizer counts exactly for all-MiniLM.
    assert entry["Tokens"] == count_tokens(HF_MODEL, [f"Product {n}" for n in range(1, 13)]).tokens
    assert entry["EstimatedTokens"] == 0
    assert all(sections(db.database.storage, f"products/{n}-A") for n in range(1, 13))
    assert db.embeddings.status(task) == {"ConnectionStatus": "Active", "Error": None}


def test_new_documents_wake_the_worker(db: DatabaseServices, monkeypatch: pytest.MonkeyPatch) -> None:
    # An idle worker that would look again only in an hour: the write itself must wake it.
    monkeypatch.setattr("rookdb.ai.embeddings.worker.DEFAULT_IDLE_POLL_SECONDS", 3600.0)
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id))
    db.database.put("products/99-A", {"Name": "Fresh", "@metadata": {"@collection": "Products"}})
    wait_for(lambda: sections(db.database.storage, "products/99-A"), what="the new document")


def test_disabling_stops_and_enabling_resumes(db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id))
    db.ai.set_task_disabled(task, True)
    assert db.embeddings.worker(task.task_id) is None
    assert db.embeddings.progress()[0]["State"] == "Disabled"
    db.database.put("products/50-A", {"Name": "While disabled", "@metadata": {"@collection": "Products"}})
    assert not sections(db.database.storage, "products/50-A")
    calls = tei_calls(srv)
    db.ai.set_task_disabled(task, False)
    wait_for(lambda: caught_up(db, task.task_id))
    assert sections(db.database.storage, "products/50-A")
    assert tei_calls(srv) == calls + 1  # only the new document: resumed from the stored position


def test_reset_regenerates_everything_from_the_cache(db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id))
    calls = tei_calls(srv)
    written = db.ai.update_task(task.task_id, task_json(), reset=True)
    assert written.reset
    db.embeddings.reset(task.task_id)
    wait_for(lambda: caught_up(db, task.task_id))
    [entry] = db.embeddings.progress()
    assert entry["DocumentsChanged"] == 12 and entry["CacheHits"] == 12 and entry["ProviderCalls"] == 0
    assert tei_calls(srv) == calls


def test_changing_the_paths_restarts_the_worker(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id))
    first = db.embeddings.worker(task.task_id)
    db.ai.update_task(task.task_id, task_json(quantization=VectorEmbeddingType.INT8), reset=False)
    assert db.embeddings.worker(task.task_id) is not first


def test_new_api_key_restarts_the_worker_and_recovers(db: DatabaseServices, srv: EmbeddingServer) -> None:
    db.ai.put_connection_string(connection_json(srv, api_key="wrong-key"))
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: db.embeddings.worker(task.task_id).state is TaskState.FALLBACK,  # type: ignore[union-attr]
             what="fallback after a refused key")
    errors = db.embeddings.errors("products")
    assert errors and errors[0]["Kind"] == "Process" and errors[0]["Step"] == "Model Inference"
    assert db.embeddings.status(task)["ConnectionStatus"] == "Reconnect"
    db.ai.put_connection_string(connection_json(srv))
    wait_for(lambda: caught_up(db, task.task_id), what="recovery with the right key")
    recorded = len(db.embeddings.errors())
    assert db.embeddings.clear_errors("Products") == recorded >= 1
    assert db.embeddings.errors() == []
    assert db.database.storage.get_state(state_key(task.task_id, "errors")) == {"Items": [], "Processes": []}


def test_deleting_a_task_stops_it_and_forgets_its_state(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id))
    db.ai.delete_task(task.task_id)
    assert db.embeddings.worker(task.task_id) is None
    assert db.database.storage.states(state_key(task.task_id)) == {}
    assert db.embeddings.progress() == []


def test_a_missing_connection_string_fails_the_task(db: DatabaseServices) -> None:
    task = db.ai.add_task(task_json()).task
    # Removing a connection string in use is refused; this simulates a record edited behind our back.
    db.database.update_record(lambda record: record["AiConnectionStrings"].clear())
    db.embeddings.reload()
    worker = db.embeddings.worker(task.task_id)
    assert worker is not None
    wait_for(lambda: worker.state is TaskState.FAILED)
    assert "does not exist" in (worker.last_error or "")


def test_services_resume_after_reopening(catalog: DatabaseCatalog, db: DatabaseServices, srv: EmbeddingServer) -> None:
    task = db.ai.add_task(task_json()).task
    wait_for(lambda: caught_up(db, task.task_id))
    calls = tei_calls(srv)
    catalog.close()
    reopened = catalog.get("Shop")
    reopened.database.put("products/77-A", {"Name": "After restart", "@metadata": {"@collection": "Products"}})
    wait_for(lambda: caught_up(reopened, task.task_id))
    assert tei_calls(srv) == calls + 1
    assert reopened.embeddings.progress()[0]["DocumentsChanged"] == 13
