"""rookdb: a document database with built-in AI integration, speaking RavenDB's protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from rookdb.in_process import EmbeddedServer, embedded

__all__ = ["EmbeddedServer", "__version__", "embedded"]


def __getattr__(name: str) -> Any:
    # The server stack loads only when embedded mode is used, so `import rookdb.storage` stays light.
    if name in ("EmbeddedServer", "embedded"):
        from rookdb import in_process as module

        return getattr(module, name)
    raise AttributeError(f"module 'rookdb' has no attribute {name!r}")
