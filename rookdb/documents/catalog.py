"""The set of databases a server holds: one folder each under ``<data dir>/databases``.

The catalog is the composition root of every database: it opens the storage, builds the database's
services (``DatabaseServices``) and wires them to each other, starts them and stops them. Nothing
else builds a database or a service.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

from rookdb.ai.embedded_model import EmbeddedModel
from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, ProviderLoop, stop_all
from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.documents.embeddings_tasks import EmbeddingsTasks
from rookdb.documents.expiration import DocumentExpirer
from rookdb.documents.indexing import IndexingService
from rookdb.documents.secrets import SecretBox, load_or_create_master_key
from rookdb.documents.services import DatabaseServices
from rookdb.documents.vector_search import VectorSearchService
from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError, ValidationError
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage

__all__ = ["DATABASE_FILE", "DatabaseCatalog", "validate_database_name"]

DATABASE_FILE = "rookdb.sqlite3"
_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")


def validate_database_name(name: str) -> None:
    """RavenDB's rule: letters, digits, ``_``, ``-`` and ``.``; at most 128 characters."""
    if not isinstance(name, str) or not _NAME.match(name) or name.strip(".") != name:
        raise ValidationError(
            "DatabaseName",
            f"'{name}' is not a valid database name: use letters, digits, '_', '-' or '.' "
            "(not at the start or end), at most 128 characters")


class DatabaseCatalog:
    """Opens databases on first use and keeps them open until the server stops.

    ``get`` and ``create`` give a database with its services running; ``documents`` gives one without
    services (a sample import, maintenance), and ``get`` adds them later if asked. ``embedded_model``
    replaces the process-wide embedded model in the vector services (tests gate or count its calls).
    The catalog owns the one ``ProviderLoop`` where every database's provider I/O runs.
    """

    def __init__(self, data_dir: Path, settings: Settings, *, embedded_model: EmbeddedModel | None = None) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self._root = data_dir / "databases"
        self._root.mkdir(parents=True, exist_ok=True)
        self._embedded_model = embedded_model
        self._databases: dict[str, Database] = {}
        """Lower-cased name → every open database, with or without services."""
        self._services: dict[str, DatabaseServices] = {}
        self._provider_loop = ProviderLoop()
        self._lock = threading.RLock()
        key_path = Path(settings["Security.MasterKeyPath"] or data_dir / "master.key")
        self.secrets = SecretBox(load_or_create_master_key(key_path))

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

    def get(self, name: str) -> DatabaseServices:
        """The open database ``name`` (case-insensitive) with its services running;
        DatabaseDoesNotExistError when there is no such database."""
        key = name.lower()
        services = self._services.get(key)
        if services is not None:
            return services
        with self._lock:
            services = self._services.get(key)
            if services is not None:
                return services
            return self._compose(self.documents(name))

    def documents(self, name: str, *, create: bool = False) -> Database:
        """The database ``name`` without starting its services (created when missing and ``create``)."""
        with self._lock:
            database = self._databases.get(name.lower())
            if database is not None:
                return database
            folder = self._folder(name)
            if folder is None:
                if not create:
                    raise DatabaseDoesNotExistError(name)
                folder = self._new_folder(name)
            return self._open_folder(folder)

    def _open_folder(self, folder: Path) -> Database:
        database = Database(folder.name, SqliteStorage(folder / DATABASE_FILE), folder, self.settings)
        self._databases[folder.name.lower()] = database
        return database

    def _compose(self, database: Database) -> DatabaseServices:
        ai = AiRecord(database, self.secrets)
        vectors = VectorSearchService(database, ai, self._provider_loop, model=self._embedded_model)
        embeddings = EmbeddingsTasks(database, ai, self._provider_loop)
        indexes = IndexingService(database)
        services = DatabaseServices(database, ai, embeddings, indexes, vectors, DocumentExpirer(database))
        ai.on_tasks_changed(embeddings.reload)
        database.on_change(indexes.wake)
        database.on_change(vectors.wake)
        database.on_change(embeddings.wake)
        # Indexes resume from their checkpoints, each task from its stored position.
        services.start()
        self._services[database.name.lower()] = services
        return services

    def _new_folder(self, name: str) -> Path:
        validate_database_name(name)
        folder = self._root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def create(self, name: str) -> DatabaseServices:
        validate_database_name(name)
        with self._lock:
            if self._folder(name) is not None:
                raise DatabaseAlreadyExistsError(f"Database '{name}' already exists!")
            return self._compose(self._open_folder(self._new_folder(name)))

    def delete(self, name: str) -> None:
        with self._lock:
            folder = self._folder(name)
            if folder is None:
                raise DatabaseDoesNotExistError(name)
            self._close(folder.name.lower())
            shutil.rmtree(folder)

    def _close(self, key: str, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> None:
        services = self._services.pop(key, None)
        if services is not None:
            services.stop(timeout=timeout)
        database = self._databases.pop(key, None)
        if database is not None:
            database.close()

    def open_all(self) -> None:
        """Open every database so their background services resume after a restart."""
        for name in self.names():
            self.get(name)

    def close(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every database's services at once, each within ``timeout`` (see ``BackgroundService``),
        then close the storages and the provider loop; True when every service stopped in time."""
        with self._lock:
            services, self._services = list(self._services.values()), {}
            stopped = stop_all([service for opened in services for service in opened.background],
                               drain=drain, timeout=timeout)
            for database in self._databases.values():
                database.close()
            self._databases.clear()
            return self._provider_loop.stop() and stopped
