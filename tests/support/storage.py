"""Documents written straight into storage, each in its own transaction, as a client's save would."""

from __future__ import annotations

from typing import Any

from rookdb.storage.base import DocumentStorage


def put(storage: DocumentStorage, doc_id: str, collection: str = "Products", **fields: Any) -> None:
    with storage.write() as tx:
        tx.put(doc_id, collection, {**fields, "@metadata": {"@collection": collection}})


def delete(storage: DocumentStorage, doc_id: str) -> None:
    with storage.write() as tx:
        tx.delete(doc_id)
