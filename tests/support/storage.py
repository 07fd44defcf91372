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



def leave_fifty_of_two_hundred(storage: DocumentStorage) -> None:
    """200 documents of about 1 KB written, then 150 of them deleted: a file with space to give back."""
    with storage.write() as tx:
        for number in range(200):
            tx.put(f"a/{number}", "As", {"Text": "x" * 1000, "@metadata": {"@collection": "As"}})
    with storage.write() as tx:
        for number in range(150):
            tx.delete(f"a/{number}")

def snapshot(storage: DocumentStorage) -> list[Any]:
    """Every document and tombstone in etag order with its attachments and their contents, the
    database's id and the transactions' times taken out (so two databases compare byte for byte)."""
    def plain(text: str | bytes, last_modified: str) -> str:
        value = text.decode() if isinstance(text, bytes) else text
        value = value.replace(storage.database_id, "<db>")
        return value.replace(last_modified, "<time>") if last_modified else value

    return [(change.etag, change.id, change.collection, change.deleted,
             None if change.document is None else plain(change.document.body, change.document.last_modified),
             None if change.document is None else plain(change.document.change_vector, ""),
             [(a.name, a.hash, a.content_type, a.size, storage.attachment_content(change.id, a.name))
              for a in storage.attachments(change.id)])
            for change in storage.changes_since(0, 10_000)]
