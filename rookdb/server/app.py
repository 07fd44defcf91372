"""The ASGI application: the route table wrapped in the error handling, with a lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from rookdb.documents.async_database import AsyncCatalog
from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.logs_configuration import LogsConfiguration
from rookdb.errors import BadRequestError, NotFoundError, RookError, RouteNotFoundError
from rookdb.security import SecurityConfig, ServerSecurity
from rookdb.server.access import IdentityMiddleware
from rookdb.server.endpoints.queries import QuerySlots
from rookdb.server.fast_path import DocumentLoadFastPath, QueryFastPath
from rookdb.server.headers import ServerVersionHeader, TopologyChangedHeader
from rookdb.server.responses import error_response
from rookdb.server.routes import routes
from rookdb.server.routing import IndexedRouter
from rookdb.settings import Settings

__all__ = ["DEFAULT_SHUTDOWN_DRAIN_SECONDS", "create_app"]

# At shutdown every database's services get this long, all at once, to finish the work in flight
# (an indexing step, an embeddings batch) before it is cancelled (see ``rookdb.background``).
DEFAULT_SHUTDOWN_DRAIN_SECONDS = 2.0


class _RookApp(Starlette):
    """The app, answering single-document loads and short queries on their fast paths before the full
    stack (``fast_path``)."""

    fast_path: DocumentLoadFastPath | None = None
    query_fast_path: QueryFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None and await self.fast_path.answered(scope, send):
            return
        if self.query_fast_path is not None:
            answered, receive = await self.query_fast_path.answered(scope, receive, send)
            if answered:
                return
        await super().__call__(scope, receive, send)


async def _rook_error(request: Request, error: Exception) -> Response:
    return error_response(request, error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404 and "endpoint" in request.scope:
        # A route matched, so a mounted app (the Studio's files) has nothing at this path.
        wrapped: RookError = NotFoundError(f"There is nothing at {request.url.path}.")
    elif error.status_code in (404, 405):
        query = f"?{request.url.query}" if request.url.query else ""
        wrapped = RouteNotFoundError(f"There is no handler for path: {request.method} {request.url.path}{query}")
    else:
        wrapped = BadRequestError(str(error.detail))
    return error_response(request, wrapped)


async def _client_gone(request: Request, error: Exception) -> Response:
    # Nobody is left to read the answer; what the access log shows is enough (no traceback: not a fault).
    return error_response(request, BadRequestError(
        "The client closed the connection before it finished sending the request."))


def create_app(settings: Settings, *, data_dir: Path | None = None, security: ServerSecurity | None = None
               ) -> Starlette:
    """Build the server app over the databases in ``data_dir`` (default: the ``Server.DataDir`` setting).

    ``security`` is the server's TLS and certificate state (default: from the settings).
    """
    security = security or ServerSecurity(SecurityConfig.from_settings(settings, data_dir))
    node_url = settings["Server.PublicUrl"].strip().rstrip("/") or (
        f"{'https' if security.secured else 'http'}://{settings['Server.Host']}:{settings['Server.Port']}")
    catalog = AsyncCatalog(DatabaseCatalog(Path(data_dir or settings["Server.DataDir"]), settings,
                                           node_url=node_url))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await catalog.start()
        try:
            yield
        finally:
            catalog.close(timeout=DEFAULT_SHUTDOWN_DRAIN_SECONDS)
            security.close()

    app = _RookApp(
        exception_handlers={RookError: _rook_error, HTTPException: _http_error, ClientDisconnect: _client_gone,
                            Exception: _rook_error},
        middleware=[Middleware(ServerVersionHeader), Middleware(TopologyChangedHeader, catalog=catalog),
                    Middleware(IdentityMiddleware, security=security)],
    )
    # Starlette builds a plain router (no argument takes another); this one finds a route by its path.
    app.router = IndexedRouter(routes(), lifespan=lifespan)
    app.state.catalog = catalog
    app.state.logs = LogsConfiguration(settings)
    app.state.security = security
    app.state.query_slots = QuerySlots()
    app.fast_path = DocumentLoadFastPath(catalog, security)
    app.query_fast_path = QueryFastPath(catalog, security, app.state.query_slots)
    return app
