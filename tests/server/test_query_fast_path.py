"""The fast path of posted queries answers exactly what the full stack answers.

Each comparison posts the fast path's request and one the fast path leaves to the full stack but that
means the same (``?metadataOnly=false``), and compares status, headers and body; the body's duration and
query time, which change from one answer to the next, are set aside.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from starlette.testclient import TestClient
from starlette.types import Message

from rookdb.server.fast_path import QueryFastPath, posted_query
from rookdb.server.runner import BackgroundServer

_SAME_MEANING = "?metadataOnly=false"  # parsed by the full stack, changes nothing in the answer
_CHANGING = re.compile(rb'"(DurationInMs":\d+|LastQueryTime":"[^"]*")')
_VECTOR = "from Items where vector.search(Vector, $v) limit 2"
_EQUALITY = "from Items where Name = $n"


def _scope(path: str, query: bytes = b"", method: str = "POST") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": query, "headers": [],
            "scheme": "http"}


def test_only_a_post_to_the_queries_route_with_at_most_its_hash_takes_the_fast_path() -> None:
    queries = "/databases/Shop/queries"
    assert posted_query(_scope(queries)) == "Shop"
    assert posted_query(_scope(queries, b"queryHash=123")) == "Shop"  # as the official clients send it
    assert posted_query(_scope(queries, b"&queryHash=1&")) == "Shop"
    for path, query, method in [(queries, b"", "GET"), (queries, b"", "PATCH"), (queries, b"", "DELETE"),
                                (queries, b"queryHash=1&metadataOnly=true", "POST"),
                                (queries, b"debug=explain", "POST"), (queries, b"queryHash=1&debug=entries", "POST"),
                                (queries + "/", b"", "POST"), ("/databases//queries", b"", "POST"),
                                ("/databases/Shop/streams/queries", b"", "POST"), ("/queries", b"", "POST")]:
        assert posted_query(_scope(path, query, method)) is None, (path, query, method)
    assert posted_query({"type": "websocket", "path": queries, "query_string": b""}) is None


def test_the_fast_path_answers_a_short_query_itself(app_client: TestClient, app_database: str) -> None:
    queries = f"/databases/{app_database}/queries"
    app_client.put(f"/databases/{app_database}/docs", params={"id": "items/1"},
                   json={"Name": "a", "@metadata": {"@collection": "Items"}}).raise_for_status()
    app_client.post(queries, json={"Query": _EQUALITY, "QueryParameters": {"n": "a"},
                                   "WaitForNonStaleResults": True}).raise_for_status()  # creates the index
    fast_path: QueryFastPath = app_client.app.query_fast_path  # type: ignore[attr-defined]
    portal = app_client.portal
    assert portal is not None  # the client's lifespan runs for the whole session
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    def post(body: bytes, path: str = queries) -> tuple[bool, list[Message]]:
        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def call() -> tuple[bool, list[Message]]:
            answered, given_back = await fast_path.answered(_scope(path), receive, send)
            return answered, [] if answered else [await given_back()]

        sent.clear()
        answer: tuple[bool, list[Message]] = portal.call(call)
        return answer

    body = b'{"Query": "from Items where Name = $n", "QueryParameters": {"n": "a"}}'
    assert post(body) == (True, [])
    assert sent[0]["status"] == 200 and b'"Name":"a"' in sent[1]["body"]
    # Left to the full stack, with the body given back to read: a query that runs on a thread, one that
    # waits for its index, a body that is not JSON, a database that does not exist.
    for leftover, path in [(b'{"Query": "from Items where Name = $n order by Name", "QueryParameters": {"n": "a"}}',
                            queries),
                           (b'{"Query": "from Items where Name = \'a\'", "WaitForNonStaleResults": true}', queries),
                           (b"Query=from+Items", queries), (body, "/databases/NoSuchDatabase/queries")]:
        assert post(leftover, path) == (False, [{"type": "http.request", "body": leftover, "more_body": False}])
        assert sent == []


@pytest.fixture
def items(store: DocumentStore, server: BackgroundServer) -> tuple[httpx.Client, str]:
    with store.open_session() as session:
        for number, (name, vector) in enumerate([("é a", [1.0, 0.0]), ("b", [0.0, 1.0]), ("é a", [0.9, 0.1])]):
            session.store({"Name": name, "Vector": vector, "@metadata": {"@collection": "Items"}}, f"items/{number}")
        session.save_changes()
    client = httpx.Client(base_url=server.url, timeout=30)
    queries = f"/databases/{store.database}/queries"
    for rql, parameters in ((_VECTOR, {"v": [1.0, 0.0]}), (_EQUALITY, {"n": "é a"})):
        client.post(queries, json={"Query": rql, "QueryParameters": parameters, "WaitForNonStaleResults": True}
                    ).raise_for_status()
    return client, queries


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("date", "content-length")]
    return response.status_code, headers, _CHANGING.sub(b"", response.content)


@pytest.mark.parametrize(("rql", "parameters"), [(_VECTOR, {"v": [1.0, 0.0]}), (_EQUALITY, {"n": "é a"})])
def test_a_short_query_is_answered_as_the_full_stack_answers_it(items: tuple[httpx.Client, str], rql: str,
                                                                parameters: dict[str, Any]) -> None:
    client, queries = items
    body = {"Query": rql, "QueryParameters": parameters}
    for query in ("", "?queryHash=42"):
        fast = _answer(client.post(queries + query, json=body))
        assert fast == _answer(client.post(queries + _SAME_MEANING, json=body))
        status, headers, content = fast
        assert status == 200
        assert [name for name, _ in headers] == ["server", "etag", "content-type", "raven-server-version"]
        assert content.count(b'"Name":"\xc3\xa9 a"') == 2 and b'"IsStale":false' in content
    etag = client.post(queries, json=body).headers["etag"]
    cached = _answer(client.post(queries, json=body, headers={"If-None-Match": etag}))
    assert cached == _answer(client.post(queries + _SAME_MEANING, json=body, headers={"If-None-Match": etag}))
    assert cached[0] == 304 and ("etag", etag) in cached[1] and cached[2] == b""


def test_a_failing_short_query_gets_the_full_stacks_error_envelope(items: tuple[httpx.Client, str]) -> None:
    client, queries = items
    body = {"Query": _EQUALITY, "QueryParameters": {}}  # $n is missing
    fast, full = client.post(queries, json=body), client.post(queries + _SAME_MEANING, json=body)
    assert (fast.status_code, _answer(fast)[1]) == (full.status_code, _answer(full)[1])
    assert fast.status_code == 400 and fast.json()["Url"] == queries
    assert {**fast.json(), "Url": None} == {**full.json(), "Url": None} and "$n" in fast.json()["Message"]


def test_the_official_client_queries_through_the_fast_path(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"Name": "Chai", "@metadata": {"@collection": "Products"}}, "products/1")
        session.save_changes()
    for _ in range(3):  # creates the index, then answered by the fast path, then from the client's cache (304)
        with store.open_session() as session:
            found = list(session.advanced.raw_query("from Products where Name = $n").add_parameter("n", "Chai"))
        assert [product["Name"] for product in found] == ["Chai"]
