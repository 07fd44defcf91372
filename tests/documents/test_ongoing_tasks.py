"""Embeddings tasks as ongoing tasks: saving (with a reset), switching on and off, the description."""

from __future__ import annotations

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings, render_connection_string
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    render_task_configuration,
)
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.ongoing_tasks import describe_task, find_task, save_task, set_task_disabled
from rookdb.documents.services import DatabaseServices
from rookdb.errors import NotFoundError
from tests.support.waiting import wait_for

TASK = render_task_configuration(EmbeddingsGenerationConfiguration(
    name="Names", identifier="names", connection_string_name="Local", collection="Products",
    embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),)))


@pytest.fixture
def shop(catalog: DatabaseCatalog) -> DatabaseServices:
    created = catalog.create("Shop")
    created.ai.put_connection_string(render_connection_string(
        AiConnectionString("Local", "local", "TextEmbeddings", EmbeddedSettings())))
    created.database.put("products/1-A", {"Name": "Chai", "@metadata": {"@collection": "Products"}})
    return created


def test_saving_adds_then_replaces_and_a_reset_regenerates(shop: DatabaseServices) -> None:
    added = save_task(shop, TASK, None, reset=False)
    assert added.task.task_id == 1 and not added.reset
    wait_for(lambda: shop.embeddings.progress()[0]["DocumentsProcessed"] == 1, what="the first run")
    replaced = save_task(shop, TASK, added.task.task_id, reset=True)
    assert replaced.reset and replaced.task.task_id == added.task.task_id
    wait_for(lambda: shop.embeddings.progress()[0]["CacheHits"] == 1, what="the regeneration from the cache")
    with pytest.raises(NotFoundError, match="task 7 does not exist"):
        save_task(shop, TASK, 7, reset=False)


def test_switching_a_task_off_and_describing_it(shop: DatabaseServices) -> None:
    task = save_task(shop, TASK, None, reset=False).task
    assert find_task(shop, 0, "NAMES") == task and find_task(shop, task.task_id, None) == task
    switched, etag = set_task_disabled(shop, 0, "names", True)
    assert switched.task_id == task.task_id and etag > 0
    found = find_task(shop, task.task_id, None)
    assert found is not None
    described = describe_task(shop, found, "http://127.0.0.1:8080")
    assert {key: described[key] for key in ("TaskId", "TaskType", "TaskState", "TaskConnectionStatus", "TaskName",
                                             "ConnectionStringName")} == {
        "TaskId": task.task_id, "TaskType": "EmbeddingsGeneration", "TaskState": "Disabled",
        "TaskConnectionStatus": "NotActive", "TaskName": "Names", "ConnectionStringName": "Local"}
    assert described["ResponsibleNode"]["NodeUrl"] == "http://127.0.0.1:8080"
    assert described["Configuration"]["Identifier"] == "names"
    with pytest.raises(NotFoundError, match="task 'other' does not exist"):
        set_task_disabled(shop, 0, "other", True)
