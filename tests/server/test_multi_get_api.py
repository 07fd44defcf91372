"""Lazy operations through the official client (``POST /multi_get``) and HTTP caching with ETags."""

from __future__ import annotations

from datetime import timedelta

import httpx
from ravendb import DocumentStore
from ravendb.documents.operations.compare_exchange.operations import PutCompareExchangeValueOperation
from ravendb.documents.session.misc import SessionOptions, TransactionMode

from rookdb.server.runner import BackgroundServer


class User:
    def __init__(self, name: str | None = None, age: int = 0) -> None:
        self.name = name
        self.age = age


def seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        for number, name in enumerate(["Ann", "Bob", "Cy"], start=1):
            session.store(User(name, number * 10), f"users/{number}")
        session.save_changes()


def test_lazy_loads_queries_and_counts_in_one_request(store: DocumentStore) -> None:
    seed(store)
    store.operations.send(PutCompareExchangeValueOperation("emails/ann", "users/1", 0))
    with store.open_session(session_options=SessionOptions(transaction_mode=TransactionMode.CLUSTER_WIDE)) as session:
        first = session.advanced.lazily.load(["users/1"], User)
        missing = session.advanced.lazily.load(["users/9"], User)
        prefixed = session.advanced.lazily.load_starting_with("users/", User)
        adults = session.query(object_type=User).where_greater_than("age", 15).lazily()
        count = session.query(object_type=User).count_lazily()
        email = session.advanced.cluster_transaction.lazily.get_compare_exchange_value("emails/ann", str)
        session.advanced.eagerly.execute_all_pending_lazy_operations()
        assert session.advanced.number_of_requests == 1
        assert first.value["users/1"].name == "Ann" and missing.value == {"users/9": None}
        assert sorted(prefixed.value) == ["users/1", "users/2", "users/3"]
        assert sorted(user.name for user in adults.value) == ["Bob", "Cy"]
        assert (count.value, email.value.value) == (3, "users/1")


def test_a_malformed_inner_request_fails_alone(store: DocumentStore, server: BackgroundServer) -> None:
    seed(store)
    base = f"/databases/{store.database}"
    response = httpx.post(f"{server.url}{base}/multi_get", json={"Requests": [
        {"Url": f"{base}/docs", "Query": "?id=users/1"},
        {"Url": f"{base}/queries", "Method": "POST", "Content": {"Query": "from Users where ((("}},
        {"Url": "/databases/Other/docs", "Query": "?id=users/1"},
        "not a request",
        {"Url": f"{base}/multi_get", "Method": "POST"},
        {"Url": f"{base}/docs", "Query": "?id=users/404"},
    ]})
    results = response.json()["Results"]
    assert [result["StatusCode"] for result in results] == [200, 400, 400, 400, 400, 404]
    assert results[0]["Result"]["Results"][0]["name"] == "Ann" and results[0]["Headers"]["ETag"]
    assert "InvalidQueryException" in results[1]["Result"]["Type"]
    assert results[5]["Result"] is None


def test_conditional_gets_answer_304_while_nothing_changed(store: DocumentStore, server: BackgroundServer) -> None:
    seed(store)
    url = f"{server.url}/databases/{store.database}/docs?id=users/1"
    first = httpx.get(url)
    etag = first.headers["ETag"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    with store.open_session() as session:
        session.load("users/1", User).age = 11
        session.save_changes()
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    query = {"Query": "from Users where age > 5"}
    queries = f"{server.url}/databases/{store.database}/queries?queryHash=1"
    answered = httpx.post(queries, json=query)
    assert httpx.post(queries, json=query, headers={"If-None-Match": answered.headers["ETag"]}).status_code == 304


def test_the_client_cache_and_aggressive_caching(store: DocumentStore) -> None:
    seed(store)
    executor = store.get_request_executor()
    with store.open_session() as session:
        session.load("users/1", User)
    with store.open_session() as session:
        assert session.load("users/1", User).name == "Ann"
    assert len(executor.cache) > 0
    with store.aggressively_cache_for(timedelta(minutes=5)):
        with store.open_session() as session:
            session.load("users/2", User)
        before = executor.number_of_server_requests
        with store.open_session() as session:
            assert session.load("users/2", User).name == "Bob"
        assert executor.number_of_server_requests == before
