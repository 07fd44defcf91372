"""What embeddings cost, end to end: tokens as the provider reported them, money from the connection
string's price, a daily token budget that pauses a task (never a query), and bad input refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai import AddEmbeddingsGenerationOperation, UpdateEmbeddingsGenerationOperation
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.open_ai_settings import OpenAiSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.documents.operations.ongoing_tasks import (
    GetOngoingTaskInfoOperation,
    OngoingTaskConnectionStatus,
    OngoingTaskType,
)

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.stores import StoreFactory
from tests.support.tasks import caught_up, http, names_task, progress, progress_answer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

EMBEDDINGS = OngoingTaskType.EMBEDDINGS_GENERATION
PRICE = 0.02  # per million tokens, as OpenAI charges for text-embedding-3-small


def openai_connection(srv: EmbeddingServer, model: str = "text-embedding-3-small") -> AiConnectionString:
    return AiConnectionString("OpenAI", "openai", model_type=AiModelType.TEXT_EMBEDDINGS,
                              openai_settings=OpenAiSettings(EMBEDDING_API_KEY, f"{srv.url}/v1", model))


def northwind(server: BackgroundServer, new_store: StoreFactory) -> DocumentStore:
    store = new_store()
    httpx.post(f"{server.url}/databases/{store.database}/studio/sample-data", timeout=60).raise_for_status()
    return store


def put_json(server: BackgroundServer, store: DocumentStore, path: str, body: dict[str, Any],
             **params: str) -> httpx.Response:
    with http(server) as client:
        return client.put(f"/databases/{store.database}{path}", json=body, params=params)


def reported_prompt_tokens(srv: EmbeddingServer) -> int:
    """The sum of ``usage.prompt_tokens`` the local server answered: it counts the inputs it received
    with the model's tokenizer."""
    model = get_embedded_model()
    return sum(model.count_tokens(text) for request in srv.requests("openai") for text in request.body["input"])


def test_a_tasks_tokens_are_what_the_provider_reported_and_the_price_makes_money(
        server: BackgroundServer, new_store: StoreFactory, srv: EmbeddingServer) -> None:
    store = northwind(server, new_store)
    sent = openai_connection(srv).to_json() | {"PricePerMillionTokens": PRICE}
    put_json(server, store, "/admin/connection-strings", sent).raise_for_status()
    store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("OpenAI")))
    wait_for(caught_up(server, store), what="the task to embed Northwind's products")
    answer = progress_answer(server, store)
    [entry] = answer["Results"]
    expected = reported_prompt_tokens(srv)
    assert expected > 0 and entry["DocumentsProcessed"] == 77
    assert entry["Tokens"] == expected and entry["EstimatedTokens"] == 0
    today = entry["Usage"]["Today"]
    assert (today["Tokens"], today["ProviderCalls"]) == (expected, entry["ProviderCalls"])
    assert today["Spent"] == round(expected * PRICE / 1_000_000, 6)
    assert [day["Tokens"] for day in entry["Usage"]["Days"]] == [expected]
    [connection] = answer["ConnectionStrings"]
    assert (connection["Name"], connection["PricePerMillionTokens"]) == ("OpenAI", PRICE)
    assert connection["Usage"]["Total"]["Tokens"] == connection["Tasks"]["Tokens"] == expected

    with store.open_session() as session:  # a search term costs tokens too, under the connection string
        list(session.advanced.raw_query(
            "from Products where vector.search(embedding.text(Name, ai.task('names')), $q)", dict,
        ).add_parameter("q", "italian cheese"))
    queries = progress_answer(server, store)["ConnectionStrings"][0]["Queries"]
    assert queries["Tokens"] == get_embedded_model().count_tokens("italian cheese")


def test_a_daily_budget_pauses_the_task_but_never_a_query(
        server: BackgroundServer, new_store: StoreFactory, srv: EmbeddingServer) -> None:
    store = northwind(server, new_store)
    # A model whose tokens rookdb counts exactly (its tokenizer ships with rookdb): the budget holds.
    store.maintenance.send(PutConnectionStringOperation(openai_connection(srv, "all-minilm")))
    budgeted = names_task("OpenAI").to_json() | {"DailyTokenBudget": 60}
    added = put_json(server, store, "/admin/etl", budgeted, changeVector="LastDocument").json()
    wait_for(lambda: progress(server, store)[0]["State"] == "BudgetExhausted", what="the budget to run out")
    [entry] = progress(server, store)
    assert 0 < entry["DocumentsProcessed"] < 77 and entry["Tokens"] <= 60
    assert entry["DailyTokenBudget"] == 60 and entry["BudgetResumesAt"].endswith("T00:00:00.0000000Z")
    info = store.maintenance.send(GetOngoingTaskInfoOperation(added["TaskId"], EMBEDDINGS))
    assert info.task_connection_status == OngoingTaskConnectionStatus.NOT_ACTIVE
    assert "BudgetExhausted" in info.error and "60 tokens" in info.error

    with store.open_session() as session:  # the task's budget is not the query's
        results = list(session.advanced.raw_query(
            "from Products where vector.search(embedding.text(Name, ai.task('names')), $q)", dict,
        ).add_parameter("q", "cheese"))
    assert results

    # The official client does not know the budget: its update keeps it.
    store.maintenance.send(UpdateEmbeddingsGenerationOperation(added["TaskId"], names_task("OpenAI")))
    wait_for(lambda: progress(server, store)[0]["State"] == "BudgetExhausted", what="the same budget after an edit")
    raised = names_task("OpenAI").to_json() | {"DailyTokenBudget": 1_000_000}
    put_json(server, store, "/admin/etl", raised, id=str(added["TaskId"])).raise_for_status()
    wait_for(caught_up(server, store), what="the task to resume with the raised budget")
    assert progress(server, store)[0]["DocumentsProcessed"] == 77


@pytest.mark.parametrize(("path", "field", "value"), [
    ("/admin/connection-strings", "PricePerMillionTokens", -0.02),
    ("/admin/etl", "DailyTokenBudget", -1),
])
def test_a_negative_price_or_budget_is_refused_naming_the_field_and_changes_nothing(
        server: BackgroundServer, new_store: StoreFactory, srv: EmbeddingServer, path: str, field: str,
        value: float) -> None:
    store = new_store()
    store.maintenance.send(PutConnectionStringOperation(openai_connection(srv)))
    body = openai_connection(srv).to_json() if path.endswith("strings") else names_task("OpenAI").to_json()
    response = put_json(server, store, path, body | {field: value}, changeVector="LastDocument")
    assert response.status_code == 400
    error = response.json()
    assert error["Type"] == "Raven.Client.Exceptions.BadRequestException" and error["Field"] == field
    assert field in error["Message"] and "negative" in error["Message"]
    with http(server) as client:
        stored = client.get(f"/databases/{store.database}/admin/connection-strings").json()["AiConnectionStrings"]
        assert "PricePerMillionTokens" not in stored["OpenAI"]
        assert client.get(f"/databases/{store.database}/tasks").json()["OngoingTasks"] == []
