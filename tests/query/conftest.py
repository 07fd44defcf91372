"""Fixtures for the RQL tests: Northwind in memory, and the official client writing RQL offline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from tests.conftest import NORTHWIND_JSON

NORTHWIND = NORTHWIND_JSON


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


def _load_northwind() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads(NORTHWIND.read_text(encoding="utf-8"))
    for etag, doc in enumerate(documents, start=1):
        doc["@metadata"]["@change-vector"] = f"A:{etag}-rookdbtestsAAAAAAAAAAAA"
        doc["@metadata"]["@last-modified"] = "2025-01-01T00:00:00.0000000Z"
    return documents


_NORTHWIND = _load_northwind()


@pytest.fixture(scope="session")
def northwind_docs() -> list[dict[str, Any]]:
    return _NORTHWIND


@pytest.fixture
def northwind() -> MemorySource:
    return MemorySource(_NORTHWIND)


def collection(name: str) -> list[dict[str, Any]]:
    """The Northwind documents of one collection, for computing expectations by hand."""
    return [doc for doc in _NORTHWIND if doc["@metadata"]["@collection"] == name]


@pytest.fixture(scope="module")
def client_session() -> Iterator[Any]:
    """A session of the official client against no server: building a query needs no network."""
    from ravendb import DocumentStore

    store = DocumentStore(urls=["http://127.0.0.1:9"], database="rql")
    store.conventions.disable_topology_updates = True
    store.initialize()
    try:
        with store.open_session() as session:
            yield session
    finally:
        store.close()
