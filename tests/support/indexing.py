"""Indexed querying in tests: a ``QuerySource`` over real storage that counts what it reads, and
Northwind written into storage."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from rookdb.indexes.registry import IndexRegistry
from rookdb.storage.base import DocumentStorage
from rookdb.storage.sqlite import SqliteStorage
from tests.support import northwind


class StorageSource:
    """Feeds the executor parsed documents from storage, counting collection scans and loads."""

    def __init__(self, storage: DocumentStorage) -> None:
        self.storage = storage
        self.documents_file = storage.documents_file  # indexes read the page's documents with it
        self.scans = 0
        self.loaded = 0

    def iter_collection(self, collection: str | None) -> Iterator[dict[str, Any]]:
        self.scans += 1
        for document in self.storage.iter_collection(collection):
            yield orjson.loads(document.body)

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        return self.get_documents([doc_id])[0]

    def get_documents(self, doc_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        self.loaded += len(doc_ids)
        return [None if stored is None else orjson.loads(stored.body) for stored in self.storage.get_many(doc_ids)]


def write_northwind(storage: DocumentStorage) -> None:
    """Northwind into ``storage``, in the sample's order, one transaction."""
    rows = [(doc["@metadata"]["@id"], doc["@metadata"]["@collection"], copy.deepcopy(doc))
            for doc in northwind.documents()]
    with storage.write() as tx:
        tx.put_many(rows, {})


@contextmanager
def indexed_northwind(folder: Path) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    """Northwind in a database under ``folder``, with its (empty) index registry."""
    with indexed_documents(folder, write_northwind) as opened:
        yield opened


@contextmanager
def indexed_documents(folder: Path, write: Callable[[DocumentStorage], None]
                      ) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    """A database under ``folder`` that ``write`` fills, with its (empty) index registry."""
    storage = SqliteStorage(folder / "db.sqlite3")
    write(storage)
    registry = IndexRegistry.open(folder / "indexes", storage)
    try:
        yield StorageSource(storage), registry
    finally:
        registry.close()
        storage.close()
