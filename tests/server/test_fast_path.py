"""The fast path of single-document loads answers exactly what the full stack answers.

Each comparison sends the fast path's request (``?id=...``) and one the fast path leaves to the full
stack but that means the same (``&metadataOnly=false``), and compares status, headers and body.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from starlette.testclient import TestClient

from rookdb.server.fast_path import single_load
from rookdb.server.runner import BackgroundServer

_SAME_MEANING = "&metadataOnly=false"  # parsed by the full stack, changes nothing in the answer


def _scope(path: str, query: bytes, method: str = "GET") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": query, "headers": []}


def test_only_one_plain_id_on_the_docs_route_takes_the_fast_path() -> None:
    docs = "/databases/Orders/docs"
    assert single_load(_scope(docs, b"id=orders/1")) == ("Orders", "orders/1")
    assert single_load(_scope(docs, b"id=orders%2F1+a%C3%A9")) == ("Orders", "orders/1 aé")
    assert single_load(_scope(docs, b"id=a=b")) == ("Orders", "a=b")
    assert single_load(_scope(docs, b"&id=orders/1")) == ("Orders", "orders/1")  # as the official clients send it
    assert single_load(_scope(docs, b"&&id=orders/1&")) == ("Orders", "orders/1")
    for path, query, method in [(docs, b"id=orders/1", "HEAD"), (docs, b"id=orders/1", "PUT"),
                                (docs, b"id=a&id=b", "GET"), (docs, b"id=a&include=B", "GET"),
                                (docs, b"id=", "GET"), (docs, b"&id=", "GET"), (docs, b"", "GET"), (docs, b"&", "GET"),
                                (docs, b"pageSize=1", "GET"),
                                (docs + "/", b"id=a", "GET"), ("/databases//docs", b"id=a", "GET"),
                                ("/databases/Orders/attachments", b"id=a", "GET"), ("/docs", b"id=a", "GET")]:
        assert single_load(_scope(path, query, method)) is None, (path, query, method)
    assert single_load({"type": "websocket", "path": docs, "query_string": b"id=a"}) is None


def test_the_fast_path_answers_the_simple_load_itself(app_client: TestClient, app_database: str) -> None:
    app_client.put(f"/databases/{app_database}/docs", params={"id": "orders/1"},
                   json={"Total": 1, "@metadata": {"@collection": "Orders"}}).raise_for_status()
    fast_path = app_client.app.fast_path  # type: ignore[attr-defined]
    portal = app_client.portal
    assert portal is not None  # the client's lifespan runs for the whole session
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {**_scope(f"/databases/{app_database}/docs", b"id=orders/1"), "scheme": "http"}
    assert portal.call(fast_path.answered, scope, send) is True
    assert sent[0]["status"] == 200
    assert b'"Total":1' in sent[1]["body"]
    # A database that does not exist is left to the full stack, which answers the error envelope.
    sent.clear()
    missing = {**scope, "path": "/databases/NoSuchDatabase/docs"}
    assert portal.call(fast_path.answered, missing, send) is False
    assert sent == []


@pytest.fixture
def loaded(store: DocumentStore, server: BackgroundServer) -> tuple[httpx.Client, str]:
    with store.open_session() as session:
        session.store({"Name": "Chai", "Notes": "é ü", "@metadata": {"@collection": "Products"}}, "products/1 a")
        session.save_changes()
    return httpx.Client(base_url=server.url, timeout=30), f"/databases/{store.database}/docs"


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, [(k, v) for k, v in response.headers.multi_items() if k != "date"], response.content


def test_a_loaded_document_is_answered_as_the_full_stack_answers_it(loaded: tuple[httpx.Client, str]) -> None:
    client, docs = loaded
    for query in ("?id=products/1%20a", "?id=products%2F1+a", "?id=PRODUCTS/1%20A", "?&id=products%2F1%20a"):
        fast = _answer(client.get(docs + query))
        assert fast == _answer(client.get(docs + query + _SAME_MEANING))
        status, headers, body = fast
        assert status == 200
        assert [name for name, _ in headers] == ["server", "etag", "content-length", "content-type",
                                                 "raven-server-version"]
        assert b'"Notes":"\xc3\xa9 \xc3\xbc"' in body


def test_a_current_etag_gets_304_as_from_the_full_stack(loaded: tuple[httpx.Client, str]) -> None:
    client, docs = loaded
    etag = client.get(docs + "?id=products/1%20a").headers["etag"]
    fast = _answer(client.get(docs + "?id=products/1%20a", headers={"If-None-Match": etag}))
    assert fast == _answer(client.get(docs + "?id=products/1%20a" + _SAME_MEANING, headers={"If-None-Match": etag}))
    assert fast[0] == 304 and ("etag", etag) in fast[1] and fast[2] == b""
    stale = client.get(docs + "?id=products/1%20a", headers={"If-None-Match": '"A:1-old"'})
    assert stale.status_code == 200


def test_a_missing_document_gets_the_full_stacks_empty_404(loaded: tuple[httpx.Client, str]) -> None:
    client, docs = loaded
    fast = _answer(client.get(docs + "?id=products/404"))
    assert fast == _answer(client.get(docs + "?id=products/404" + _SAME_MEANING))
    assert fast[0] == 404 and fast[2] == b"" and ("content-length", "0") in fast[1]


def test_a_missing_database_gets_the_error_envelope(server: BackgroundServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/databases/NoSuchDatabase/docs?id=orders/1")
    assert response.status_code == 503
    assert response.json() == {
        "Url": "/databases/NoSuchDatabase/docs?id=orders/1",
        "Type": "Raven.Client.Exceptions.Database.DatabaseDoesNotExistException",
        "Message": "Database 'NoSuchDatabase' does not exist.",
        "Error": "Raven.Client.Exceptions.Database.DatabaseDoesNotExistException: Database 'NoSuchDatabase' does "
                 "not exist."}
    assert response.headers["raven-server-version"] == "7.2.0"


def test_the_official_client_loads_through_the_fast_path(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"Name": "Chai"}, "products/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.load("products/1")["Name"] == "Chai"
        assert session.load("products/2") is None
        # Loaded again: the client sends its cached ETag and reads the 304 as the cached document.
    with store.open_session() as session:
        assert session.load("products/1")["Name"] == "Chai"
