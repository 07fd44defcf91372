"""The AI part of the database record: connection strings (secrets sealed) and embeddings tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import (
    AiConnectionString,
    EmbeddedSettings,
    HuggingFaceSettings,
    OllamaSettings,
    render_connection_string,
)
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.documents.secrets import SecretBox, is_sealed, load_or_create_master_key
from rookdb.errors import InUseError, NotFoundError, ValidationError
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage

_T = TypeVar("_T")


def hugging_face(name: str = "HF", identifier: str = "hf", api_key: str = "hf_secret",
                 model: str = "sentence-transformers/all-MiniLM-L6-v2") -> dict[str, Any]:
    return render_connection_string(AiConnectionString(
        name, identifier, "TextEmbeddings", HuggingFaceSettings(api_key=api_key, model=model)))


def task(name: str = "Products", identifier: str = "products", connection: str = "HF") -> dict[str, Any]:
    return render_task_configuration(EmbeddingsGenerationConfiguration(
        name=name, identifier=identifier, connection_string_name=connection, collection="Products",
        embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),)))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    opened = Database("ai", SqliteStorage(tmp_path / "db.sqlite3"), tmp_path, Settings(environ={}))
    yield opened
    opened.close()


@pytest.fixture
def record(database: Database, tmp_path: Path) -> AiRecord:
    return AiRecord(database, SecretBox(load_or_create_master_key(tmp_path / "master.key")))


class DictRecord:
    """A record store that is only a dict: all ``AiRecord`` needs from a database."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] = {}
        self.etag = 0

    def record(self) -> tuple[dict[str, Any], int]:
        return dict(self.stored), self.etag

    def record_etag(self) -> int:
        return self.etag

    def update_record(self, change: Callable[[dict[str, Any]], _T]) -> tuple[_T, int]:
        copy = dict(self.stored)
        outcome = change(copy)
        self.stored, self.etag = copy, self.etag + 1
        return outcome, self.etag


def test_any_record_store_will_do(tmp_path: Path) -> None:
    store = DictRecord()
    record = AiRecord(store, SecretBox(load_or_create_master_key(tmp_path / "master.key")))
    assert record.put_connection_string(hugging_face()) == 1
    assert record.add_task(task()).task.task_id == 1
    assert [found.name for found in record.tasks()] == ["Products"]
    assert "AiConnectionStrings" in store.stored and "EmbeddingsGenerations" in store.stored


def test_secrets_are_sealed_in_the_record_and_opened_when_read(record: AiRecord, database: Database) -> None:
    etag = record.put_connection_string(hugging_face(api_key="hf_plain"))
    stored, record_etag = database.record()
    assert etag == record_etag
    sealed = stored["AiConnectionStrings"]["HF"]["HuggingFaceSettings"]["ApiKey"]
    assert is_sealed(sealed) and "hf_plain" not in sealed
    found = record.connection_string("HF")
    assert found is not None and isinstance(found.settings, HuggingFaceSettings)
    assert found.settings.api_key == "hf_plain"
    assert list(record.connection_strings()) == ["HF"]
    assert record.connection_string("missing") is None


def test_the_parsed_record_is_reused_until_another_writer_changes_it(
        record: AiRecord, database: Database, tmp_path: Path) -> None:
    record.put_connection_string(hugging_face())
    record.add_task(task())
    first = record.tasks()[0]
    assert record.tasks()[0] is first  # same version: parsed once
    assert record.connection_string("HF") is record.connection_string("HF")
    # Another writer of the same record (another node, or the record endpoints) changes it underneath.
    other = AiRecord(database, SecretBox(load_or_create_master_key(tmp_path / "master.key")))
    other.update_task(first.task_id, task(name="Renamed"), reset=False)
    assert [found.name for found in record.tasks()] == ["Renamed"]
    database.update_record(lambda stored: stored["AiConnectionStrings"].pop("HF"))
    assert record.connection_string("HF") is None


def test_identifiers_are_unique_among_connection_strings(record: AiRecord) -> None:
    record.put_connection_string(hugging_face("First", "shared"))
    with pytest.raises(ValidationError, match="'shared' is already used by connection string 'First'"):
        record.put_connection_string(hugging_face("Second", "shared"))
    record.put_connection_string(hugging_face("First", "shared", api_key="rotated"))  # replacing itself is fine


def test_a_connection_string_in_use_keeps_its_model_but_not_its_key(record: AiRecord) -> None:
    record.put_connection_string(hugging_face())
    record.add_task(task())
    with pytest.raises(InUseError, match="used by embeddings task\\(s\\) 'Products': Model cannot change"):
        record.put_connection_string(hugging_face(model="another/model"))
    record.put_connection_string(hugging_face(api_key="new-key"))
    found = record.connection_string("HF")
    assert found is not None and found.settings.api_key == "new-key"  # type: ignore[union-attr]
    with pytest.raises(InUseError, match="cannot be deleted: it is used by embeddings task"):
        record.remove_connection_string("HF")
    assert [usage.to_json() for usage in record.usage("HF")] == [
        {"Kind": "EmbeddingsGeneration", "Id": 1, "Name": "Products", "Identifier": "products"}]


def test_an_edit_that_does_not_send_the_prompts_keeps_them(record: AiRecord) -> None:
    e5 = "intfloat/e5-small-v2"
    record.put_connection_string(hugging_face(model=e5) | {"QueryPrompt": "Q: ", "DocumentPrompt": ""})
    record.put_connection_string(hugging_face(model=e5, api_key="rotated"))  # as the official client sends it
    kept = record.connection_string("HF")
    assert kept is not None and (kept.query_prompt, kept.document_prompt) == ("Q: ", "")
    record.put_connection_string(hugging_face(model=e5) | {"QueryPrompt": None})
    reset = record.connection_string("HF")
    assert reset is not None and (reset.query_prompt, reset.document_prompt) == (None, "")


def test_the_document_prompt_is_locked_while_in_use_but_not_the_query_prompt(record: AiRecord) -> None:
    record.put_connection_string(hugging_face(model="intfloat/e5-small-v2"))
    record.add_task(task())
    with pytest.raises(InUseError, match="DocumentPrompt cannot change"):
        record.put_connection_string(hugging_face(model="intfloat/e5-small-v2") | {"DocumentPrompt": ""})
    record.put_connection_string(hugging_face(model="intfloat/e5-small-v2") | {"DocumentPrompt": "passage: "})
    record.put_connection_string(hugging_face(model="intfloat/e5-small-v2") | {"QueryPrompt": "Q: "})
    found = record.connection_string("HF")
    assert found is not None and (found.query_prompt, found.document_prompt) == ("Q: ", "passage: ")


def test_removing_a_connection_string(record: AiRecord) -> None:
    record.put_connection_string(hugging_face())
    record.remove_connection_string("HF")
    assert record.connection_strings() == {}
    with pytest.raises(NotFoundError, match="AI connection string 'HF' does not exist"):
        record.remove_connection_string("HF")


def test_tasks_get_increasing_ids_and_are_found_by_id_or_name(record: AiRecord) -> None:
    record.put_connection_string(hugging_face())
    first = record.add_task(task())
    second = record.add_task(task("Names", "names"))
    assert (first.task.task_id, second.task.task_id) == (1, 2)
    assert not first.reset and second.raft_index > first.raft_index
    assert first.task.ai_connector_type == "HuggingFace"
    assert record.task(task_id=2) == second.task
    assert record.task(name="products") == first.task
    assert record.task(task_id=9) is None
    assert [stored["TaskId"] for stored in record.rendered_tasks()] == [1, 2]


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "products", "identifier": "other"}, "a task named 'Products' already exists"),
    ({"name": "Other", "identifier": "products"}, "'products' is already the identifier of task 'Products'"),
    ({"name": "Other", "identifier": "other", "connection": "Nope"}, "AI connection string 'Nope' does not exist"),
    ({"name": "Other", "identifier": "other", "connection": "Chat"}, "is a Chat connection string"),
])
def test_task_rules(record: AiRecord, change: dict[str, str], message: str) -> None:
    record.put_connection_string(hugging_face())
    record.put_connection_string(render_connection_string(AiConnectionString(
        "Chat", "chat", "Chat", OllamaSettings(uri="http://127.0.0.1:11434", model="llama3"))))
    record.add_task(task())
    with pytest.raises(ValidationError, match=message):
        record.add_task(task(**change))


def test_update_disable_and_delete_a_task(record: AiRecord) -> None:
    record.put_connection_string(hugging_face())
    record.put_connection_string(render_connection_string(
        AiConnectionString("Local", "local", "TextEmbeddings", EmbeddedSettings())))
    added = record.add_task(task()).task
    updated = record.update_task(added.task_id, task(connection="Local"), reset=True)
    assert updated.reset and updated.task.connection_string_name == "Local"
    assert updated.task.task_id == added.task_id
    record.set_task_disabled(updated.task, True)
    found = record.task(task_id=added.task_id)
    assert found is not None and found.disabled
    record.delete_task(added.task_id)
    assert record.tasks() == []
    with pytest.raises(NotFoundError, match="task 1 does not exist"):
        record.update_task(added.task_id, task(), reset=False)
    with pytest.raises(NotFoundError, match="task 1 does not exist"):
        record.delete_task(added.task_id)
    with pytest.raises(NotFoundError, match="task 1 does not exist"):
        record.set_task_disabled(added, False)


def test_listeners_hear_every_change_and_nothing_else(record: AiRecord) -> None:
    heard: list[str] = []
    record.on_tasks_changed(lambda: heard.append("changed"))
    record.put_connection_string(hugging_face())
    added = record.add_task(task()).task
    record.tasks()
    record.connection_strings()
    with pytest.raises(ValidationError):
        record.add_task(task())  # a refused change is no change
    record.update_task(added.task_id, task(), reset=False)
    record.set_task_disabled(added, True)
    record.delete_task(added.task_id)
    record.remove_connection_string("HF")
    assert heard == ["changed"] * 6
