"""Serving the Studio's static files under ``/studio``, and sending ``/`` there."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

__all__ = ["STATIC_DIR", "STUDIO_PAGES", "STUDIO_PATH", "studio_page", "studio_routes"]

STUDIO_PATH = "/studio"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STUDIO_PAGES = (f"{STUDIO_PATH}/", f"{STUDIO_PATH}/index.html")  # the page itself, apart from its assets

# The Studio loads nothing but its own files and talks only to this server, so the policy can be
# strict: it also proves, in the browser tests, that no inline script or handler slipped in.
_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"cache-control", b"no-cache"),
    (b"content-security-policy", _CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
]


class _StudioFiles(StaticFiles):
    """Static files that are always revalidated, so a server upgrade never leaves stale modules."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


async def studio_page(request: Request) -> Response:
    """The Studio's page (``index.html``), which a secured server shows only to a known certificate."""
    return FileResponse(STATIC_DIR / "index.html", headers={name.decode(): value.decode() for name, value in _HEADERS})


async def _to_studio(request: Request) -> Response:
    return RedirectResponse(f"{STUDIO_PATH}/", status_code=307)


def studio_routes() -> list[BaseRoute]:
    """``/`` and ``/studio`` redirect to ``/studio/``, which serves ``index.html`` and its modules."""
    return [
        Route("/", _to_studio, methods=["GET", "HEAD"]),
        Route(STUDIO_PATH, _to_studio, methods=["GET", "HEAD"]),
        Mount(STUDIO_PATH, app=_StudioFiles(directory=STATIC_DIR, html=True), name="studio"),
    ]
