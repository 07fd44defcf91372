"""Prompts by model, end to end: an E5 connection string made with the official client embeds documents
as ``passage: …`` and search terms as ``query: …``; the connection string's own prompts, Test
Connection and bad input over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.connection_string.get_connection_string_operation import (
    GetConnectionStringsOperation,
)
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.serverwide.server_operation_executor import ConnectionStringType

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY, tei_inputs
from tests.support.stores import StoreFactory
from tests.support.tasks import caught_up, http, names_task
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

E5 = "intfloat/e5-small-v2"
NAMES = ["Chai", "Gorgonzola Telino", "Mozzarella di Giovanni", "Outback Lager", "Ravioli Angelo"]


class Product:
    def __init__(self, Name: str) -> None:
        self.Name = Name


@pytest.fixture
def e5_server(srv: EmbeddingServer) -> Iterator[EmbeddingServer]:
    srv.models.add(E5)
    yield srv
    srv.models.discard(E5)


def e5_connection(srv: EmbeddingServer) -> AiConnectionString:
    return AiConnectionString("E5", "e5", model_type=AiModelType.TEXT_EMBEDDINGS,
                              huggingface_settings=HuggingFaceSettings(EMBEDDING_API_KEY, E5, srv.url))


def stored_connection(server: BackgroundServer, store: DocumentStore, name: str = "E5") -> dict[str, Any]:
    with http(server) as client:
        response = client.get(f"/databases/{store.database}/admin/connection-strings",
                              params={"type": "Ai", "connectionStringName": name})
        response.raise_for_status()
        found: dict[str, Any] = response.json()["AiConnectionStrings"][name]
        return found


def put_raw(server: BackgroundServer, store: DocumentStore, body: dict[str, Any]) -> Any:
    with http(server) as client:
        return client.put(f"/databases/{store.database}/admin/connection-strings", json=body)


def test_an_e5_task_embeds_passages_and_queries_with_their_prefixes(
        server: BackgroundServer, new_store: StoreFactory, e5_server: EmbeddingServer) -> None:
    store = new_store()
    store.maintenance.send(PutConnectionStringOperation(e5_connection(e5_server)))
    with store.bulk_insert() as bulk:
        for number, name in enumerate(NAMES, start=1):
            bulk.store_as(Product(name), f"products/{number}-A")
    store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("E5")))
    wait_for(caught_up(server, store), what="the E5 task to embed the products")
    assert sorted(tei_inputs(e5_server)) == sorted(f"passage: {name}" for name in NAMES)

    with store.open_session() as session:
        results = list(session.advanced.raw_query(
            "from Products where vector.search(embedding.text(Name, ai.task('names')), $q)", dict,
        ).add_parameter("q", "italian cheese"))
    assert tei_inputs(e5_server)[-1] == "query: italian cheese"
    model = get_embedded_model()
    query = model.embed(["query: italian cheese"])[0]
    scores = model.embed([f"passage: {name}" for name in NAMES]) @ query
    expected = [NAMES[i] for i in np.argsort(-scores)]
    assert [result["Name"] for result in results] == expected


def test_own_prompts_round_trip_and_survive_an_edit_by_the_official_client(
        server: BackgroundServer, new_store: StoreFactory, e5_server: EmbeddingServer) -> None:
    store = new_store()
    sent = e5_connection(e5_server).to_json() | {"QueryPrompt": "Find: ", "DocumentPrompt": ""}
    assert put_raw(server, store, sent).status_code == 200
    assert (stored_connection(server, store)["QueryPrompt"], stored_connection(server, store)["DocumentPrompt"]) == (
        "Find: ", "")
    store.maintenance.send(PutConnectionStringOperation(e5_connection(e5_server)))  # knows nothing of prompts
    again = stored_connection(server, store)
    assert (again["QueryPrompt"], again["DocumentPrompt"]) == ("Find: ", "")
    got = store.maintenance.send(GetConnectionStringsOperation("E5", ConnectionStringType.AI))
    assert got.ai_connection_strings["E5"].to_json() == e5_connection(e5_server).to_json()


def test_test_connection_reports_the_prompts_it_will_use(
        server: BackgroundServer, new_store: StoreFactory, e5_server: EmbeddingServer) -> None:
    store = new_store()
    with http(server) as client:
        answer = client.post(f"/databases/{store.database}/admin/ai/test-connection",
                             json=e5_connection(e5_server).to_json()).json()
        own = client.post(f"/databases/{store.database}/admin/ai/test-connection",
                          json=e5_connection(e5_server).to_json() | {"QueryPrompt": ""}).json()
    assert answer["Success"] is True
    assert (answer["QueryPrompt"], answer["DocumentPrompt"], answer["PromptConvention"]) == (
        "query: ", "passage: ", "E5")
    assert (own["QueryPrompt"], own["QueryPromptSource"], own["DocumentPrompt"]) == (
        "", "connection string", "passage: ")


@pytest.mark.parametrize("field", ["QueryPrompt", "DocumentPrompt"])
def test_a_prompt_over_1000_characters_is_refused_and_changes_nothing(
        server: BackgroundServer, new_store: StoreFactory, e5_server: EmbeddingServer, field: str) -> None:
    store = new_store()
    store.maintenance.send(PutConnectionStringOperation(e5_connection(e5_server)))
    response = put_raw(server, store, e5_connection(e5_server).to_json() | {field: "x" * 1001})
    assert response.status_code == 400
    error = response.json()
    assert error["Type"] == "Raven.Client.Exceptions.BadRequestException"
    assert error["Field"] == field and field in error["Message"] and "1000" in error["Message"]
    assert field not in stored_connection(server, store)
