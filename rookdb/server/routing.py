"""A router that finds a request's route by its path in a dict instead of trying every route in turn.

Starlette's router matches each route's regular expression against the path until one matches: about
a hundred tries for a route late in the table, on every request. Here the routes whose path is a
literal (``/build/version``) or a literal below ``/databases/{database}`` (``/docs``) are indexed by
that literal; a request tries only the routes of its path, with every other route (mounts, websocket
routes, paths with other parameters) kept in table order. A request that none of those routes takes
fully (a method the path does not serve, a trailing slash, no route at all) gets Starlette's own
complete scan, so its 405, redirect or 404 is what it always was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

__all__ = ["DATABASE_PREFIX", "IndexedRouter"]

DATABASE_PREFIX = "/databases/{database}"


def _key(path: str) -> str | None:
    """The index key of a route path: itself when literal, ``{database}/rest`` below a database."""
    if path.startswith(DATABASE_PREFIX + "/"):
        rest = path[len(DATABASE_PREFIX):]
        return None if "{" in rest else "{database}" + rest
    return None if "{" in path else path


class IndexedRouter(Router):
    """``Router`` whose HTTP requests try only the routes their path can match (see the module)."""

    def __init__(self, routes: Sequence[BaseRoute], **options: Any) -> None:
        super().__init__(routes, **options)
        keyed: dict[str, list[tuple[int, BaseRoute]]] = {}
        others: list[tuple[int, BaseRoute]] = []
        for position, route in enumerate(self.routes):
            key = _key(route.path) if isinstance(route, Route) else None
            if key is None:
                others.append((position, route))
            else:
                keyed.setdefault(key, []).append((position, route))
        self._others = [route for _, route in others]
        self._by_key = {key: [route for _, route in sorted([*found, *others], key=lambda pair: pair[0])]
                        for key, found in keyed.items()}

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes, in table order, that can match ``path`` fully."""
        found = self._by_key.get(path)
        if found is None and path.startswith("/databases/"):
            parts = path.split("/", 3)
            if len(parts) == 4 and parts[2]:
                found = self._by_key.get("{database}/" + parts[3])
        return self._others if found is None else found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.candidates(get_route_path(scope)):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
