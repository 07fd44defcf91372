"""Embedded mode: a rookdb server inside your process, handed out as official-client document stores."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from rookdb.server.runner import BackgroundServer
from rookdb.settings import Settings

__all__ = ["EmbeddedServer", "embedded"]


class EmbeddedServer:
    """A server on a private loopback port; ``document_store`` gives initialized ``ravendb.DocumentStore``s."""

    def __init__(self, data_dir: str | Path, settings: Settings | None = None) -> None:
        self._server = BackgroundServer(Path(data_dir), settings=settings)
        self._stores: list[Any] = []

    @property
    def url(self) -> str:
        return self._server.url

    def document_store(self, database: str, *, create: bool = True) -> Any:
        """An initialized ``ravendb.DocumentStore`` for ``database`` (created when missing)."""
        from ravendb import DocumentStore
        from ravendb.serverwide.database_record import DatabaseRecord
        from ravendb.serverwide.operations.common import CreateDatabaseOperation, GetDatabaseNamesOperation

        store = DocumentStore(urls=[self.url], database=database)
        store.initialize()
        if create:
            names = store.maintenance.server.send(GetDatabaseNamesOperation(0, 1024))
            if database.lower() not in (name.lower() for name in names):
                store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(database)))
        self._stores.append(store)
        return store

    def start(self) -> EmbeddedServer:
        self._server.start()
        return self

    def stop(self) -> None:
        for store in self._stores:
            store.close()
        self._stores.clear()
        self._server.stop()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def embedded(data_dir: str | Path = "./rookdb-data", settings: Settings | None = None) -> EmbeddedServer:
    """``with rookdb.embedded("./data") as server: store = server.document_store("Northwind")``."""
    return EmbeddedServer(data_dir, settings)
