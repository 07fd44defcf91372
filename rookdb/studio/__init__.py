"""The Studio: a browser client served by the server itself, calling only the public HTTP API."""

from rookdb.studio.mount import STUDIO_PAGES, STUDIO_PATH, studio_page, studio_routes

__all__ = ["STUDIO_PAGES", "STUDIO_PATH", "studio_page", "studio_routes"]
