"""SQLite backend: one file per database (in one folder each), WAL, one serialized writer, per-thread readers."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from rookdb.errors import StorageError
from rookdb.storage.base import (
    Attachment,
    Change,
    CommitListener,
    CompareExchangeValue,
    DocumentStorage,
    ExpiryChange,
    RecordListener,
    StorageStatistics,
    StoredDocument,
    WriteTransaction,
)
from rookdb.storage.metadata import EXPIRES_MARKER, new_database_id
from rookdb.storage.rows import (
    DOCUMENT_COLUMNS,
    in_etag_order,
    notify_listeners,
    prefix_bounds,
    row_to_document,
)
from rookdb.storage.sqlite_transaction import IN_CHUNK, PREFIX_RANGE, SqliteWriteTransaction
from rookdb.wire import EXPIRES

__all__ = ["DATABASE_FILE", "READER_CACHE_KIB", "SqliteStorage"]

DATABASE_FILE = "rookdb.sqlite3"
READER_CACHE_KIB = 32_000
"""The page cache of each connection that reads the database file (the index readers that attach it too)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    lower_id TEXT NOT NULL UNIQUE,
    id TEXT NOT NULL,
    collection TEXT NOT NULL,
    lower_collection TEXT NOT NULL,
    etag INTEGER NOT NULL UNIQUE,
    change_vector TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    body BLOB NOT NULL,
    shape TEXT
);
CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (lower_collection, etag);
CREATE TABLE IF NOT EXISTS tombstones (
    lower_id TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    collection TEXT NOT NULL,
    lower_collection TEXT NOT NULL,
    etag INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attachment_contents (hash TEXT PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS attachments (
    lower_doc_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (lower_doc_id, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attachments_by_hash ON attachments (hash);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identities (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS compare_exchange (
    lower_key TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS compare_exchange_tombstones (lower_key TEXT PRIMARY KEY, idx INTEGER NOT NULL)
    WITHOUT ROWID;
"""

# Files from before documents had a shape (sqlite_field_edits.body_shape) get the column, NULL: a patch
# looks at those bodies as it did, and each row has its shape from its next write on.
_SHAPE_COLUMN = "SELECT 1 FROM pragma_table_info('documents') WHERE name = 'shape'"
# Older files kept HiLo ranges in a table of their own, identities among them as 'identity:<prefix>'.
_OLD_HILO_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hilo'"
_HILO_DOCUMENT_PREFIX = "Raven/Hilo/"
_HILO_COLLECTION = "@hilo"

_PAGE = 1024
_EXPIRES_PATH = f'$."@metadata"."{EXPIRES}"'
def _sqlite_failure(action: str, error: sqlite3.Error) -> StorageError:
    return StorageError(f"Storage failed to {action}: {error}")


class SqliteStorage(DocumentStorage):
    """A database in one SQLite file (WAL): writes serialized by a lock, reads on per-thread connections."""

    local_reads = True  # WAL: readers never wait for the writer

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = path
        self.documents_file = path
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = threading.Lock()
        self._waiting = 0  # threads blocked on ``_write_lock`` (``writers_waiting``)
        self._waiting_lock = threading.Lock()
        self._listeners: list[CommitListener] = []
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.executescript(_SCHEMA)
            if not self._writer.execute(_SHAPE_COLUMN).fetchone():
                self._writer.execute("ALTER TABLE documents ADD COLUMN shape TEXT")
            row = self._writer.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()
            if row is None:
                database_id = new_database_id()
                self._writer.execute("INSERT INTO meta VALUES ('database_id', ?)", (database_id,))
            else:
                database_id = row[0]
        except sqlite3.Error as error:
            raise _sqlite_failure(f"open {path.name}", error) from error
        self.database_id = database_id
        if self._writer.execute(_OLD_HILO_TABLE).fetchone():
            self._migrate_hilo_table()

    def _migrate_hilo_table(self) -> None:
        """Move HiLo ranges to their documents (``Raven/Hilo/<tag>``) and identities to their table."""
        with self.write() as tx:
            rows = self._writer.execute("SELECT tag, max FROM hilo").fetchall()
            for tag, value in rows:
                if tag.startswith("identity:"):
                    tx.seed_identity(tag.removeprefix("identity:") + "|", value, force=False)
                elif tx.get(_HILO_DOCUMENT_PREFIX + tag) is None:
                    tx.put(_HILO_DOCUMENT_PREFIX + tag, _HILO_COLLECTION,
                           {"Max": value, "@metadata": {"@collection": _HILO_COLLECTION}})
            self._writer.execute("DROP TABLE hilo")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_ms / 1000
        )
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        connection.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._closed:
                raise StorageError("Storage is closed.")
            connection = self._connect()
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._reader().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise _sqlite_failure("read", error) from error

    @staticmethod
    def _read_last_etag(connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT value FROM meta WHERE key = 'last_etag'").fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def _locked_for_write(self) -> Iterator[None]:
        """Hold the write lock, counted among ``writers_waiting`` until it is taken."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._write_lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self._write_lock.release()

    @property
    def writers_waiting(self) -> bool:
        return self._waiting > 0

    @contextmanager
    def write(self) -> Iterator[WriteTransaction]:
        with self._locked_for_write():
            if self._closed:
                raise StorageError("Storage is closed.")
            try:
                self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise _sqlite_failure("begin a write", error) from error
            transaction = SqliteWriteTransaction(self._writer, self.database_id, self._read_last_etag(self._writer),
                                                 track_commits=bool(self._listeners))
            try:
                yield transaction
                transaction.finish()
                self._writer.execute("COMMIT")
            except sqlite3.Error as error:
                self._writer.execute("ROLLBACK")
                raise _sqlite_failure("write", error) from error
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            notify_listeners(self._listeners, transaction.committed)

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def add_record_listener(self, listener: RecordListener) -> None:
        """A SQLite file has one server: nobody else changes its record."""

    def get(self, doc_id: str) -> StoredDocument | None:
        rows = self._read(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE lower_id = ?", (doc_id.lower(),))
        return row_to_document(rows[0]) if rows else None

    def _rows_by_key(self, select: str, key_column: str, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """Rows of ``select`` (whose first column is ``key_column``) for the lower-cased ``keys``, by key."""
        found: dict[str, tuple[Any, ...]] = {}
        unique = list(dict.fromkeys(keys))
        for offset in range(0, len(unique), IN_CHUNK):
            chunk = unique[offset : offset + IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._read(f"{select} WHERE {key_column} IN ({marks})", chunk):
                found[row[0]] = row[1:]
        return found

    def get_many(self, doc_ids: Sequence[str]) -> list[StoredDocument | None]:
        lowered = [doc_id.lower() for doc_id in doc_ids]
        found = self._rows_by_key(f"SELECT lower_id, {DOCUMENT_COLUMNS} FROM documents", "lower_id", lowered)
        return [row_to_document(found[key]) if key in found else None for key in lowered]

    def iter_collection(self, collection: str | None) -> Iterator[StoredDocument]:
        def page(after: int) -> list[Any]:
            if collection is None:
                return self._read(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE etag > ? ORDER BY etag LIMIT ?",
                                  (after, _PAGE))
            return self._read(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE lower_collection = ? AND etag > ? "
                              "ORDER BY etag LIMIT ?", (collection.lower(), after, _PAGE))

        return in_etag_order(page, _PAGE)

    def collection_ids(self, collection: str | None) -> list[str]:
        if collection is None:
            return [row[0] for row in self._read("SELECT id FROM documents ORDER BY etag")]
        return [row[0] for row in self._read(
            "SELECT id FROM documents WHERE lower_collection = ? ORDER BY etag", (collection.lower(),))]

    def list_by_prefix(
        self, prefix: str, start: int, page_size: int, start_after: str | None = None
    ) -> list[StoredDocument]:
        lower = prefix.lower()
        after = (start_after or "").lower()
        rows = self._read(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE lower_id >= ? AND substr(lower_id, 1, ?) = ? "
            "AND lower_id > ? ORDER BY lower_id LIMIT ? OFFSET ?",
            (lower, len(lower), lower, after, page_size, start),
        )
        return [row_to_document(row) for row in rows]

    def list_recent(self, collection: str | None, start: int, page_size: int) -> list[StoredDocument]:
        if collection is None:
            rows = self._read(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents ORDER BY etag DESC LIMIT ? OFFSET ?",
                (page_size, start),
            )
        else:
            rows = self._read(
                f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE lower_collection = ? "
                "ORDER BY etag DESC LIMIT ? OFFSET ?",
                (collection.lower(), page_size, start),
            )
        return [row_to_document(row) for row in rows]

    def collection_counts(self) -> dict[str, int]:
        rows = self._read(
            "SELECT min(collection), count(*) FROM documents GROUP BY lower_collection ORDER BY 1"
        )
        return {name: count for name, count in rows}

    def count(self, collection: str | None = None, *, after: int = 0) -> int:
        conditions = (["lower_collection = ?"] if collection is not None else []) + (["etag > ?"] if after else [])
        params = ([collection.lower()] if collection is not None else []) + ([after] if after else [])
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return int(self._read(f"SELECT count(*) FROM documents{where}", tuple(params))[0][0])

    def changes_since(self, etag: int, limit: int, collection: str | None = None) -> list[Change]:
        where = "etag > ?" + (" AND lower_collection = ?" if collection is not None else "")
        params: tuple[Any, ...] = (etag, collection.lower()) if collection is not None else (etag,)
        puts = self._read(
            f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE {where} ORDER BY etag LIMIT ?", (*params, limit)
        )
        deletes = self._read(
            f"SELECT id, collection, etag FROM tombstones WHERE {where} ORDER BY etag LIMIT ?",
            (*params, limit),
        )
        changes = [Change(row[2], row[0], row[1], row_to_document(row)) for row in puts]
        changes += [Change(row[2], row[0], row[1], None) for row in deletes]
        changes.sort(key=lambda change: change.etag)
        return changes[:limit]

    def expiries_since(self, etag: int, limit: int) -> list[ExpiryChange]:
        # SQLite reads each @expires while it steps the statement, without the GIL: the bodies never
        # reach Python (a model migration writes thousands of cache entries, each with one).
        puts = self._read(
            "SELECT id, etag, CASE WHEN instr(body, ?1) > 0 AND json_type(CAST(body AS TEXT), ?2) = 'text' "
            "THEN json_extract(CAST(body AS TEXT), ?2) END FROM documents WHERE etag > ?3 ORDER BY etag LIMIT ?4",
            (EXPIRES_MARKER, _EXPIRES_PATH, etag, limit),
        )
        deletes = self._read("SELECT id, etag FROM tombstones WHERE etag > ? ORDER BY etag LIMIT ?", (etag, limit))
        changes = [ExpiryChange(row[1], row[0], row[2]) for row in puts]
        changes += [ExpiryChange(row[1], row[0], None) for row in deletes]
        changes.sort(key=lambda change: change.etag)
        return changes[:limit]

    def last_etag(self) -> int:
        rows = self._read("SELECT value FROM meta WHERE key = 'last_etag'")
        return int(rows[0][0]) if rows else 0

    def attachments(self, doc_id: str) -> list[Attachment]:
        rows = self._read(
            "SELECT name, hash, content_type, size FROM attachments WHERE lower_doc_id = ? ORDER BY name",
            (doc_id.lower(),),
        )
        return [Attachment(doc_id, name, digest, content_type, size) for name, digest, content_type, size in rows]

    def attachment_content(self, doc_id: str, name: str) -> tuple[Attachment, bytes] | None:
        rows = self._read(
            "SELECT a.hash, a.content_type, a.size, c.content FROM attachments a "
            "JOIN attachment_contents c ON c.hash = a.hash WHERE a.lower_doc_id = ? AND a.name = ?",
            (doc_id.lower(), name),
        )
        if not rows:
            return None
        digest, content_type, size, content = rows[0]
        return Attachment(doc_id, name, digest, content_type, size), bytes(content)

    def identities(self) -> dict[str, int]:
        return {name: value for name, value in self._read("SELECT name, value FROM identities ORDER BY name")}

    def compare_exchange(self, keys: Sequence[str]) -> list[CompareExchangeValue | None]:
        lowered = [key.lower() for key in keys]
        found = self._rows_by_key("SELECT lower_key, key, idx, value FROM compare_exchange", "lower_key", lowered)
        return [CompareExchangeValue(found[key][0], found[key][1], bytes(found[key][2])) if key in found else None
                for key in lowered]

    def compare_exchange_by_prefix(self, prefix: str, start: int, page_size: int) -> list[CompareExchangeValue]:
        low, high = prefix_bounds(prefix.lower())
        rows = self._read(
            "SELECT key, idx, value FROM compare_exchange WHERE lower_key >= ? AND lower_key < ? "
            "ORDER BY lower_key LIMIT ? OFFSET ?", (low, high, page_size, start))
        return [CompareExchangeValue(key, index, bytes(value)) for key, index, value in rows]

    def statistics(self) -> StorageStatistics:
        counts = self._read(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM tombstones), "
            "(SELECT count(*) FROM attachments), (SELECT count(*) FROM attachment_contents), "
            "(SELECT count(*) FROM identities), (SELECT count(*) FROM compare_exchange), "
            "(SELECT count(*) FROM compare_exchange_tombstones)")[0]
        documents, tombstones, attachments, unique, identities, values, value_tombstones = counts
        return StorageStatistics(documents, tombstones, attachments, unique, identities, values, value_tombstones,
                                 self.size_on_disk())

    def compact(self) -> tuple[int, int]:
        with self._locked_for_write():
            if self._closed:
                raise StorageError("Storage is closed.")
            before = self.size_on_disk()
            try:
                self._place_rows_at_etags()
                self._writer.execute("VACUUM")
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:
                raise _sqlite_failure("compact", error) from error
            return before, self.size_on_disk()

    def _place_rows_at_etags(self) -> None:
        """Move the rows not kept under their etag as row id (written before rows were, see
        ``sqlite_transaction``) there, for the index readers that read by row id; VACUUM keeps row ids.
        By way of negative row ids, which no row holds: a row's etag may be another moved row's row id."""
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            self._writer.execute("UPDATE documents SET rowid = -etag WHERE rowid != etag")
            self._writer.execute("UPDATE documents SET rowid = -rowid WHERE rowid < 0")
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise
        self._writer.execute("COMMIT")

    def get_state(self, key: str) -> Any:
        rows = self._read("SELECT value FROM state WHERE key = ?", (key,))
        return orjson.loads(rows[0][0]) if rows else None

    def states(self, key_prefix: str) -> dict[str, Any]:
        rows = self._read(f"SELECT key, value FROM state WHERE {PREFIX_RANGE}", prefix_bounds(key_prefix))
        return {key: orjson.loads(value) for key, value in rows}

    def get_record(self) -> tuple[dict[str, Any], int]:
        rows = self._read("SELECT key, value FROM meta WHERE key IN ('record', 'record_etag')")
        values = dict(rows)
        record = orjson.loads(values["record"]) if "record" in values else {}
        return record, int(values.get("record_etag", 0))

    def record_etag(self) -> int:
        rows = self._read("SELECT value FROM meta WHERE key = 'record_etag'")
        return int(rows[0][0]) if rows else 0

    def integrity_check(self) -> list[str]:
        problems = [row[0] for row in self._read("PRAGMA integrity_check") if row[0] != "ok"]
        orphans = self._read(
            "SELECT hash FROM attachment_contents c WHERE NOT EXISTS "
            "(SELECT 1 FROM attachments a WHERE a.hash = c.hash)"
        )
        problems += [f"attachment content {row[0]} is referenced by no document" for row in orphans]
        missing = self._read(
            "SELECT lower_doc_id, name FROM attachments a WHERE NOT EXISTS "
            "(SELECT 1 FROM attachment_contents c WHERE c.hash = a.hash)"
        )
        problems += [f"attachment {name} of {doc} has no content" for doc, name in missing]
        dangling = self._read(
            "SELECT DISTINCT lower_doc_id FROM attachments a WHERE NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.lower_id = a.lower_doc_id)"
        )
        problems += [f"attachments of missing document {row[0]}" for row in dangling]
        return problems

    def close(self) -> None:
        with self._locked_for_write():
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                for connection in self._readers:
                    connection.close()
                self._readers.clear()
            self._writer.close()

    def size_on_disk(self) -> int:
        """Bytes used by the database file and its WAL."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = Path(str(self.path) + suffix)
            if candidate.exists():
                total += os.path.getsize(candidate)
        return total
