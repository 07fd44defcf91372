"""Every error answers with RavenDB's envelope and the right status; the client rebuilds it."""

from __future__ import annotations

import inspect
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.counters import GetCountersOperation
from ravendb.exceptions.exception_dispatcher import ExceptionDispatcher
from ravendb.exceptions.exceptions import DatabaseDoesNotExistException
from ravendb.exceptions.raven_exceptions import RavenException
from starlette.testclient import TestClient

from rookdb import errors
from rookdb.server.runner import BackgroundServer


def envelope(response: httpx.Response) -> dict[str, object]:
    body: dict[str, object] = response.json()
    assert set(body) >= {"Url", "Type", "Message", "Error"}, body
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "wire_type"),
    [
        ("POST", "/databases/{db}/bulk_docs", b"{not json", 400, "BadRequestException"),
        ("POST", "/databases/{db}/bulk_docs", b"[1, 2]", 400, "BadRequestException"),
        ("POST", "/databases/{db}/bulk_docs", b'{"Commands": [{"Type": "PATCH", "Id": "a"}]}', 400,
         "BadRequestException"),
        ("POST", "/databases/{db}/bulk_docs", b'{"Commands": [{"Type": "PUT", "Id": "a", "Document": 5}]}',
         400, "BadRequestException"),
        ("PUT", "/databases/{db}/docs?id=a", b"", 400, "BadRequestException"),
        ("DELETE", "/databases/{db}/docs", b"", 400, "BadRequestException"),
        ("GET", "/databases/{db}/hilo/next?tag=x&lastMax=abc", b"", 400, "BadRequestException"),
        ("POST", "/databases/{db}/queries", b'{"Query": 7}', 400, "BadRequestException"),
        ("POST", "/databases/{db}/bulk_insert?id=1", b"{]", 400, "BadRequestException"),
        ("GET", "/no/such/endpoint", b"", 400, "RouteNotFoundException"),
        ("PATCH", "/databases/{db}/docs", b"", 400, "BadRequestException"),
        ("PATCH", "/databases/{db}/stats", b"", 400, "RouteNotFoundException"),
        ("GET", "/studio/no-such-file.js", b"", 404, "RavenException"),
        ("GET", "/databases/{db}/attachments?id=nobody/1&name=x", b"", 404, "DocumentDoesNotExistException"),
        ("POST", "/databases/{db}/admin/tasks/state?key=999&type=EmbeddingsGeneration&disable=true", b"", 404,
         "RavenException"),
        ("DELETE", "/databases/{db}/admin/tasks?id=999&type=EmbeddingsGeneration", b"", 404, "RavenException"),
        ("DELETE", "/databases/{db}/admin/connection-strings?connectionString=Nope&type=Ai", b"", 404,
         "RavenException"),
        ("GET", "/databases/nope/docs?id=a", b"", 503, "DatabaseDoesNotExistException"),
        ("PUT", "/admin/databases?name=bad%20name", b"{}", 400, "BadRequestException"),
    ],
)
def test_malformed_input_gets_the_envelope(
    app_client: httpx.Client, app_database: str, method: str, path: str, content: bytes, status: int,
    wire_type: str,
) -> None:
    response = app_client.request(method, path.format(db=app_database), content=content)
    assert response.status_code == status, response.text
    body = envelope(response)
    assert str(body["Type"]).rsplit(".", 1)[-1] == wire_type
    assert body["Message"]


def test_unknown_route_is_answered_as_ravendb_does(app_client: httpx.Client) -> None:
    response = app_client.get("/no/such/endpoint", params={"x": "1"})
    assert response.status_code == 400
    assert envelope(response)["Type"] == "Raven.Client.Exceptions.Routing.RouteNotFoundException"
    assert envelope(response)["Message"] == "There is no handler for path: GET /no/such/endpoint?x=1"


def test_unsupported_client_operation_raises_instead_of_answering_none(store: DocumentStore) -> None:
    # Counters are not served: the client must say so, not read a 404 as "no counters".
    with pytest.raises(RavenException, match=r"There is no handler for path: GET /databases/\w+/counters"):
        store.operations.send(GetCountersOperation("products/1", ["likes"]))


def test_missing_attachment_of_an_existing_document(app_client: httpx.Client, app_database: str) -> None:
    put = {"Commands": [{"Type": "PUT", "Id": "products/1", "ChangeVector": None,
                         "Document": {"Name": "Chai", "@metadata": {"@collection": "Products"}}}]}
    app_client.post(f"/databases/{app_database}/bulk_docs", json=put).raise_for_status()
    response = app_client.get(f"/databases/{app_database}/attachments", params={"id": "products/1", "name": "nope"})
    assert response.status_code == 404
    assert envelope(response)["Type"] == "Raven.Client.Exceptions.Documents.Attachments.AttachmentDoesNotExistException"


def test_missing_database_raises_the_clients_exception(server: BackgroundServer) -> None:
    store = DocumentStore(urls=[server.url], database="DoesNotExist")
    store.initialize()
    try:
        with pytest.raises(DatabaseDoesNotExistException), store.open_session() as session:
            session.load("products/1")
    finally:
        store.close()


def test_changing_collection_is_refused(app_client: httpx.Client, app_database: str) -> None:
    url = f"/databases/{app_database}/bulk_docs"
    put = {"Id": "a/1", "ChangeVector": None, "Type": "PUT"}
    first = {"Commands": [{**put, "Document": {"@metadata": {"@collection": "Apples"}}}]}
    assert app_client.post(url, json=first).status_code == 201
    second = {"Commands": [{**put, "Document": {"@metadata": {"@collection": "Pears"}}}]}
    response = app_client.post(url, json=second)
    assert response.status_code == 400
    assert "Apples" in str(envelope(response)["Message"])


def _error_classes() -> list[type[errors.RookError]]:
    return [
        cls for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.RookError)
    ]


@pytest.mark.parametrize("error_class", _error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_survives_the_clients_dispatch(error_class: type[errors.RookError]) -> None:
    """The wire ``Type`` of every rookdb error maps to a client exception carrying our text."""
    error = _instance(error_class)
    exception = ExceptionDispatcher.get(
        ExceptionDispatcher.ExceptionSchema(
            "http://x", error.wire_type, error.message, f"{error.wire_type}: {error.message}"),
        error.status_code,
    )
    assert isinstance(exception, Exception)
    if not isinstance(exception, RavenException) or error.status_code != 409:
        assert error.message in str(exception)


def _instance(error_class: type[errors.RookError]) -> errors.RookError:
    """Build any error class by filling its required arguments from their annotations."""
    arguments: list[Any] = []
    for parameter in inspect.signature(error_class).parameters.values():
        if parameter.default is not inspect.Parameter.empty or parameter.kind in (
                parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.KEYWORD_ONLY):
            continue
        arguments.append(7 if "int" in str(parameter.annotation) else "something went wrong")
    return error_class(*arguments)


def test_a_client_gone_mid_body_is_not_a_server_error(app_client: TestClient, app_database: str) -> None:
    """A bulk insert whose client disconnects mid-stream: a 400 nobody reads, no 500, no traceback."""
    sent: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'[{"Id":"a/1","Type":"PUT","Document":{}},{"Id":"a/', "more_body": True},
        {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    path = f"/databases/{app_database}/bulk_insert"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"id=7", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    assert app_client.portal is not None

    async def call_app() -> None:
        await app_client.app(scope, receive, send)

    app_client.portal.call(call_app)  # raises if the app let the error escape
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert b"closed the connection" in b"".join(message.get("body", b"") for message in sent[1:])
    state = app_client.get(f"/databases/{app_database}/operations/state", params={"id": 7}).json()
    assert state["Status"] == "Faulted"
