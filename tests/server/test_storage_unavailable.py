"""A node that cannot reach PostgreSQL answers 503 with the envelope (clients fail over), then recovers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.server.runner import BackgroundServer
from rookdb.settings import Settings
from rookdb.testing.postgres_server import PostgresServer

pytestmark = pytest.mark.slow


class Item:
    def __init__(self, Name: str) -> None:
        self.Name = Name


def test_postgresql_down_is_503_and_back_up_serves_again(tmp_path: Path) -> None:
    with PostgresServer() as postgres:
        settings = Settings({"Storage.Url": postgres.url, "Storage.PostgreSql.ConnectTimeoutInSec": 1.0},
                            environ={})
        with BackgroundServer(tmp_path, settings=settings) as server:
            store = DocumentStore(urls=[server.url], database="Shop")
            store.initialize()
            try:
                store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("Shop")))
                with store.open_session() as session:
                    session.store(Item("before"), "items/1")
                    session.save_changes()
                postgres.stop()
                for method, path, body in [("GET", "/databases/Shop/docs?id=items/1", None),
                                           ("PUT", "/databases/Shop/docs?id=items/2", {"Name": "during"}),
                                           ("GET", "/databases", None)]:
                    response = httpx.request(method, server.url + path, json=body, timeout=30)
                    assert response.status_code == 503, (path, response.text)
                    envelope = response.json()
                    assert envelope["Type"] == "Raven.Client.Exceptions.Database.DatabaseLoadFailureException"
                    assert "PostgreSQL is unavailable" in envelope["Message"] and "Traceback" not in response.text
                postgres.start()
                with store.open_session() as session:
                    loaded = session.load("items/1", Item)
                    assert loaded is not None and loaded.Name == "before"
                    session.store(Item("after"), "items/3")
                    session.save_changes()
            finally:
                store.close()
