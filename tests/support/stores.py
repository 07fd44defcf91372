"""Official-client document stores on a running server, each over a database it creates."""

from __future__ import annotations

from collections.abc import Callable

from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

StoreFactory = Callable[..., DocumentStore]
"""What the ``new_store`` fixture hands out: ``make(name=None)`` → an initialized store on a new database."""


def open_store(url: str, database: str) -> DocumentStore:
    """An initialized store for ``database``, created on the server first."""
    store = DocumentStore(urls=[url], database=database)
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(database)))
    return store
