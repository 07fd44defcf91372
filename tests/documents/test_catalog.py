"""The catalog: databases by name, each composed once with its services, or opened without them."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import (
    AiConnectionString,
    EmbeddedSettings,
    HuggingFaceSettings,
    render_connection_string,
)
from rookdb.ai.embeddings.worker import state_key
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.documents.catalog import DatabaseCatalog, validate_database_name
from rookdb.documents.database_record import lock_mode_of
from rookdb.errors import (
    BadRequestError,
    DatabaseAlreadyExistsError,
    DatabaseDisabledError,
    DatabaseDoesNotExistError,
    ValidationError,
)
from rookdb.settings import Settings
from rookdb.testing.embedding_server import EmbeddingServer
from rookdb.testing.postgres_server import PostgresServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.waiting import wait_for


def service_threads(name: str) -> list[str]:
    return sorted(thread.name for thread in threading.enumerate() if thread.name.endswith(name))


@pytest.mark.parametrize("name", ["Northwind", "a", "db.v2", "my_db-1", "x" * 128])
def test_valid_names(name: str) -> None:
    validate_database_name(name)


@pytest.mark.parametrize("name", ["", ".hidden", "trailing.", "sp ace", "slash/", "x" * 129, "ünï"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValidationError, match="is not a valid database name"):
        validate_database_name(name)


def test_create_get_and_names_ignore_case(catalog: DatabaseCatalog, tmp_path: Path) -> None:
    created = catalog.create("Shop")
    assert created.name == "Shop"
    assert catalog.get("shop") is created and catalog.get("SHOP").database is created.database
    assert catalog.exists("sHoP") and not catalog.exists("Other")
    assert (tmp_path / "databases" / "Shop").is_dir()  # this node's folder, whatever the backend
    catalog.create("archive")
    assert catalog.names() == ["archive", "Shop"]
    with pytest.raises(DatabaseAlreadyExistsError, match="Database 'shop' already exists"):
        catalog.create("shop")
    with pytest.raises(DatabaseDoesNotExistError):
        catalog.get("Other")


def names_task(connection: str) -> dict[str, object]:
    return render_task_configuration(EmbeddingsGenerationConfiguration(
        name="Names", identifier="names", connection_string_name=connection, collection="Products",
        embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),)))


def test_services_are_composed_once_and_wired(catalog: DatabaseCatalog) -> None:
    shop = catalog.create("Shop")
    assert shop.background == (shop.indexes, shop.vectors, shop.embeddings, shop.expiration)
    shop.ai.put_connection_string(render_connection_string(
        AiConnectionString("Local", "local", "TextEmbeddings", EmbeddedSettings())))
    task = shop.ai.add_task(names_task("Local")).task
    assert shop.embeddings.worker(task.task_id) is not None  # the record change reached the task service
    shop.database.put("products/1-A", {"Name": "Chai", "@metadata": {"@collection": "Products"}})
    wait_for(lambda: shop.embeddings.progress()[0]["DocumentsProcessed"] == 1, what="the write to wake the task")


def test_documents_opens_without_services(catalog: DatabaseCatalog) -> None:
    with pytest.raises(DatabaseDoesNotExistError):
        catalog.documents("Quiet")
    database = catalog.documents("Quiet", create=True)
    database.put("products/1-A", {"Name": "Chai", "@metadata": {"@collection": "Products"}})
    assert catalog.exists("Quiet") and catalog.documents("quiet") is database
    assert service_threads("Quiet") == []
    with_services = catalog.get("Quiet")
    assert with_services.database is database  # one storage per file
    assert service_threads("Quiet") == ["rookdb-expiration-Quiet", "rookdb-indexing-Quiet", "rookdb-vectors-Quiet"]


def test_documents_creates_only_valid_names(catalog: DatabaseCatalog) -> None:
    with pytest.raises(ValidationError):
        catalog.documents("bad name", create=True)


def test_delete_stops_services_and_removes_the_folder(catalog: DatabaseCatalog, tmp_path: Path) -> None:
    catalog.create("Gone")
    assert service_threads("Gone")
    catalog.delete("gone")
    assert not (tmp_path / "databases" / "Gone").exists()
    assert service_threads("Gone") == []
    with pytest.raises(DatabaseDoesNotExistError):
        catalog.delete("Gone")


def test_close_then_reopen_sees_the_same_data(tmp_path: Path, storage_settings: dict[str, str]) -> None:
    catalog = DatabaseCatalog(tmp_path, Settings(storage_settings, environ={}))
    catalog.create("Kept").database.put("a/1", {"@metadata": {"@collection": "A"}})
    catalog.close()
    assert service_threads("Kept") == []
    reopened = DatabaseCatalog(tmp_path, Settings(storage_settings, environ={}))
    try:
        reopened.open_all()
        assert service_threads("Kept") == ["rookdb-expiration-Kept", "rookdb-indexing-Kept", "rookdb-vectors-Kept"]
        assert reopened.get("Kept").database.get("a/1") is not None
    finally:
        reopened.close()


def test_close_cancels_a_batch_that_does_not_drain(tmp_path: Path, srv: EmbeddingServer) -> None:
    srv.add_fault("slow", times=None, delay=30.0)
    catalog = DatabaseCatalog(tmp_path, Settings(environ={}))
    shop = catalog.create("Shop")
    shop.ai.put_connection_string(render_connection_string(AiConnectionString(
        "Local", "local", "TextEmbeddings",
        HuggingFaceSettings(api_key=EMBEDDING_API_KEY, model="sentence-transformers/all-MiniLM-L6-v2",
                            endpoint=srv.url))))
    shop.database.put("products/1-A", {"Name": "Chai", "@metadata": {"@collection": "Products"}})
    task = shop.ai.add_task(names_task("Local")).task
    wait_for(lambda: srv.stats().get("tei-embed"), what="the provider call in flight")
    assert catalog.close(timeout=0.2)  # the drain times out, the forced exit cancels the batch in time
    reopened = DatabaseCatalog(tmp_path, Settings(environ={}))
    try:
        stored = reopened.documents("Shop")
        assert stored.storage.get_state(state_key(task.task_id, "position")) is None  # nothing committed
        assert stored.get("embeddings/products/1-A") is None
    finally:
        reopened.close()


def test_a_closed_catalog_opens_the_backend_again(catalog: DatabaseCatalog) -> None:
    catalog.create("Shop").database.put("a/1", {"@metadata": {"@collection": "A"}})
    catalog.close()
    assert catalog.get("shop").database.get("a/1") is not None


Node = Callable[[Path], DatabaseCatalog]
_catalogs = itertools.count(1)


@pytest.fixture
def node(postgres_server: PostgresServer) -> Iterator[Node]:
    """Catalogs over one PostgreSQL catalog, each with a data dir of its own (as separate nodes have)."""
    settings = Settings({"Storage.Url": postgres_server.url, "Storage.PostgreSql.Catalog": f"nodes_{next(_catalogs)}",
                         "Expiration.DeleteFrequencyInSec": 3600.0}, environ={})
    opened: list[DatabaseCatalog] = []

    def make(data_dir: Path) -> DatabaseCatalog:
        opened.append(DatabaseCatalog(data_dir, settings))
        return opened[-1]

    yield make
    for catalog in opened:
        catalog.close()


def test_databases_live_in_postgresql_not_in_folders(node: Node, tmp_path: Path) -> None:
    first, second = node(tmp_path / "a"), node(tmp_path / "b")
    first.create("Shop").database.put("items/1", {"@metadata": {"@collection": "Items"}})
    assert second.names() == ["Shop"]  # nothing under b/databases yet
    assert second.get("shop").database.get("items/1") is not None
    assert (tmp_path / "b" / "databases" / "Shop").is_dir()  # its own folder, for its own indexes
    second.delete("Shop")
    assert first.names() == [] and not (tmp_path / "b" / "databases" / "Shop").exists()


def test_a_local_folder_left_by_an_older_database_is_emptied(node: Node, tmp_path: Path) -> None:
    first = node(tmp_path / "a")
    first.create("Shop")
    second = node(tmp_path / "b")
    second.get("Shop")
    leftover = tmp_path / "b" / "databases" / "Shop" / "old-index.bin"
    leftover.write_bytes(b"indexes of the first Shop")
    second.close()
    first.delete("Shop")
    first.create("Shop")  # a new database under the old name, while the second node was down
    second.get("Shop")
    assert not leftover.exists()
    second.close()
    leftover.write_bytes(b"indexes of this Shop")
    second.get("Shop")
    assert leftover.exists()


def test_lock_modes_guard_deletes(catalog: DatabaseCatalog, tmp_path: Path) -> None:
    catalog.create("Locked")
    catalog.create("Other")
    with pytest.raises(BadRequestError, match="'Missing' does not exist"):
        catalog.set_lock_mode(["Locked", "Missing"], "PreventDeletesError")
    assert lock_mode_of(catalog.documents("Locked").record()[0]) == "Unlock"  # nothing changed
    catalog.set_lock_mode(["Locked", "Other"], "PreventDeletesError")
    with pytest.raises(BadRequestError, match="cannot be deleted because of the set lock mode"):
        catalog.delete("Locked")
    catalog.set_lock_mode(["Locked"], "PreventDeletesIgnore")
    assert catalog.delete("Locked") is False and catalog.exists("Locked")
    catalog.set_lock_mode(["Locked"], "Unlock")
    assert catalog.delete("Locked") is True and not (tmp_path / "databases" / "Locked").exists()
    with pytest.raises(BadRequestError, match="Lock mode must be one of"):
        catalog.set_lock_mode(["Other"], "Sometimes")


def test_a_disabled_database_refuses_requests_and_stops_its_services(catalog: DatabaseCatalog) -> None:
    catalog.create("Paused")
    assert catalog.set_disabled("Paused", True) is True
    assert catalog.set_disabled("paused", True) is False
    assert service_threads("Paused") == []
    with pytest.raises(DatabaseDisabledError, match="'Paused' is disabled"):
        catalog.get("Paused")
    assert catalog.documents("Paused").record()[0]["Disabled"] is True
    assert catalog.set_disabled("Paused", False) is True
    assert catalog.get("Paused").name == "Paused" and "rookdb-expiration-Paused" in service_threads("Paused")


def test_compaction_runs_as_a_server_operation(catalog: DatabaseCatalog) -> None:
    catalog.create("Compacted").database.put("a/1", {"@metadata": {"@collection": "A"}})
    operation = catalog.compact("compacted")
    assert operation.done.wait(30) and operation.status == "Completed"
    assert operation.result["Messages"] and catalog.operations.get(operation.id) is operation
    assert catalog.get("Compacted").database.get("a/1") is not None
