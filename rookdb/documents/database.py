"""A database: documents, their change feed, HiLo ids and the database record, over one storage."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson

from rookdb.documents.metadata import prepare_body, resolve_new_id
from rookdb.errors import BadRequestError, ConcurrencyError
from rookdb.settings import Settings
from rookdb.storage.base import DocumentStorage, StoredDocument, WriteTransaction

__all__ = ["Database", "HiloRange", "PutResult"]

_T = TypeVar("_T")

_HILO_MIN_CAPACITY = 32
_HILO_MAX_CAPACITY = 1024 * 1024
_HILO_GROWTH_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class PutResult:
    document: StoredDocument

    def to_json(self) -> dict[str, Any]:
        return {
            "@id": self.document.id,
            "@collection": self.document.collection,
            "@change-vector": self.document.change_vector,
            "@last-modified": self.document.last_modified,
        }


@dataclass(frozen=True)
class HiloRange:
    prefix: str
    low: int
    high: int
    last_size: int
    last_range_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "Prefix": self.prefix, "Low": self.low, "High": self.high, "LastSize": self.last_size,
            "ServerTag": "A", "LastRangeAt": self.last_range_at,
        }


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

    # -- lifecycle -----------------------------------------------------------------------------

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every committed document write (wakes up workers)."""
        self._change_listeners.append(listener)

    def notify_changed(self) -> None:
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
        self.notify_changed()
        return result

    def put_in(self, tx: WriteTransaction, doc_id: str | None, body: Any,
               expected_change_vector: str | None = None) -> PutResult:
        """Store a document inside an open transaction, applying id conventions and concurrency."""
        body, collection = prepare_body(body)
        if not doc_id or doc_id.endswith("/") or doc_id.endswith("|"):
            identity = None
            if doc_id and doc_id.endswith("|"):
                identity, _ = tx.hilo_next("identity:" + doc_id[:-1], 0, 1)
            doc_id = resolve_new_id(doc_id, tx.next_etag(), identity)
        existing = tx.get(doc_id)
        _check_change_vector(doc_id, expected_change_vector, existing, "PUT")
        if existing is not None and existing.collection.lower() != collection.lower():
            raise BadRequestError(
                f"Changing '{doc_id}' from '{existing.collection}' to '{collection}' via update is not "
                "supported. Delete it and recreate the document.")
        return PutResult(tx.put(doc_id, collection, body))

    def delete(self, doc_id: str, expected_change_vector: str | None = None) -> bool:
        with self.storage.write() as tx:
            deleted = self.delete_in(tx, doc_id, expected_change_vector)
        self.notify_changed()
        return deleted

    def delete_in(self, tx: WriteTransaction, doc_id: str, expected_change_vector: str | None = None
                  ) -> bool:
        existing = tx.get(doc_id)
        if expected_change_vector:
            _check_change_vector(doc_id, expected_change_vector, existing, "DELETE")
        return tx.delete(doc_id) is not None

    def batch(self, commands: list[Any]) -> list[dict[str, Any]]:
        """Run ``bulk_docs`` commands atomically; results are aligned with the commands."""
        results: list[dict[str, Any]] = []
        with self.storage.write() as tx:
            for index, command in enumerate(commands):
                if not isinstance(command, dict):
                    raise BadRequestError(f"Commands[{index}] must be a JSON object.")
                kind = command.get("Type")
                doc_id = command.get("Id")
                change_vector = command.get("ChangeVector")
                if doc_id is not None and not isinstance(doc_id, str):
                    raise BadRequestError(f"Commands[{index}].Id must be a string.")
                if change_vector is not None and not isinstance(change_vector, str):
                    raise BadRequestError(f"Commands[{index}].ChangeVector must be a string or null.")
                if kind == "PUT":
                    if "Document" not in command:
                        raise BadRequestError(f"Commands[{index}] (PUT) has no Document.")
                    put = self.put_in(tx, doc_id, command["Document"], change_vector)
                    results.append({"Type": "PUT", **put.to_json()})
                elif kind == "DELETE":
                    if not doc_id:
                        raise BadRequestError(f"Commands[{index}] (DELETE) has no Id.")
                    deleted = self.delete_in(tx, doc_id, change_vector)
                    results.append({"Type": "DELETE", "Id": doc_id, "Deleted": deleted})
                else:
                    raise BadRequestError(
                        f"Commands[{index}]: command type {kind!r} is not supported (PUT and DELETE are).")
        self.notify_changed()
        return results

    def insert_many(self, documents: Iterable[tuple[str | None, Any]], batch_size: int = 5000) -> int:
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
            for doc_id, collection, _ in prepared:
                previous = existing.get(doc_id.lower())
                if previous is not None and previous[1].lower() != collection.lower():
                    raise BadRequestError(
                        f"Changing '{doc_id}' from '{previous[1]}' to '{collection}' via update is not "
                        "supported. Delete it and recreate the document.")
            tx.put_many(prepared, existing)
        self.notify_changed()

    # -- ids -----------------------------------------------------------------------------------

    def hilo_next(self, tag: str, last_batch_size: int, last_range_at: str | None, last_max: int,
                  separator: str = "/") -> HiloRange:
        capacity = _HILO_MIN_CAPACITY
        if last_batch_size > 0:
            capacity = last_batch_size
            if last_range_at:
                try:
                    previous = datetime.fromisoformat(last_range_at.rstrip("Z")[:26]).replace(tzinfo=UTC)
                except ValueError:
                    previous = None
                if previous is not None and datetime.now(UTC) - previous < _HILO_GROWTH_WINDOW:
                    capacity = min(last_batch_size * 2, _HILO_MAX_CAPACITY)
        with self.storage.write() as tx:
            low, high = tx.hilo_next(tag, last_max, capacity)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
        return HiloRange(f"{tag}{separator}", low, high, capacity, now)

    def hilo_return(self, tag: str, end: int, last: int) -> None:
        with self.storage.write() as tx:
            tx.hilo_return(tag, end, last)

    # -- database record -------------------------------------------------------------------------

    def record(self) -> tuple[dict[str, Any], int]:
        return self.storage.get_record()

    def update_record(self, change: Callable[[dict[str, Any]], _T]) -> tuple[_T, int]:
        """Apply ``change`` to the record atomically; returns (its return value, new record etag)."""
        with self._lock, self.storage.write() as tx:
            record, _ = self.storage.get_record()
            outcome = change(record)
            etag = tx.set_record(record)
        return outcome, etag

    # -- views ---------------------------------------------------------------------------------

    def statistics(self) -> dict[str, Any]:
        counts = self.storage.collection_counts()
        return {
            "CountOfDocuments": sum(counts.values()),
            "Collections": counts,
            "LastDocEtag": self.storage.last_etag(),
            "DatabaseId": self.storage.database_id,
        }

    @staticmethod
    def parse(document: StoredDocument) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(document.body)
        return parsed
