"""No route answers malformed input with a 500: every error is RavenDB's envelope with a 4xx status."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Route

from rookdb.server.routes import routes

BAD_BODIES = [b"", b"{", b"[]", b"null", b'"text"', b"42", b'{"Unexpected": [1, {"x": null}]}', b"\xff\xfe"]
BAD_QUERIES = ["", "?id=", "?name=", "?id=x&name=y&key=abc&type=Nope&disable=maybe&start=-1&pageSize=x",
               "?connectionString=nope&type=Ai", "?taskName=nope&key=0&type=EmbeddingsGeneration&disable=true"]


def api_routes() -> list[tuple[str, str]]:
    found = []
    for route in routes():
        if not isinstance(route, Route) or route.path.startswith("/studio") or route.path == "/":
            continue
        for method in sorted(route.methods or []):
            if method != "HEAD":
                found.append((method, route.path))
    return found


@pytest.mark.parametrize(("method", "path"), api_routes(), ids=lambda value: str(value))
def test_malformed_input_never_yields_a_server_error(
        app_client: httpx.Client, app_database: str, method: str, path: str) -> None:
    url = path.replace("{database}", app_database)
    for query in BAD_QUERIES:
        for body in BAD_BODIES if method in ("POST", "PUT", "DELETE") else [b""]:
            response = app_client.request(method, url + query, content=body)
            missing_database = response.status_code == 503 and "Database-Missing" in response.headers
            assert response.status_code < 500 or missing_database, (method, path, query, body, response.text)
            if response.status_code >= 400 and response.content:
                envelope = response.json()
                assert {"Type", "Message", "Error"} <= set(envelope), response.text
                assert "Traceback" not in response.text
