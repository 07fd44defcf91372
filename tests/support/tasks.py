"""Embeddings tasks seen from outside: ``/ai/tasks/progress`` of a running server, and waiting on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from ravendb import DocumentStore

from rookdb.server.runner import BackgroundServer


def http(server: BackgroundServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def progress_answer(server: BackgroundServer, store: DocumentStore) -> dict[str, Any]:
    """The whole ``GET /ai/tasks/progress`` answer of the store's database."""
    with http(server) as client:
        response = client.get(f"/databases/{store.database}/ai/tasks/progress")
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def progress(server: BackgroundServer, store: DocumentStore) -> list[dict[str, Any]]:
    """The progress entry of every task of the store's database."""
    results: list[dict[str, Any]] = progress_answer(server, store)["Results"]
    return results


def caught_up(server: BackgroundServer, store: DocumentStore) -> Callable[[], bool]:
    """A condition: every task is idle (or disabled) with every document processed."""
    def check() -> bool:
        entries = progress(server, store)
        return bool(entries) and all(
            e["State"] in ("Idle", "Disabled") and e["DocumentsProcessed"] == e["DocumentsTotal"] for e in entries)

    return check
