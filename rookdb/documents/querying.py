"""Running RQL against a database: the bridge from the database to the query executor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.query.executor import QueryResult, execute

__all__ = ["DatabaseQuerySource", "run_query"]


class DatabaseQuerySource:
    """Feeds the executor parsed documents straight from storage."""

    def __init__(self, database: Database) -> None:
        self._storage = database.storage

    def iter_collection(self, collection: str | None) -> Iterator[dict[str, Any]]:
        for document in self._storage.iter_collection(collection):
            parsed: dict[str, Any] = orjson.loads(document.body)
            yield parsed

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        document = self._storage.get(doc_id)
        if document is None:
            return None
        parsed: dict[str, Any] = orjson.loads(document.body)
        return parsed


def run_query(database: Database, query: str, parameters: dict[str, Any], *, start: int = 0,
              page_size: int | None = None) -> QueryResult:
    return execute(query, parameters, DatabaseQuerySource(database), start=start, page_size=page_size)
