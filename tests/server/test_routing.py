"""The indexed router picks the route Starlette's full scan picks, for every route of the table."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Route, Router

from rookdb.server.routes import routes
from rookdb.server.routing import IndexedRouter

ROUTES = routes()
PLAIN = Router(ROUTES)
INDEXED = IndexedRouter(ROUTES)


def scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def first_full(candidates: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    return next((route for route in candidates if route.matches(scope(method, path))[0] is Match.FULL), None)


def concrete_requests() -> list[tuple[str, str]]:
    requests = []
    for route in ROUTES:
        if isinstance(route, Route):
            path = re.sub(r"{[^}]+}", "some-db", route.path)
            requests += [(method, path) for method in sorted(route.methods or ())]
    return requests


EDGE_CASES = [("GET", "/databases/db1/docs/"), ("GET", "/databases//docs"), ("GET", "/databases/db1"),
              ("GET", "/nowhere"), ("PATCH", "/build/version"), ("OPTIONS", "/databases/db1/docs"),
              ("GET", "/studio/index.html"), ("GET", "/"), ("GET", "/databases/db1/docs/extra")]


@pytest.mark.parametrize(("method", "path"), [*concrete_requests(), *EDGE_CASES])
def test_the_indexed_router_takes_the_route_the_full_scan_takes(method: str, path: str) -> None:
    assert first_full(INDEXED.candidates(path), method, path) is first_full(PLAIN.routes, method, path)


def test_a_database_route_is_found_among_fewcandidates() -> None:
    assert len(INDEXED.candidates("/databases/db1/queries")) < len(ROUTES) / 4
