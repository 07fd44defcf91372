"""The write transaction's rules, written once for the SQL backends over a few row operations.

A backend says how to read and write one row (in its own SQL); the rules live here: etags and
server metadata, bulk puts, deletes that leave tombstones, attachments stored once per hash and
collected when the last reference goes, and the list of committed writes that commit listeners hear.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, overload

import orjson

from rookdb.storage.base import (
    Attachment,
    CommitListener,
    CommittedChange,
    DocumentWrite,
    StoredDocument,
    WriteTransaction,
)
from rookdb.storage.metadata import (
    AttachmentRow,
    apply_attachments,
    change_vector,
    content_hash,
    stamp,
)
from rookdb.wire import format_timestamp

__all__ = ["DOCUMENT_COLUMNS", "CommittedWrites", "DocumentRow", "EditedRow", "RowWriteTransaction", "in_etag_order",
           "notify_listeners", "prefix_bounds", "row_to_document"]

_log = logging.getLogger(__name__)

DocumentRow = tuple[str, str, str, str, int, str, str, bytes]
"""lower id, id, collection, lower collection, etag, change vector, last modified, body."""

EditedRow = tuple[int, str, str]
"""etag, id, collection of a document rewritten inside the database (``edit_fields``)."""

DOCUMENT_COLUMNS = "id, collection, etag, change_vector, last_modified, body"
"""What a read selects to build a ``StoredDocument`` with ``row_to_document``."""


def row_to_document(row: Sequence[Any]) -> StoredDocument:
    return StoredDocument(row[0], row[1], row[2], row[3], row[4], bytes(row[5]))


def _document_of(row: DocumentRow) -> StoredDocument:
    """The document a row just written holds."""
    return StoredDocument(row[1], row[2], row[4], row[5], row[6], row[7])


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """A key range holding every key that starts with ``prefix`` (keys compare byte-wise)."""
    return prefix, prefix + "\U0010ffff"


def in_etag_order(read_page: Callable[[int], Sequence[Sequence[Any]]], page_size: int) -> Iterator[StoredDocument]:
    """Documents page by page: ``read_page(after)`` gives up to ``page_size`` rows with an etag above ``after``."""
    after = 0
    while True:
        rows = read_page(after)
        for row in rows:
            yield row_to_document(row)
        if len(rows) < page_size:
            return
        after = rows[-1][2]


class CommittedWrites(Sequence[CommittedChange]):
    """The document writes of a transaction, in etag order, as commit listeners hear of them.

    Puts are kept as the rows written and become ``CommittedChange`` only when a listener reads them:
    most commits of a bulk insert or a patch are heard by listeners that only look whether there were any.
    """

    def __init__(self, database_id: str) -> None:
        self._database_id = database_id
        self._writes: list[DocumentRow | EditedRow | CommittedChange] = []

    def add_rows(self, rows: Sequence[DocumentRow] | Sequence[EditedRow]) -> None:
        self._writes += rows

    def add(self, change: CommittedChange) -> None:
        self._writes.append(change)

    def _change(self, write: DocumentRow | EditedRow | CommittedChange) -> CommittedChange:
        if isinstance(write, CommittedChange):
            return write
        if len(write) == 3:
            return CommittedChange(write[0], write[1], write[2], change_vector(write[0], self._database_id), False)
        return CommittedChange(write[4], write[1], write[2], write[5], False)

    def __len__(self) -> int:
        return len(self._writes)

    @overload
    def __getitem__(self, index: int) -> CommittedChange: ...

    @overload
    def __getitem__(self, index: slice) -> list[CommittedChange]: ...

    def __getitem__(self, index: int | slice) -> CommittedChange | list[CommittedChange]:
        if isinstance(index, slice):
            return [self._change(write) for write in self._writes[index]]
        return self._change(self._writes[index])

    def __iter__(self) -> Iterator[CommittedChange]:
        return map(self._change, self._writes)


def notify_listeners(listeners: Sequence[CommitListener], committed: Sequence[CommittedChange] | None) -> None:
    """Tell every listener of a committed transaction's document writes."""
    if not committed:
        return
    for listener in listeners:
        try:
            listener(committed)
        except Exception:
            # The write is committed; a failing listener must not make it look failed.
            _log.exception("A commit listener failed")


class RowWriteTransaction(WriteTransaction):
    """A write transaction over the row operations below; etags continue from ``last_etag``.

    With ``track_commits`` it lists its document writes in ``committed`` for the commit listeners.
    """

    def __init__(self, database_id: str, last_etag: int, *, track_commits: bool = False) -> None:
        self._database_id = database_id
        self._etag = last_etag
        self._start_etag = last_etag
        self._now = format_timestamp(datetime.now(UTC))
        self.committed: CommittedWrites | None = CommittedWrites(database_id) if track_commits else None

    # -- row operations, one statement each --------------------------------------------------

    @abc.abstractmethod
    def _save_last_etag(self, etag: int) -> None: ...

    @abc.abstractmethod
    def _stored_id_and_attachments(self, lower_id: str) -> tuple[str | None, list[AttachmentRow]]:
        """The id a document is stored under (None if there is none) and its attachments by name."""

    @abc.abstractmethod
    def _store_row(self, row: DocumentRow, *, replace: bool) -> None:
        """Write a document row (replacing the old one) and drop its tombstone."""

    @abc.abstractmethod
    def _attachments_of(self, lower_ids: Sequence[str]) -> dict[str, list[AttachmentRow]]:
        """The attachments of several documents by name, for those that have any."""

    @abc.abstractmethod
    def _replace_rows(self, rows: list[DocumentRow]) -> None:
        """Overwrite the rows of documents that exist (no tombstone can exist for them)."""

    @abc.abstractmethod
    def _insert_rows(self, rows: list[DocumentRow]) -> None:
        """Insert rows of documents that did not exist, dropping their tombstones."""

    @abc.abstractmethod
    def _delete_row(self, lower_id: str) -> list[str]:
        """Delete a document row and its attachment rows; the attachments' hashes."""

    @abc.abstractmethod
    def _put_tombstone(self, lower_id: str, doc_id: str, collection: str, etag: int) -> None: ...

    @abc.abstractmethod
    def _store_contents(self, contents: Sequence[tuple[str, bytes]]) -> None:
        """Add each (digest, content) unless content is stored under that digest already; digests distinct."""

    @abc.abstractmethod
    def _delete_attachment_rows(self, keys: Sequence[tuple[str, str]]) -> list[str]:
        """Delete the attachment rows (lower id, name); the hashes of those there were."""

    @abc.abstractmethod
    def _attachment_row(self, lower_id: str, name: str) -> tuple[str, str, int] | None:
        """An attachment's hash, content type and size."""

    @abc.abstractmethod
    def _link_attachments(self, rows: Sequence[tuple[str, str, str, str, int]]) -> None:
        """Point each attachment row (lower id, name, digest, content type, size) at content already
        stored under its digest, replacing the row of that name; (lower id, name) distinct."""

    @abc.abstractmethod
    def _drop_unreferenced_contents(self, digests: Sequence[str]) -> None:
        """Delete the content of each of ``digests`` no attachment row references."""

    # -- the rules ---------------------------------------------------------------------------

    def next_etag(self) -> int:
        self._etag += 1
        return self._etag

    def _written(self, rows: Sequence[DocumentRow]) -> None:
        """Hand the rows just stored to the commit listeners' list."""
        if self.committed is not None:
            self.committed.add_rows(rows)

    def finish(self) -> None:
        """Record the etags taken; call before commit."""
        if self._etag != self._start_etag:
            self._save_last_etag(self._etag)

    def put(self, doc_id: str, collection: str, body: dict[str, Any]) -> StoredDocument:
        return self._write_document(doc_id.lower(), doc_id, collection, body)

    def _stamped(self, lower_id: str, doc_id: str, collection: str, body: dict[str, Any],
                 attachments: Iterable[AttachmentRow] | None) -> DocumentRow:
        """The row of ``body`` stored with the next etag (``attachments`` None: it has none to list)."""
        etag = self.next_etag()
        vector = change_vector(etag, self._database_id)
        metadata = stamp(body, doc_id, vector, self._now)
        if attachments is not None:
            apply_attachments(metadata, attachments)
        return lower_id, doc_id, collection, collection.lower(), etag, vector, self._now, orjson.dumps(body)

    def _write_document(self, lower_id: str, doc_id: str, collection: str, body: dict[str, Any]) -> StoredDocument:
        # A replaced document keeps the casing of its id and its attachments.
        stored_id, attachments = self._stored_id_and_attachments(lower_id)
        row = self._stamped(lower_id, stored_id or doc_id, collection, body, attachments)
        self._store_row(row, replace=stored_id is not None)
        self._written((row,))
        return _document_of(row)

    def replace_many(self, replacements: Sequence[tuple[StoredDocument, dict[str, Any]]]) -> list[StoredDocument]:
        # Three statements for the whole batch (attachments, rows) instead of four or five per document.
        attachments = self._attachments_of([existing.id.lower() for existing, _ in replacements])
        rows = [self._stamped(existing.id.lower(), existing.id, existing.collection, body,
                              attachments.get(existing.id.lower(), ()))
                for existing, body in replacements]
        if rows:
            self._replace_rows(rows)
            self._written(rows)
        return [_document_of(row) for row in rows]

    def put_many(self, documents: Sequence[tuple[str, str, dict[str, Any]]],
                 existing: dict[str, tuple[str, str]]) -> None:
        # New documents go in as rows in one batch; replacements (an id seen earlier in the batch too)
        # take the careful path, after the rows before them: they must be in to be replaced, and
        # listeners hear of the writes in etag order.
        stored = {lower_id: doc_id for lower_id, (doc_id, _) in existing.items()}
        rows: list[DocumentRow] = []
        for doc_id, collection, body in documents:
            lower_id = doc_id.lower()
            if lower_id in stored:
                self._insert_new(rows)
                rows = []
                self._write_document(lower_id, stored[lower_id], collection, body)
                continue
            stored[lower_id] = doc_id
            rows.append(self._stamped(lower_id, doc_id, collection, body, None))
        self._insert_new(rows)

    def _insert_new(self, rows: list[DocumentRow]) -> None:
        if rows:
            self._insert_rows(rows)
            self._written(rows)

    def write_many(self, writes: Sequence[DocumentWrite]) -> list[StoredDocument | None]:
        # Puts go in runs of distinct ids, each run in a few statements whatever its length; a delete
        # (or an id seen again) ends the run, so that every write takes its etag in the order given.
        written: list[StoredDocument | None] = []
        run: list[DocumentWrite] = []
        in_run: set[str] = set()
        for write in writes:
            lower_id = write.id.lower()
            if write.body is None or lower_id in in_run:
                written += self._write_run(run)
                run, in_run = [], set()
            if write.body is None:
                self.delete(write.id)
                written.append(None)
                continue
            run.append(write)
            in_run.add(lower_id)
        written += self._write_run(run)
        return written

    def _write_run(self, run: Sequence[DocumentWrite]) -> list[StoredDocument | None]:
        """Puts of distinct documents with their attachment changes: contents, links and rows each in
        one batch statement, then the unreferenced contents dropped (the per-document path's end state)."""
        if not run:
            return []
        lower_ids = [write.id.lower() for write in run]
        stored = self.existing(lower_ids)
        current = self._attachments_of(lower_ids)
        contents: dict[str, bytes] = {}
        links: list[tuple[str, str, str, str, int]] = []
        unlinked: list[tuple[str, str]] = []
        released: set[str] = set()
        listed: list[list[AttachmentRow]] = []
        for write, lower_id in zip(run, lower_ids, strict=True):
            rows = {row[0]: row for row in current.get(lower_id, ())}
            for name, (content_type, content) in write.attach.items():
                digest = content_hash(content)
                contents.setdefault(digest, content)
                previous = rows.get(name)
                if previous is not None and previous[1] != digest:
                    released.add(previous[1])
                rows[name] = (name, digest, content_type, len(content))
                links.append((lower_id, name, digest, content_type, len(content)))
            for name in write.detach:
                gone = rows.pop(name, None)
                if gone is not None:
                    unlinked.append((lower_id, name))
                    released.add(gone[1])
            # Names are unique per document and compare as the stores order them (code point = byte order).
            listed.append(sorted(rows.values()))
        if contents:
            self._store_contents(list(contents.items()))
        if links:
            self._link_attachments(links)
        if unlinked:
            self._delete_attachment_rows(unlinked)
        if released:
            self._drop_unreferenced_contents(sorted(released))
        replaced: list[DocumentRow] = []
        inserted: list[DocumentRow] = []
        stamped: list[DocumentRow] = []
        for write, lower_id, attachments in zip(run, lower_ids, listed, strict=True):
            assert write.body is not None
            before = stored.get(lower_id)
            row = self._stamped(lower_id, before[0] if before else write.id, write.collection, write.body, attachments)
            (replaced if before else inserted).append(row)
            stamped.append(row)
        if replaced:
            self._replace_rows(replaced)
        if inserted:
            self._insert_rows(inserted)
        self._written(stamped)
        return [_document_of(row) for row in stamped]

    def delete(self, doc_id: str) -> StoredDocument | None:
        existing = self.get(doc_id)
        if existing is None:
            return None
        lower_id = doc_id.lower()
        hashes = sorted(set(self._delete_row(lower_id)))
        if hashes:
            self._drop_unreferenced_contents(hashes)
        etag = self.next_etag()
        self._put_tombstone(lower_id, existing.id, existing.collection, etag)
        if self.committed is not None:
            self.committed.add(CommittedChange(etag, existing.id, existing.collection,
                                               change_vector(etag, self._database_id), True))
        return existing

    def _touch(self, lower_id: str) -> None:
        document = self.get(lower_id)
        if document is not None:
            self._write_document(lower_id, document.id, document.collection, orjson.loads(document.body))

    def put_attachment(
        self, doc_id: str, name: str, content_type: str, content: bytes, *, touch_document: bool = True
    ) -> Attachment:
        lower_id = doc_id.lower()
        digest = content_hash(content)
        previous = self._attachment_row(lower_id, name)
        self._store_contents([(digest, content)])
        self._link_attachments([(lower_id, name, digest, content_type, len(content))])
        if previous is not None and previous[0] != digest:
            self._drop_unreferenced_contents([previous[0]])
        if touch_document:
            self._touch(lower_id)
        return Attachment(doc_id, name, digest, content_type, len(content))

    def delete_attachment(self, doc_id: str, name: str, *, touch_document: bool = True) -> bool:
        lower_id = doc_id.lower()
        hashes = self._delete_attachment_rows([(lower_id, name)])
        if not hashes:
            return False
        self._drop_unreferenced_contents(hashes)
        if touch_document:
            self._touch(lower_id)
        return True

    def get_attachment(self, doc_id: str, name: str) -> Attachment | None:
        row = self._attachment_row(doc_id.lower(), name)
        return Attachment(doc_id, name, *row) if row else None

    def copy_attachment(self, source_id: str, source_name: str, destination_id: str, destination_name: str,
                        *, touch_document: bool = True) -> Attachment | None:
        source = self.get_attachment(source_id, source_name)
        if source is None:
            return None
        lower_id = destination_id.lower()
        previous = self._attachment_row(lower_id, destination_name)
        self._link_attachments([(lower_id, destination_name, source.hash, source.content_type, source.size)])
        if previous is not None and previous[0] != source.hash:
            self._drop_unreferenced_contents([previous[0]])
        if touch_document:
            self._touch(lower_id)
        return Attachment(destination_id, destination_name, source.hash, source.content_type, source.size)
