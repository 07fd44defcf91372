"""Who may call which route: the identity of each request and the guard every route in the table wears.

The middleware turns the TLS connection's client certificate into an ``Identity`` once per request;
the guard checks it against the ``Access`` the route table declares, writes the audit line and
refuses as RavenDB does: 403 ``InvalidAuth`` for clients, a redirect to the auth-error page for a
browser asking for HTML.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rookdb.errors import AuthorizationError, InsecureTransportError
from rookdb.security import Access, AuthenticationStatus, Identity, ServerSecurity, refusal
from rookdb.server.responses import error_response

__all__ = ["AUTH_ERROR_PAGE", "Endpoint", "IdentityMiddleware", "guarded", "identity_of", "security_of"]

Endpoint = Callable[[Request], Awaitable[Response]]

AUTH_ERROR_PAGE = "/studio/auth-error.html"
_CLIENT_VERSION_HEADER = "raven-client-version"
_PLAIN_HTTP_CALLER = Identity(AuthenticationStatus.NO_CERTIFICATE_PROVIDED)
_PLAIN_HTTP_MESSAGE = ("Attempted to access an HTTPS server using HTTP, did you forget to change 'http://' to "
                       "'https://' ?")


class IdentityMiddleware:
    """Puts the caller's ``Identity`` in ``scope["state"]``; plain HTTP on a secured server gets RavenDB's 400."""

    def __init__(self, app: ASGIApp, security: ServerSecurity) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.security.secured and scope.get("scheme") != "https":
            request = Request(scope)
            if self.security.audit is not None:
                self.security.audit.access(_PLAIN_HTTP_CALLER, method=request.method, path=request.url.path,
                                           database=None, client=_client_address(request),
                                           refusal=_PLAIN_HTTP_MESSAGE)
            response = error_response(request, InsecureTransportError(_PLAIN_HTTP_MESSAGE))
            await response(scope, receive, send)
            return
        chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
        scope.setdefault("state", {})["identity"] = self.security.identify(chain[0] if chain else None)
        await self.app(scope, receive, send)


def security_of(request: Request) -> ServerSecurity:
    security: ServerSecurity = request.app.state.security
    return security


def identity_of(request: Request) -> Identity:
    """The caller of this request (everyone, on a server without TLS)."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity if identity is not None else Identity.unsecured()


def guarded(access: Access, endpoint: Endpoint) -> Endpoint:
    """``endpoint`` behind the authorization ``access`` declares; an unsecured server lets everyone through."""

    async def authorized(request: Request) -> Response:
        identity = identity_of(request)
        if not identity.secured:
            return await endpoint(request)
        database = request.path_params.get("database")
        if database is None and access.database_query is not None:
            database = request.query_params.get(access.database_query)
        from_client = _CLIENT_VERSION_HEADER in request.headers
        reason = refusal(access, identity, database, from_client_api=from_client)
        audit = security_of(request).audit
        if audit is not None:
            audit.access(identity, method=request.method, path=request.url.path, database=database,
                         client=_client_address(request), refusal=reason)
        if reason is None:
            return await endpoint(request)
        if _wants_html(request):
            return RedirectResponse(f"{AUTH_ERROR_PAGE}?err={quote(reason)}", status_code=302)
        raise AuthorizationError(reason)

    return authorized


def _client_address(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client is not None else "-"


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "text/*" in accept
