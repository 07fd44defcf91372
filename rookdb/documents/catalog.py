"""The set of databases a server holds: one folder each under ``<data dir>/databases``."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.documents.embeddings_tasks import EmbeddingsTasks
from rookdb.documents.expiration import DocumentExpirer
from rookdb.documents.secrets import SecretBox, load_or_create_master_key
from rookdb.documents.vector_search import attach_vector_search
from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError, ValidationError
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage

__all__ = ["DATABASE_FILE", "DatabaseCatalog", "validate_database_name"]

DATABASE_FILE = "rookdb.sqlite3"
_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")

DatabaseOpened = Callable[[Database], None]


def validate_database_name(name: str) -> None:
    """RavenDB's rule: letters, digits, ``_``, ``-`` and ``.``; at most 128 characters."""
    if not isinstance(name, str) or not _NAME.match(name) or name.strip(".") != name:
        raise ValidationError(
            "DatabaseName",
            f"'{name}' is not a valid database name: use letters, digits, '_', '-' or '.' "
            "(not at the start or end), at most 128 characters")


class DatabaseCatalog:
    """Opens databases on first use and keeps them open until the server stops."""

    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self._root = data_dir / "databases"
        self._root.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, Database] = {}
        self._lock = threading.RLock()
        self._on_open: list[DatabaseOpened] = []
        key_path = Path(settings["Security.MasterKeyPath"] or data_dir / "master.key")
        self.secrets = SecretBox(load_or_create_master_key(key_path))

    def on_open(self, callback: DatabaseOpened) -> None:
        """Run ``callback`` on every database when it is opened (attaches background services)."""
        self._on_open.append(callback)
        with self._lock:
            for database in self._open.values():
                callback(database)

    def names(self) -> list[str]:
        return sorted(
            (entry.name for entry in self._root.iterdir() if (entry / DATABASE_FILE).exists()),
            key=str.lower,
        )

    def _folder(self, name: str) -> Path | None:
        lowered = name.lower()
        for existing in self.names():
            if existing.lower() == lowered:
                return self._root / existing
        return None

    def exists(self, name: str) -> bool:
        return self._folder(name) is not None

    def get(self, name: str) -> Database:
        """The open database ``name`` (case-insensitive); DatabaseDoesNotExistError otherwise."""
        key = name.lower()
        database = self._open.get(key)
        if database is not None:
            return database
        with self._lock:
            database = self._open.get(key)
            if database is not None:
                return database
            folder = self._folder(name)
            if folder is None:
                raise DatabaseDoesNotExistError(name)
            return self._open_folder(folder)

    def _open_folder(self, folder: Path) -> Database:
        storage = SqliteStorage(folder / DATABASE_FILE)
        database = Database(folder.name, storage, folder, self.settings)
        database.ai = AiRecord(database, self.secrets)
        attach_vector_search(database)  # resumes its auto-indexes from their checkpoints
        database.add_service(EmbeddingsTasks(database))  # resumes each task from its stored position
        database.add_service(DocumentExpirer(database))
        self._open[folder.name.lower()] = database
        for callback in self._on_open:
            callback(database)
        return database

    def create(self, name: str) -> Database:
        validate_database_name(name)
        with self._lock:
            if self._folder(name) is not None:
                raise DatabaseAlreadyExistsError(f"Database '{name}' already exists!")
            folder = self._root / name
            folder.mkdir(parents=True, exist_ok=True)
            return self._open_folder(folder)

    def delete(self, name: str) -> None:
        with self._lock:
            folder = self._folder(name)
            if folder is None:
                raise DatabaseDoesNotExistError(name)
            database = self._open.pop(folder.name.lower(), None)
            if database is not None:
                database.close()
            shutil.rmtree(folder)

    def open_all(self) -> None:
        """Open every database so their background services resume after a restart."""
        for name in self.names():
            self.get(name)

    def close(self) -> None:
        with self._lock:
            for database in self._open.values():
                database.close()
            self._open.clear()
