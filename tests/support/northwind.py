"""The Northwind sample: its file, its documents in etag order, and a ``QuerySource`` over them in memory."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

NORTHWIND_JSON = Path(__file__).resolve().parents[2] / "rookdb" / "documents" / "samples" / "northwind.json"


@cache
def documents() -> list[dict[str, Any]]:
    """The sample's documents with the change vectors and dates a database would give them (shared: don't edit)."""
    loaded: list[dict[str, Any]] = json.loads(NORTHWIND_JSON.read_text(encoding="utf-8"))
    for etag, doc in enumerate(loaded, start=1):
        doc["@metadata"]["@change-vector"] = f"A:{etag}-rookdbtestsAAAAAAAAAAAA"
        doc["@metadata"]["@last-modified"] = "2025-01-01T00:00:00.0000000Z"
    return loaded


def collection(name: str) -> list[dict[str, Any]]:
    """The Northwind documents of one collection, for computing expectations by hand."""
    return [doc for doc in documents() if doc["@metadata"]["@collection"] == name]


class MemorySource:
    """A ``QuerySource`` over a list of documents, in list order (as etag order in a database)."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents
        self.by_id = {doc["@metadata"]["@id"].lower(): doc for doc in documents}
        self.loaded: list[str] = []

    def iter_collection(self, collection: str | None) -> Iterable[dict[str, Any]]:
        if collection is None:
            return iter(self.documents)
        wanted = collection.lower()
        return (doc for doc in self.documents if doc["@metadata"]["@collection"].lower() == wanted)

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        self.loaded.append(doc_id)
        return self.by_id.get(doc_id.lower())
