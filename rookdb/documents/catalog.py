"""The set of databases a server holds, as its storage backend lists them (``Storage.Url``).

Each database also has a folder of this node's own under ``<data dir>/databases`` (index files,
vector indexes); with SQLite the database file lives there too.

The catalog is the composition root of every database: it opens the storage, builds the database's
services (``DatabaseServices``) and wires them to each other, starts them and stops them. Nothing
else builds a database or a service.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any

from rookdb.ai.embedded_model import EmbeddedModel
from rookdb.background import DEFAULT_STOP_TIMEOUT_SECONDS, Foreground, ProviderLoop, stop_all
from rookdb.documents.ai_record import AiRecord
from rookdb.documents.database import Database
from rookdb.documents.database_record import (
    PREVENT_DELETES_ERROR,
    PREVENT_DELETES_IGNORE,
    is_disabled,
    lock_mode_of,
    set_disabled,
    set_lock_mode,
    validate_lock_mode,
)
from rookdb.documents.embeddings_tasks import EmbeddingsTasks
from rookdb.documents.expiration import DocumentExpirer
from rookdb.documents.indexing import IndexingService
from rookdb.documents.membership import NodeMembership
from rookdb.documents.operations import Operation, OperationRegistry
from rookdb.documents.patching.engine import PatchEngine
from rookdb.documents.secrets import SecretBox, load_or_create_master_key
from rookdb.documents.server_record import SERVER_RECORD_FILE, ServerRecord
from rookdb.documents.services import DatabaseServices
from rookdb.documents.task_leases import TaskLeases
from rookdb.documents.vector_search import VectorSearchService
from rookdb.errors import (
    BadRequestError,
    DatabaseDisabledError,
    DatabaseDoesNotExistError,
    ValidationError,
)
from rookdb.settings import Settings
from rookdb.storage.backends import is_shared, open_backend
from rookdb.storage.base import DocumentStorage, StorageBackend

__all__ = ["DatabaseCatalog", "validate_database_name"]

_LOCAL_ID_FILE = "database.id"
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
    The catalog owns the one ``ProviderLoop`` where every database's provider I/O runs. With
    ``node_url`` (a server) over a storage other nodes may share, it owns the node's ``membership``
    too, joined by ``join``; a node on SQLite files is alone and has none.
    """

    def __init__(self, data_dir: Path, settings: Settings, *, embedded_model: EmbeddedModel | None = None,
                 node_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self._root = data_dir / "databases"
        self._root.mkdir(parents=True, exist_ok=True)
        self._backend: StorageBackend | None = None
        self._embedded_model = embedded_model
        self._databases: dict[str, Database] = {}
        """Lower-cased name → every open database, with or without services."""
        self._services: dict[str, DatabaseServices] = {}
        self._provider_loop = ProviderLoop()
        self.foreground = Foreground()
        """The requests being answered: a migration's building work yields to them."""
        self._lock = threading.RLock()
        key_path = Path(settings["Security.MasterKeyPath"] or data_dir / "master.key")
        self.secrets = SecretBox(load_or_create_master_key(key_path))
        self.server_record = ServerRecord(data_dir / SERVER_RECORD_FILE)
        self.operations = OperationRegistry(on_change=self._operation_changed)
        self.patch_engine = PatchEngine(
            time_limit_ms=settings["Patching.ScriptTimeoutInMs"],
            memory_limit_bytes=settings["Patching.ScriptMemoryLimitInMb"] * 1024 * 1024,
            hosts=settings["Patching.Hosts"], cached_scripts=settings["Patching.MaxNumberOfCachedScripts"])
        self.membership: NodeMembership | None = None
        if node_url is not None and is_shared(settings):
            self.membership = NodeMembership(lambda: self.backend, data_dir, settings, node_url)

    def join(self) -> None:
        """Register this node among those serving the storage (raises when the storage is unreachable)."""
        if self.membership is not None:
            self.membership.start()
            # A database another node created has its services started here when the node set
            # changes, so that its tasks find a node when theirs goes.
            self.membership.on_change(self.open_all)

    @property
    def backend(self) -> StorageBackend:
        """Where the databases live; opened on first use (again after ``close``)."""
        with self._lock:
            if self._backend is None:
                self._backend = open_backend(self.settings, self.data_dir)
            return self._backend

    def names(self) -> list[str]:
        return self.backend.names()

    def exists(self, name: str) -> bool:
        return self.backend.find(name) is not None

    def get(self, name: str) -> DatabaseServices:
        """The open database ``name`` (case-insensitive) with its services running;
        DatabaseDoesNotExistError when there is no such database, DatabaseDisabledError when it is
        disabled."""
        key = name.lower()
        services = self._services.get(key)
        if services is not None:
            return services
        with self._lock:
            services = self._services.get(key)
            if services is not None:
                return services
            database = self.documents(name)
            if is_disabled(database):
                raise DatabaseDisabledError(database.name)
            return self._compose(database)

    def documents(self, name: str, *, create: bool = False) -> Database:
        """The database ``name`` without starting its services (created when missing and ``create``)."""
        with self._lock:
            database = self._databases.get(name.lower())
            if database is not None:
                return database
            stored = self.backend.find(name)
            if stored is not None:
                return self._open(stored, self.backend.open(stored))
            if not create:
                raise DatabaseDoesNotExistError(name)
            validate_database_name(name)
            return self._open(name, self.backend.create(name))

    def _open(self, name: str, storage: DocumentStorage) -> Database:
        database = Database(name, storage, self._local_folder(name, storage.database_id), self.settings)
        self._databases[name.lower()] = database
        return database

    def _local_folder(self, name: str, database_id: str) -> Path:
        """This node's folder for ``name``; emptied when it was left by an older database of that name
        (dropped on another node while this one was down), whose indexes would be wrong here."""
        folder = self._root / name
        marker = folder / _LOCAL_ID_FILE
        if marker.exists() and marker.read_text().strip() != database_id:
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if not marker.exists():
            marker.write_text(database_id)
        return folder

    def _compose(self, database: Database) -> DatabaseServices:
        ai = AiRecord(database, self.secrets)
        vectors = VectorSearchService(database, ai, self._provider_loop, model=self._embedded_model,
                                      foreground=self.foreground)
        leases = None if self.membership is None else TaskLeases(database.storage, self.membership)
        indexes = IndexingService(database, vectors.vector_sources())
        embeddings = EmbeddingsTasks(database, ai, self._provider_loop, leases, vectors.generation_current, indexes,
                                     foreground=self.foreground, warm_queries=vectors.warm_queries)
        services = DatabaseServices(database, ai, embeddings, indexes, vectors,
                                    DocumentExpirer(database, foreground=self.foreground))
        ai.on_tasks_changed(embeddings.reload)
        database.on_change(indexes.wake)
        database.on_change(vectors.wake)
        database.on_change(embeddings.wake)
        # Another node's record changes (indexes, tasks, connection strings) are applied here too; a node
        # leaving hands its tasks over.
        database.storage.add_record_listener(indexes.reconcile)
        database.storage.add_record_listener(embeddings.reload)
        if self.membership is not None:
            self.membership.on_change(embeddings.reload)
        # Indexes resume from their checkpoints, each task from its stored position.
        services.start()
        self._services[database.name.lower()] = services
        return services

    def create(self, name: str) -> DatabaseServices:
        validate_database_name(name)
        with self._lock:
            return self._compose(self._open(name, self.backend.create(name)))

    def delete(self, name: str) -> bool:
        """Delete a database and its folder; False when its lock mode says to ignore deletes, and
        BadRequestError when it says to refuse them."""
        with self._lock:
            stored = self.backend.find(name)
            if stored is None:
                raise DatabaseDoesNotExistError(name)
            mode = lock_mode_of(self.documents(stored).record()[0])
            if mode == PREVENT_DELETES_IGNORE:
                return False
            if mode == PREVENT_DELETES_ERROR:
                raise BadRequestError(
                    f"Database '{stored}' cannot be deleted because of the set lock mode ('{mode}'). "
                    "Please consider changing the lock mode before deleting the database.")
            self.operations.cancel_database(stored)
            self._close(stored.lower())
            self.backend.drop(stored)
            # Indexes are this node's own: with SQLite they went with the database's folder already.
            shutil.rmtree(self._root / stored, ignore_errors=True)
            return True

    def set_lock_mode(self, names: list[str], mode: str) -> None:
        """Set the lock mode of every database in ``names``; none changes when one does not exist."""
        validate_lock_mode(mode)
        with self._lock:
            missing = [name for name in names if not self.exists(name)]
            if missing:
                # A server-level request: answered 400, not with the 503 meant for a database's routes.
                raise BadRequestError(f"Database '{missing[0]}' does not exist.")
            databases = [self.documents(name) for name in names]
            for database in databases:
                set_lock_mode(database, mode)

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (stop its services, refuse its requests) or enable a database; True when it changed."""
        with self._lock:
            database = self.documents(name)
            if is_disabled(database) == disabled:
                return False
            set_disabled(database, disabled)
            if disabled:
                self.operations.cancel_database(database.name)
                services = self._services.pop(database.name.lower(), None)
                if services is not None:
                    services.stop()
            return True

    def _close(self, key: str, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> None:
        services = self._services.pop(key, None)
        if services is not None:
            services.stop(timeout=timeout)
        database = self._databases.pop(key, None)
        if database is not None:
            database.close()

    def open_all(self) -> None:
        """Open every enabled database so their background services resume after a restart."""
        for name in self.names():
            if not is_disabled(self.documents(name)):
                self.get(name)

    def _operation_changed(self, operation: Operation) -> None:
        if operation.database is None:
            return
        database = self._databases.get(operation.database.lower())
        if database is not None:
            database.changes.operation_changed(operation.id, operation.state())

    def compact(self, name: str) -> Operation:
        """Compact a database's storage as a server operation (``CompactDatabaseOperation``)."""
        database = self.documents(name)

        def work(operation: Operation) -> dict[str, Any]:
            before, after = database.storage.compact()
            message = f"Compacted '{database.name}': {before} bytes before, {after} bytes after."
            return {"SizeBeforeCompactionInMb": before // (1024 * 1024),
                    "SizeAfterCompactionInMb": after // (1024 * 1024), "Message": message, "Messages": [message]}

        return self.operations.start(None, "DatabaseCompact", {"Database": database.name}, work)

    def close(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop every database's services at once, each within ``timeout`` (see ``BackgroundService``),
        then close the storages and the provider loop; True when every service stopped in time."""
        self.operations.close(timeout=timeout)
        self.patch_engine.close()
        if self.membership is not None:
            self.membership.stop(timeout=timeout)
        with self._lock:
            services, self._services = list(self._services.values()), {}
            stopped = stop_all([service for opened in services for service in opened.background],
                               drain=drain, timeout=timeout)
            for database in self._databases.values():
                database.close()
            self._databases.clear()
            if self._backend is not None:
                self._backend.close()
                self._backend = None
            return self._provider_loop.stop() and stopped
