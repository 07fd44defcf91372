"""Helpers for driving a worker over real storage: documents in, bounded waits, stored sections out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from rookdb.ai.embeddings.layout import sections_of
from rookdb.storage.sqlite import SqliteStorage

WAIT_SECONDS = 30.0


def wait_for(condition: Callable[[], Any], timeout: float = WAIT_SECONDS, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def put(storage: SqliteStorage, doc_id: str, collection: str = "Products", **fields: Any) -> None:
    with storage.write() as tx:
        tx.put(doc_id, collection, {**fields, "@metadata": {"@collection": collection}})


def delete(storage: SqliteStorage, doc_id: str) -> None:
    with storage.write() as tx:
        tx.delete(doc_id)


def sections(storage: SqliteStorage, source_id: str) -> dict[str, dict[str, Any]]:
    document = storage.get(f"embeddings/{source_id}")
    return {} if document is None else sections_of(orjson.loads(document.body))
