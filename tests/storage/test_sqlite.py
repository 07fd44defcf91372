"""What only the SQLite backend does: upgrading older files, giving space back to the file system."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from rookdb.storage.sqlite import SqliteStorage


def test_an_old_hilo_table_moves_to_documents_and_identities(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    SqliteStorage(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE hilo (tag TEXT PRIMARY KEY, max INTEGER NOT NULL)")
        raw.execute("INSERT INTO hilo VALUES ('products', 64), ('identity:orders', 9)")
    storage = SqliteStorage(path)
    try:
        document = storage.get("Raven/Hilo/products")
        assert document is not None and document.collection == "@hilo"
        assert orjson.loads(document.body)["Max"] == 64
        assert storage.identities() == {"orders|": 9}
        assert not storage._read("SELECT 1 FROM sqlite_master WHERE name = 'hilo'")
    finally:
        storage.close()


def test_compaction_gives_space_back(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "db.sqlite3")
    try:
        with storage.write() as tx:
            for number in range(200):
                tx.put(f"a/{number}", "As", {"Text": "x" * 1000, "@metadata": {"@collection": "As"}})
        with storage.write() as tx:
            for number in range(150):
                tx.delete(f"a/{number}")
        before, after = storage.compact()
        assert after < before and storage.count() == 50
    finally:
        storage.close()
