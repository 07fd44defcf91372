"""The storage contract every backend implements (SQLite files, or one shared PostgreSQL database).

A ``DocumentStorage`` stores one database: documents with their metadata, tombstones, a monotonic
change feed (etag), attachments deduplicated by content hash, identities, compare-exchange values,
the database record and small state values that background workers persist with their progress. A
``StorageBackend`` is where a server's databases live: it lists, creates, opens and drops them. The
layers above never see SQL.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rookdb.storage.metadata import expires_of

__all__ = [
    "Attachment",
    "Change",
    "ClusterNode",
    "CommitListener",
    "CommittedChange",
    "CompareExchangeValue",
    "DocumentStorage",
    "DocumentWrite",
    "ExpiryChange",
    "FieldEdit",
    "Membership",
    "RecordListener",
    "StorageBackend",
    "StorageStatistics",
    "StoredDocument",
    "WriteTransaction",
]


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document as stored: ``body`` is its JSON (``@metadata`` included, server keys filled in)."""

    id: str
    collection: str
    etag: int
    change_vector: str
    last_modified: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed: a put (``document`` set) or a delete (``document`` None)."""

    etag: int
    id: str
    collection: str
    document: StoredDocument | None

    @property
    def deleted(self) -> bool:
        return self.document is None


@dataclass(frozen=True, slots=True)
class ExpiryChange:
    """One entry of the change feed as document expiration reads it: ``expires`` is the document's
    ``@metadata.@expires`` when it is a string (None for a delete or a document without one)."""

    etag: int
    id: str
    expires: str | None


@dataclass(frozen=True, slots=True)
class CommittedChange:
    """A document write of a committed transaction, as commit listeners hear of it."""

    etag: int
    id: str
    collection: str
    change_vector: str
    deleted: bool


CommitListener = Callable[[Sequence[CommittedChange]], None]
"""Called after each commit with its document writes, in commit order, before the next write begins."""

RecordListener = Callable[[], None]
"""Called when another node changed the database record."""


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """A node serving the databases of a backend: its tag (``A``, ``B``…), the URL clients use and
    the incarnation (one per process) that registered it."""

    tag: str
    url: str
    incarnation: str


@dataclass(frozen=True, slots=True)
class Membership:
    """What a heartbeat learns: this node's tag, the live nodes (by tag) and the topology's etag,
    which grows whenever a node joins or is dropped."""

    tag: str
    nodes: tuple[ClusterNode, ...]
    etag: int


@dataclass(frozen=True, slots=True)
class Attachment:
    """Attachment metadata; the content lives once per ``hash`` however many documents share it."""

    document_id: str
    name: str
    hash: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class DocumentWrite:
    """One document of ``WriteTransaction.write_many``: a put of ``body`` with the attachments it gains
    (``attach``: name → (content type, content)) and loses (``detach``), or a delete (``body`` None)."""

    id: str
    collection: str
    body: dict[str, Any] | None
    attach: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)
    detach: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class FieldEdit:
    """One step of ``WriteTransaction.edit_fields``: ``set`` the field at ``path`` to ``value`` (a JSON
    scalar in JavaScript's shape: an integral number is an int), ``add`` the integer ``value`` to an
    integer field, or ``delete`` the field."""

    operator: Literal["set", "add", "delete"]
    path: tuple[str, ...]
    value: Any = None


@dataclass(frozen=True, slots=True)
class CompareExchangeValue:
    """A compare-exchange entry: ``value`` is its JSON (``{"Object": ..., "@metadata": {...}}``).

    ``index`` changes on every write; it comes from one counter per database, so it only grows.
    Keys are case-insensitive; ``key`` keeps the casing of the first write.
    """

    key: str
    index: int
    value: bytes


@dataclass(frozen=True, slots=True)
class StorageStatistics:
    """Counts and sizes behind ``GetStatisticsOperation`` and ``GetDetailedStatisticsOperation``."""

    documents: int
    tombstones: int
    attachments: int
    unique_attachments: int
    identities: int
    compare_exchange: int
    compare_exchange_tombstones: int
    size_on_disk: int


class WriteTransaction(abc.ABC):
    """The writes of one atomic transaction; every put or delete takes the next etag."""

    @abc.abstractmethod
    def next_etag(self) -> int:
        """Reserve and return the next etag (used for server-generated ids)."""

    @abc.abstractmethod
    def put(self, doc_id: str, collection: str, body: dict[str, Any]) -> StoredDocument:
        """Store ``body`` (with user ``@metadata``); fills ``@id``, ``@change-vector``, ``@last-modified``."""

    @abc.abstractmethod
    def put_many(self, documents: Sequence[tuple[str, str, dict[str, Any]]],
                 existing: dict[str, tuple[str, str]]) -> None:
        """Store many (id, collection, body) at once (bulk insert); ``existing`` is ``self.existing(ids)``."""

    @abc.abstractmethod
    def existing(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Which of ``doc_ids`` exist: {lower-cased id: (stored id, collection)}."""

    @abc.abstractmethod
    def delete(self, doc_id: str) -> StoredDocument | None:
        """Delete a document and its attachments, leaving a tombstone; None if it did not exist."""

    @abc.abstractmethod
    def get(self, doc_id: str) -> StoredDocument | None:
        """Read inside the transaction (sees its own writes)."""

    @abc.abstractmethod
    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        """Read several documents inside the transaction, aligned with ``doc_ids`` (None: missing)."""

    @abc.abstractmethod
    def replace_many(self, replacements: Sequence[tuple[StoredDocument, dict[str, Any]]]) -> list[StoredDocument]:
        """Store new bodies of documents read in this transaction and not written since, each with the
        next etag, keeping its id, collection and attachments (patch by query); ids must be distinct."""

    def edit_fields(self, lower_ids: Sequence[str], edits: Sequence[FieldEdit]) -> int | None:
        """Apply ``edits`` in order to each existing document of ``lower_ids`` (distinct) inside the
        database, as patch by query does: a document the edits leave equal (strictly: ``true`` is not
        ``1``) is not written; each other one is stored as ``replace_many`` stores its body after
        JavaScript's JSON round trip (``3.0`` becomes ``3``), taking etags in the order of
        ``lower_ids``. Returns how many were written, or None — having written nothing — when a
        document needs the general path (a parent that is not an object, ``add`` to a non-integer,
        numbers or keys JavaScript would change otherwise) or the backend cannot do it in place. This
        default always answers None."""
        del lower_ids, edits
        return None

    @abc.abstractmethod
    def write_many(self, writes: Sequence[DocumentWrite]) -> list[StoredDocument | None]:
        """Apply ``writes`` in order, each as ``put_attachment`` (not touching the document) for every
        attachment in ``attach``, ``delete_attachment`` for every name in ``detach``, then ``put`` — or
        ``delete`` — with the same stored result, in a few statements for the whole batch. Returns the
        stored documents aligned with ``writes`` (None for a delete)."""

    @abc.abstractmethod
    def put_attachment(
        self, doc_id: str, name: str, content_type: str, content: bytes, *, touch_document: bool = True
    ) -> Attachment:
        """Attach ``content`` to a document, storing the bytes once per content hash."""

    @abc.abstractmethod
    def delete_attachment(self, doc_id: str, name: str, *, touch_document: bool = True) -> bool:
        """Remove one attachment; content no document references any more is dropped."""

    @abc.abstractmethod
    def get_attachment(self, doc_id: str, name: str) -> Attachment | None:
        """An attachment's metadata inside the transaction (sees its own writes)."""

    @abc.abstractmethod
    def copy_attachment(self, source_id: str, source_name: str, destination_id: str, destination_name: str,
                        *, touch_document: bool = True) -> Attachment | None:
        """Attach an existing attachment's content to a document under a name (no content is copied);
        None when the source does not exist."""

    @abc.abstractmethod
    def next_identity(self, name: str) -> int:
        """Increment the identity ``name`` (case-insensitive; created at 0) and return its new value."""

    @abc.abstractmethod
    def seed_identity(self, name: str, value: int, force: bool) -> int:
        """Raise the identity to ``value`` (or set it, with ``force``); returns the value it has now."""

    @abc.abstractmethod
    def get_compare_exchange(self, key: str) -> CompareExchangeValue | None:
        """A compare-exchange value inside the transaction (sees its own writes)."""

    @abc.abstractmethod
    def put_compare_exchange(self, key: str, value: Any) -> CompareExchangeValue:
        """Store ``value`` (JSON-serializable) under ``key`` with the next index; no check here."""

    @abc.abstractmethod
    def delete_compare_exchange(self, key: str) -> int | None:
        """Delete ``key``, leaving a tombstone; returns the index of the deletion, None when absent."""

    @abc.abstractmethod
    def set_state(self, key: str, value: Any) -> None:
        """Persist a small JSON value (a worker's position, a task's stats) with this transaction."""

    @abc.abstractmethod
    def delete_state(self, key_prefix: str) -> None:
        """Delete every state value whose key starts with ``key_prefix``."""

    @abc.abstractmethod
    def set_record(self, record: dict[str, Any]) -> int:
        """Replace the database record; returns its new etag."""


class DocumentStorage(abc.ABC):
    """One database's storage; safe to use from many threads (one writer at a time)."""

    database_id: str
    local_reads: bool = False
    """True when a read by id is a lookup in a local file that answers in microseconds and never waits
    for a writer, so a caller on the event loop may make it in place instead of handing it to a thread."""
    documents_file: Path | None = None
    """The local SQLite file whose ``documents`` table (``lower_id``, ``body``) holds these documents, when
    there is one: an index file attaches it to read a query's page and its documents in one statement.
    None when the documents live elsewhere (a server the backend talks to)."""

    @abc.abstractmethod
    def add_commit_listener(self, listener: CommitListener) -> None:
        """Hear of every committed document write; ``listener`` must be quick (it holds up the next write).

        Writes through this storage object are heard when they commit; writes by other nodes of a
        shared backend soon after, as the change feed shows them (the latest write of each document).
        """

    @abc.abstractmethod
    def add_record_listener(self, listener: RecordListener) -> None:
        """Hear when another node changes the database record (never called for a backend no other
        node shares)."""

    @abc.abstractmethod
    def write(self) -> AbstractContextManager[WriteTransaction]:
        """Open the single write transaction; commits on normal exit, rolls back on error."""

    @property
    def writers_waiting(self) -> bool:
        """Whether another writer may be waiting for the write lock now: a transaction that could pause
        (to let queries run) must not then. True where the backend cannot tell (another node's writers)."""
        return True

    @abc.abstractmethod
    def get(self, doc_id: str) -> StoredDocument | None:
        """A document by id, case-insensitively."""

    @abc.abstractmethod
    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        """Documents by id, aligned with ``doc_ids``."""

    @abc.abstractmethod
    def iter_collection(self, collection: str | None) -> Iterator[StoredDocument]:
        """Documents of a collection (case-insensitive) in etag order; None means every document."""

    def collection_ids(self, collection: str | None) -> list[str]:
        """The ids of ``iter_collection``'s documents, in its order (a backend may read them without
        the bodies)."""
        return [document.id for document in self.iter_collection(collection)]

    @abc.abstractmethod
    def list_by_prefix(self, prefix: str, start: int, page_size: int, start_after: str | None = None
                       ) -> list[StoredDocument]:
        """Documents whose id starts with ``prefix`` (case-insensitive), ordered by id."""

    @abc.abstractmethod
    def list_recent(self, collection: str | None, start: int, page_size: int) -> list[StoredDocument]:
        """Documents of a collection, newest first (the Studio's document list)."""

    @abc.abstractmethod
    def collection_counts(self) -> dict[str, int]:
        """Every collection with its document count."""

    @abc.abstractmethod
    def count(self, collection: str | None = None, *, after: int = 0) -> int:
        """Number of documents in a collection, or in the database; with ``after``, only those last
        written after that etag."""

    @abc.abstractmethod
    def changes_since(self, etag: int, limit: int, collection: str | None = None) -> list[Change]:
        """Puts and deletes with an etag greater than ``etag``, oldest first."""

    def expiries_since(self, etag: int, limit: int) -> list[ExpiryChange]:
        """``changes_since`` (every collection) as document expiration reads it; a backend may read each
        ``@expires`` without handing the bodies to Python."""
        return [ExpiryChange(change.etag, change.id, expires_of(change.document.body) if change.document else None)
                for change in self.changes_since(etag, limit)]

    @abc.abstractmethod
    def last_etag(self) -> int:
        """The etag of the newest write (0 for an empty database)."""

    @abc.abstractmethod
    def attachments(self, doc_id: str) -> list[Attachment]:
        """Attachments of a document."""

    @abc.abstractmethod
    def attachment_content(self, doc_id: str, name: str) -> tuple[Attachment, bytes] | None:
        """An attachment with its content."""

    @abc.abstractmethod
    def identities(self) -> dict[str, int]:
        """Every identity with its current value (names lower-cased, e.g. ``users|``)."""

    @abc.abstractmethod
    def compare_exchange(self, keys: Sequence[str]) -> list[CompareExchangeValue | None]:
        """Compare-exchange values by key (case-insensitive), aligned with ``keys``."""

    @abc.abstractmethod
    def compare_exchange_by_prefix(self, prefix: str, start: int, page_size: int) -> list[CompareExchangeValue]:
        """Compare-exchange values whose key starts with ``prefix`` (case-insensitive), ordered by key."""

    @abc.abstractmethod
    def statistics(self) -> StorageStatistics:
        """Counts of what is stored and the size the database takes on disk."""

    @abc.abstractmethod
    def compact(self) -> tuple[int, int]:
        """Give free space back to the file system; returns the size on disk (before, after)."""

    @abc.abstractmethod
    def get_state(self, key: str) -> Any:
        """A value stored with ``WriteTransaction.set_state`` (None when absent)."""

    @abc.abstractmethod
    def states(self, key_prefix: str) -> dict[str, Any]:
        """Every state value whose key starts with ``key_prefix``."""

    @abc.abstractmethod
    def get_record(self) -> tuple[dict[str, Any], int]:
        """The database record and its etag."""

    @abc.abstractmethod
    def record_etag(self) -> int:
        """The database record's etag alone: a cheap way to tell whether a parsed record is current."""

    @abc.abstractmethod
    def integrity_check(self) -> list[str]:
        """Problems found (empty when healthy): engine check, orphan or missing attachment content."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release files and connections."""


class StorageBackend(abc.ABC):
    """Where a server's databases live; names are case-insensitive and case-preserving."""

    @abc.abstractmethod
    def names(self) -> list[str]:
        """Every database, as named when created, sorted case-insensitively."""

    @abc.abstractmethod
    def find(self, name: str) -> str | None:
        """The stored name of database ``name`` (any casing), None if there is none."""

    @abc.abstractmethod
    def create(self, name: str) -> DocumentStorage:
        """Create and open an empty database; DatabaseAlreadyExistsError if the name is taken."""

    @abc.abstractmethod
    def open(self, name: str) -> DocumentStorage:
        """Open an existing database; DatabaseDoesNotExistError if there is none."""

    @abc.abstractmethod
    def drop(self, name: str) -> None:
        """Delete a database and everything in it; its storage must be closed first."""

    @abc.abstractmethod
    def heartbeat(self, tag: str | None, url: str, incarnation: str, timeout: float) -> Membership:
        """Say this node is alive (registering it under ``tag``, or a free tag when None) and drop the
        nodes silent for more than ``timeout`` seconds. ``incarnation`` tells a restarted node from the
        process it replaces."""

    @abc.abstractmethod
    def leave(self, tag: str, incarnation: str) -> None:
        """Unregister this node (a clean shutdown) unless a newer incarnation took its tag."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release shared connections."""
