"""A database: documents, their change feed, HiLo ids and the database record, over one storage."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from rookdb.documents.changes import ChangesHub
from rookdb.documents.metadata import prepare_body, resolve_new_id
from rookdb.errors import BadRequestError, ConcurrencyError
from rookdb.settings import Settings
from rookdb.storage.base import DocumentStorage, StoredDocument, WriteTransaction
from rookdb.wire import CHANGE_VECTOR, LAST_MODIFIED

__all__ = ["BULK_INSERT_BATCH_SIZE", "Database", "PutResult"]

_T = TypeVar("_T")

# Documents a bulk insert writes per transaction (the server's bulk insert and the sample import alike).
BULK_INSERT_BATCH_SIZE = 2000



@dataclass(frozen=True)
class PutResult:
    document: StoredDocument

    def to_json(self) -> dict[str, Any]:
        return {
            "@id": self.document.id,
            "@collection": self.document.collection,
            CHANGE_VECTOR: self.document.change_vector,
            LAST_MODIFIED: self.document.last_modified,
        }


def _check_same_collection(doc_id: str, stored_collection: str, collection: str) -> None:
    if stored_collection.lower() != collection.lower():
        raise BadRequestError(
            f"Changing '{doc_id}' from '{stored_collection}' to '{collection}' via update is not supported.\n"
            f"Delete it and recreate the document {doc_id}.")


def _check_change_vector(doc_id: str, expected: str | None, existing: StoredDocument | None, action: str
                         ) -> None:
    if expected is None:
        return
    actual = existing.change_vector if existing is not None else ""
    if expected == "" and existing is None:
        return
    if existing is not None and expected == existing.change_vector:
        return
    if existing is None:
        message = (f"Document {doc_id} does not exist, but {action} was called with change vector "
                   f"{expected}. Optimistic concurrency violation, transaction will be aborted.")
    else:
        message = (f"Document {doc_id} has change vector {actual}, but {action} was called with "
                   f"{'expecting new document' if expected == '' else f'change vector {expected}'}. "
                   "Optimistic concurrency violation, transaction will be aborted.")
    raise ConcurrencyError(message)


class Database:
    """One database: the document API every endpoint and worker goes through.

    It knows nothing of the services built around it (``DatabaseServices``): they follow its change
    feed and hear about commits through ``on_change``.
    """

    def __init__(self, name: str, storage: DocumentStorage, directory: Path, settings: Settings) -> None:
        self.name = name
        self.storage = storage
        self.directory = directory
        self.settings = settings
        self._change_listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.changes = ChangesHub()
        """Who watches this database through the changes API; hears every committed write."""
        storage.add_commit_listener(self.changes.documents_committed)
        # Every commit that wrote documents wakes the services, whichever path made it; over several
        # nodes, another node's commits come through the same listener.
        storage.add_commit_listener(lambda committed: self.notify_changed())

    # -- lifecycle -----------------------------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every committed document write (wakes up workers)."""
        self._change_listeners.append(listener)

    def notify_changed(self) -> None:
        """Wake the listeners (the storage's commit listener does so after every commit that wrote documents)."""
        for listener in list(self._change_listeners):
            listener()

    def close(self) -> None:
        """Close the storage; the services built on this database are stopped first by their owner."""
        self.storage.close()

    # -- documents -----------------------------------------------------------------------------

    def get(self, doc_id: str) -> StoredDocument | None:
        return self.storage.get(doc_id)

    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        return self.storage.get_many(doc_ids)

    def put(self, doc_id: str | None, body: Any, expected_change_vector: str | None = None) -> PutResult:
        with self.storage.write() as tx:
            result = self.put_in(tx, doc_id, body, expected_change_vector)
        return result

    def put_in(self, tx: WriteTransaction, doc_id: str | None, body: Any,
               expected_change_vector: str | None = None) -> PutResult:
        """Store a document inside an open transaction, applying id conventions and concurrency."""
        body, collection = prepare_body(body)
        if not doc_id or doc_id.endswith("/") or doc_id.endswith("|"):
            identity = tx.next_identity(doc_id) if doc_id and doc_id.endswith("|") else None
            doc_id = resolve_new_id(doc_id, tx.next_etag(), identity)
        existing = tx.get(doc_id)
        _check_change_vector(doc_id, expected_change_vector, existing, "PUT")
        if existing is not None:
            _check_same_collection(existing.id, existing.collection, collection)
        return PutResult(tx.put(doc_id, collection, body))

    def replace_in(self, tx: WriteTransaction, existing: StoredDocument, body: Any) -> PutResult:
        """Store a new version of ``existing``, as just read in this transaction (no second lookup)."""
        body, collection = prepare_body(body)
        _check_same_collection(existing.id, existing.collection, collection)
        return PutResult(tx.put(existing.id, collection, body))

    def replace_many_in(self, tx: WriteTransaction, replacements: Sequence[tuple[StoredDocument, Any]]
                        ) -> list[StoredDocument]:
        """Store new versions of documents just read in this transaction and not written since (patch by
        query), in one batch."""
        prepared: list[tuple[StoredDocument, dict[str, Any]]] = []
        for existing, raw in replacements:
            body, collection = prepare_body(raw)
            _check_same_collection(existing.id, existing.collection, collection)
            prepared.append((existing, body))
        return tx.replace_many(prepared)

    def delete(self, doc_id: str, expected_change_vector: str | None = None) -> bool:
        with self.storage.write() as tx:
            deleted = self.delete_in(tx, doc_id, expected_change_vector)
        return deleted

    def delete_in(self, tx: WriteTransaction, doc_id: str, expected_change_vector: str | None = None
                  ) -> bool:
        existing = tx.get(doc_id)
        if expected_change_vector:
            _check_change_vector(doc_id, expected_change_vector, existing, "DELETE")
        return tx.delete(doc_id) is not None

    def insert_many(self, documents: Iterable[tuple[str | None, Any]],
                    batch_size: int = BULK_INSERT_BATCH_SIZE) -> int:
        """Bulk insert: store (id, body) pairs in large transactions, replacing existing ids; returns the count."""
        count = 0
        pending: list[tuple[str | None, Any]] = []
        for item in documents:
            pending.append(item)
            count += 1
            if len(pending) >= batch_size:
                self._insert_batch(pending)
                pending = []
        if pending:
            self._insert_batch(pending)
        return count

    def _insert_batch(self, batch: list[tuple[str | None, Any]]) -> None:
        prepared: list[tuple[str, str, dict[str, Any]]] = []
        with self.storage.write() as tx:
            for doc_id, raw in batch:
                body, collection = prepare_body(raw)
                if not doc_id or doc_id.endswith(("/", "|")):
                    self.put_in(tx, doc_id, body)
                else:
                    prepared.append((doc_id, collection, body))
            existing = tx.existing([doc_id for doc_id, _, _ in prepared])
            # An id stored before, or repeated in the batch, keeps its first collection, as one put after another would.
            collections = {lower_id: stored[1] for lower_id, stored in existing.items()}
            for doc_id, collection, _ in prepared:
                first = collections.setdefault(doc_id.lower(), collection)
                if first != collection:
                    _check_same_collection(doc_id, first, collection)
            tx.put_many(prepared, existing)

    # -- ids -----------------------------------------------------------------------------------

    @staticmethod
    def identity_name(name: str) -> str:
        """RavenDB's identity key for a collection prefix: ``users`` and ``users|`` both name ``users|``."""
        if not name or not name.strip():
            raise BadRequestError("An identity needs a name.")
        return name if name.endswith("|") else name + "|"

    def next_identity(self, name: str) -> int:
        with self.storage.write() as tx:
            return tx.next_identity(self.identity_name(name))

    def seed_identity(self, name: str, value: int, force: bool = False) -> int:
        with self.storage.write() as tx:
            return tx.seed_identity(self.identity_name(name), value, force)

    # -- database record -------------------------------------------------------------------------

    def record(self) -> tuple[dict[str, Any], int]:
        return self.storage.get_record()

    def record_etag(self) -> int:
        return self.storage.record_etag()

    def update_record(self, change: Callable[[dict[str, Any]], _T]) -> tuple[_T, int]:
        """Apply ``change`` to the record atomically; returns (its return value, new record etag)."""
        with self._lock, self.storage.write() as tx:
            record, _ = self.storage.get_record()
            outcome = change(record)
            etag = tx.set_record(record)
        return outcome, etag

    # -- views ---------------------------------------------------------------------------------

    @staticmethod
    def parse(document: StoredDocument) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(document.body)
        return parsed
