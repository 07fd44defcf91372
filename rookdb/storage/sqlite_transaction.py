"""SQLite backend: the writes of one transaction (``SqliteStorage.write``), on the writer connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from rookdb.storage.base import CompareExchangeValue, FieldEdit, StoredDocument
from rookdb.storage.metadata import AttachmentRow
from rookdb.storage.rows import DOCUMENT_COLUMNS, DocumentRow, RowWriteTransaction, prefix_bounds, row_to_document
from rookdb.storage.sqlite_field_edits import body_shape, edit_documents

__all__ = ["IN_CHUNK", "PREFIX_RANGE", "SqliteWriteTransaction"]

IN_CHUNK = 500
"""Values per ``IN (...)`` list."""

# A key range instead of substr() so prefix reads and deletes use the primary key.
PREFIX_RANGE = "key >= ? AND key < ?"


_INSERT_DOCUMENT = ("INSERT INTO documents (rowid, lower_id, id, collection, lower_collection, etag, change_vector, "
                    "last_modified, body, shape) VALUES (?5, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
"""A document's row goes in under its etag as row id, and every rewrite moves it to its new etag
(``_replace_rows``, ``edit_documents``): an index, which numbers documents by etag, reads the row by row
id without the etag index (``rookdb.indexes.reader``). Etags only grow, so a new one is never a row id
already taken, even by rows numbered by SQLite in files written before."""


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for offset in range(0, len(values), IN_CHUNK):
        yield values[offset : offset + IN_CHUNK]


class SqliteWriteTransaction(RowWriteTransaction):
    """The writes of one transaction on the database file's one writer connection."""

    def __init__(self, connection: sqlite3.Connection, database_id: str, last_etag: int, *,
                 track_commits: bool) -> None:
        super().__init__(database_id, last_etag, track_commits=track_commits)
        self._db = connection
        self._shapes: dict[int, str | None] = {}
        """The shape of each row stamped and not yet written, by etag."""

    def _save_last_etag(self, etag: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('last_etag', ?)", (str(etag),))

    def get(self, doc_id: str) -> StoredDocument | None:
        row = self._db.execute(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE lower_id = ?", (doc_id.lower(),)
        ).fetchone()
        return row_to_document(row) if row else None

    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        lowered = [doc_id.lower() for doc_id in doc_ids]
        found: dict[str, StoredDocument] = {}
        for chunk in _chunks(list(dict.fromkeys(lowered))):
            for row in self._db.execute(f"SELECT lower_id, {DOCUMENT_COLUMNS} FROM documents WHERE lower_id IN "
                                        f"({','.join('?' * len(chunk))})", chunk):
                found[row[0]] = row_to_document(row[1:])
        return [found.get(lower_id) for lower_id in lowered]

    def _attachments_of(self, lower_ids: Sequence[str]) -> dict[str, list[AttachmentRow]]:
        found: dict[str, list[AttachmentRow]] = {}
        for chunk in _chunks(list(lower_ids)):
            for lower_id, *row in self._db.execute(
                    "SELECT lower_doc_id, name, hash, content_type, size FROM attachments WHERE lower_doc_id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY lower_doc_id, name", chunk):
                found.setdefault(lower_id, []).append((row[0], row[1], row[2], row[3]))
        return found

    def _stamped(self, lower_id: str, doc_id: str, collection: str, body: dict[str, Any],
                 attachments: Iterable[AttachmentRow] | None) -> DocumentRow:
        # Every row written comes through here: its shape is read off the body while it is parsed.
        row = super()._stamped(lower_id, doc_id, collection, body, attachments)
        self._shapes[row[4]] = body_shape(body)
        return row

    def _shaped(self, row: DocumentRow) -> tuple[Any, ...]:
        """The row as stored: with its shape."""
        return (*row, self._shapes.pop(row[4]))

    def _replace_rows(self, rows: list[DocumentRow]) -> None:
        self._db.executemany(
            "UPDATE documents SET rowid = ?4, id = ?1, collection = ?2, lower_collection = ?3, etag = ?4, "
            "change_vector = ?5, last_modified = ?6, body = ?7, shape = ?8 WHERE lower_id = ?9",
            [(*self._shaped(row)[1:], row[0]) for row in rows])

    def edit_fields(self, lower_ids: Sequence[str], edits: Sequence[FieldEdit]) -> int | None:
        edited = edit_documents(self._db, lower_ids, edits, last_etag=self._etag, database_id=self._database_id,
                                now=self._now)
        if edited is None:
            return None
        self._etag += len(edited)
        if self.committed is not None:
            self.committed.add_rows(edited)
        return len(edited)

    def existing(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        lowered = list(dict.fromkeys(doc_id.lower() for doc_id in doc_ids))
        for offset in range(0, len(lowered), IN_CHUNK):
            chunk = lowered[offset : offset + IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for lower_id, doc_id, collection in self._db.execute(
                f"SELECT lower_id, id, collection FROM documents WHERE lower_id IN ({marks})", chunk
            ):
                found[lower_id] = (doc_id, collection)
        return found

    def _stored_id_and_attachments(self, lower_id: str) -> tuple[str | None, list[AttachmentRow]]:
        stored = self._db.execute("SELECT id FROM documents WHERE lower_id = ?", (lower_id,)).fetchone()
        attachments = self._db.execute(
            "SELECT name, hash, content_type, size FROM attachments WHERE lower_doc_id = ? ORDER BY name",
            (lower_id,)).fetchall()
        return (stored[0] if stored else None), attachments

    def _store_row(self, row: DocumentRow, *, replace: bool) -> None:
        if replace:
            self._db.execute("DELETE FROM documents WHERE lower_id = ?", (row[0],))
        self._db.execute(_INSERT_DOCUMENT, self._shaped(row))
        self._db.execute("DELETE FROM tombstones WHERE lower_id = ?", (row[0],))

    def _insert_rows(self, rows: list[DocumentRow]) -> None:
        self._db.executemany(_INSERT_DOCUMENT, map(self._shaped, rows))
        if self._db.execute("SELECT 1 FROM tombstones LIMIT 1").fetchone():
            self._db.executemany("DELETE FROM tombstones WHERE lower_id = ?", [(row[0],) for row in rows])

    def _delete_row(self, lower_id: str) -> list[str]:
        self._db.execute("DELETE FROM documents WHERE lower_id = ?", (lower_id,))
        hashes = [row[0] for row in self._db.execute(
            "SELECT hash FROM attachments WHERE lower_doc_id = ?", (lower_id,))]
        self._db.execute("DELETE FROM attachments WHERE lower_doc_id = ?", (lower_id,))
        return hashes

    def _put_tombstone(self, lower_id: str, doc_id: str, collection: str, etag: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?, ?, ?)",
                         (lower_id, doc_id, collection, collection.lower(), etag))

    def _attachment_row(self, lower_id: str, name: str) -> tuple[str, str, int] | None:
        row = self._db.execute("SELECT hash, content_type, size FROM attachments WHERE lower_doc_id = ? AND name = ?",
                               (lower_id, name)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def _store_contents(self, contents: Sequence[tuple[str, bytes]]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO attachment_contents VALUES (?, ?)", contents)

    def _link_attachments(self, rows: Sequence[tuple[str, str, str, str, int]]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO attachments VALUES (?, ?, ?, ?, ?)", rows)

    def _delete_attachment_rows(self, keys: Sequence[tuple[str, str]]) -> list[str]:
        # In process, a statement per row costs what one batch would.
        hashes: list[str] = []
        for key in keys:
            row = self._db.execute(
                "DELETE FROM attachments WHERE lower_doc_id = ? AND name = ? RETURNING hash", key).fetchone()
            if row:
                hashes.append(row[0])
        return hashes

    def _drop_unreferenced_contents(self, digests: Sequence[str]) -> None:
        self._db.executemany(
            "DELETE FROM attachment_contents WHERE hash = ? AND NOT EXISTS "
            "(SELECT 1 FROM attachments WHERE hash = ?)",
            [(digest, digest) for digest in digests],
        )

    def next_identity(self, name: str) -> int:
        row = self._db.execute(
            "INSERT INTO identities VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 "
            "RETURNING value", (name.lower(),)).fetchone()
        return int(row[0])

    def seed_identity(self, name: str, value: int, force: bool) -> int:
        update = "excluded.value" if force else "max(value, excluded.value)"
        row = self._db.execute(
            f"INSERT INTO identities VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = {update} "
            "RETURNING value", (name.lower(), value)).fetchone()
        return int(row[0])

    def _next_compare_exchange_index(self) -> int:
        row = self._db.execute(
            "INSERT INTO meta VALUES ('cmpxchg_index', '1') ON CONFLICT (key) DO UPDATE "
            "SET value = CAST(value AS INTEGER) + 1 RETURNING value").fetchone()
        return int(row[0])

    def get_compare_exchange(self, key: str) -> CompareExchangeValue | None:
        row = self._db.execute(
            "SELECT key, idx, value FROM compare_exchange WHERE lower_key = ?", (key.lower(),)).fetchone()
        return CompareExchangeValue(row[0], row[1], bytes(row[2])) if row else None

    def put_compare_exchange(self, key: str, value: Any) -> CompareExchangeValue:
        index = self._next_compare_exchange_index()
        encoded = orjson.dumps(value)
        row = self._db.execute(
            "INSERT INTO compare_exchange VALUES (?, ?, ?, ?) ON CONFLICT (lower_key) DO UPDATE "
            "SET idx = excluded.idx, value = excluded.value RETURNING key",
            (key.lower(), key, index, encoded)).fetchone()
        self._db.execute("DELETE FROM compare_exchange_tombstones WHERE lower_key = ?", (key.lower(),))
        return CompareExchangeValue(row[0], index, encoded)

    def delete_compare_exchange(self, key: str) -> int | None:
        deleted = self._db.execute(
            "DELETE FROM compare_exchange WHERE lower_key = ? RETURNING 1", (key.lower(),)).fetchone()
        if deleted is None:
            return None
        index = self._next_compare_exchange_index()
        self._db.execute("INSERT OR REPLACE INTO compare_exchange_tombstones VALUES (?, ?)", (key.lower(), index))
        return index

    def set_state(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, orjson.dumps(value)))

    def delete_state(self, key_prefix: str) -> None:
        self._db.execute(f"DELETE FROM state WHERE {PREFIX_RANGE}", prefix_bounds(key_prefix))

    def set_record(self, record: dict[str, Any]) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'record_etag'").fetchone()
        record_etag = (int(row[0]) if row else 0) + 1
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('record', ?)", (orjson.dumps(record).decode(),))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('record_etag', ?)", (str(record_etag),))
        return record_etag
