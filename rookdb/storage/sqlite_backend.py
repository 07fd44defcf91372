"""The SQLite backend's databases: one folder each under a root, holding one SQLite file; one node."""

from __future__ import annotations

import shutil
from pathlib import Path

from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError
from rookdb.storage.base import ClusterNode, DocumentStorage, Membership, StorageBackend
from rookdb.storage.sqlite import DATABASE_FILE, SqliteStorage

__all__ = ["SOLO_NODE_TAG", "SqliteBackend"]

SOLO_NODE_TAG = "A"


class SqliteBackend(StorageBackend):
    """Databases as folders under ``root``, each holding one SQLite file (``DATABASE_FILE``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def names(self) -> list[str]:
        return sorted(
            (entry.name for entry in self.root.iterdir() if (entry / DATABASE_FILE).exists()), key=str.lower)

    def find(self, name: str) -> str | None:
        lowered = name.lower()
        return next((existing for existing in self.names() if existing.lower() == lowered), None)

    def create(self, name: str) -> DocumentStorage:
        if self.find(name) is not None:
            raise DatabaseAlreadyExistsError(f"Database '{name}' already exists!")
        return SqliteStorage(self.root / name / DATABASE_FILE)

    def open(self, name: str) -> DocumentStorage:
        stored = self.find(name)
        if stored is None:
            raise DatabaseDoesNotExistError(name)
        return SqliteStorage(self.root / stored / DATABASE_FILE)

    def drop(self, name: str) -> None:
        stored = self.find(name)
        if stored is None:
            raise DatabaseDoesNotExistError(name)
        shutil.rmtree(self.root / stored)

    def heartbeat(self, tag: str | None, url: str, incarnation: str, timeout: float) -> Membership:
        """SQLite files are one node's own: it is the whole cluster."""
        tag = tag or SOLO_NODE_TAG
        return Membership(tag, (ClusterNode(tag, url, incarnation),), 1)

    def leave(self, tag: str, incarnation: str) -> None:
        """No other node lists this one."""

    def close(self) -> None:
        """Nothing is shared between the databases' files."""
