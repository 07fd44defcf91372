"""Bulk insert's rule, shared by the backends: new documents go in as rows in one batch, replacements
take the careful path (stored casing and attachments kept), and an id repeated in the batch wins last."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from rookdb.storage.metadata import change_vector, stamp

__all__ = ["DocumentRow", "put_many"]

DocumentRow = tuple[str, str, str, str, int, str, str, bytes]
"""lower id, id, collection, lower collection, etag, change vector, last modified, body."""


def put_many(
    documents: Sequence[tuple[str, str, dict[str, Any]]],
    existing: dict[str, tuple[str, str]],
    *,
    next_etag: Callable[[], int],
    database_id: str,
    now: str,
    insert_rows: Callable[[list[DocumentRow]], None],
    replace: Callable[[str, str, str, dict[str, Any]], object],
) -> None:
    """Write ``documents``; ``insert_rows`` adds new rows, ``replace(lower id, stored id, collection, body)``."""
    stored = {lower_id: doc_id for lower_id, (doc_id, _) in existing.items()}
    pending: set[str] = set()
    rows: list[DocumentRow] = []
    for doc_id, collection, body in documents:
        lower_id = doc_id.lower()
        if lower_id in pending:  # the same id again: its first row must be in before it is replaced
            insert_rows(rows)
            rows = []
            pending.clear()
        if lower_id in stored:
            replace(lower_id, stored[lower_id], collection, body)
            continue
        stored[lower_id] = doc_id
        pending.add(lower_id)
        etag = next_etag()
        vector = change_vector(etag, database_id)
        stamp(body, doc_id, vector, now)
        rows.append((lower_id, doc_id, collection, collection.lower(), etag, vector, now, orjson.dumps(body)))
    if rows:
        insert_rows(rows)
