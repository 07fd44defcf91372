"""Shared fixtures: the server app in process, a real rookdb server on loopback, official-client document stores."""

from __future__ import annotations

import itertools
import os
from collections.abc import Generator, Iterator

import httpx
import pytest
from ravendb import DocumentStore
from starlette.testclient import TestClient

from rookdb.server.app import create_app
from rookdb.server.runner import BackgroundServer
from rookdb.settings import Settings, env_name
from rookdb.testing.embedding_server import EmbeddingServer
from rookdb.testing.postgres_server import PostgresServer
from tests.support.cost import boots_something, refusing_boots
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.stores import StoreFactory, open_store

_database_numbers = itertools.count(1)
_catalog_numbers = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--storage", choices=("sqlite", "postgresql"), default="sqlite",
                     help="where the servers the tests start keep documents (tests/storage runs on both always)")


_CATALOG = env_name("Storage.PostgreSql.Catalog")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
                         ) -> Generator[None, object, object]:
    """With --storage=postgresql, every fixture (and so every server a fixture starts) and every test
    body sees a catalog of its own: servers share one PostgreSQL server as they never share a data dir."""
    if request.config.getoption("storage") == "postgresql":
        os.environ[_CATALOG] = f"test_{next(_catalog_numbers)}"
    return (yield)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server per test process, started on first use."""
    with PostgresServer() as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def storage_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """``Storage.Url`` of every server the tests start: with --storage=postgresql, this process's server."""
    if request.config.getoption("storage") == "sqlite":
        yield ""
        return
    url: str = request.getfixturevalue("postgres_server").url
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(env_name("Storage.Url"), url)
        patch.setenv(_CATALOG, "rookdb")  # restored at the end; fixtures change it as they start
        yield url


@pytest.fixture(autouse=True)
def storage_settings(storage_url: str) -> dict[str, str]:
    """Storage settings for a catalog or storage a test opens itself (servers read the environment)."""
    return {"Storage.Url": storage_url, "Storage.PostgreSql.Catalog": os.environ[_CATALOG]} if storage_url else {}


@pytest.fixture(scope="session")
def embedding_server() -> Iterator[EmbeddingServer]:
    """One local embedding server per test process (every provider protocol, real embeddings)."""
    with EmbeddingServer(api_key=EMBEDDING_API_KEY) as running:
        yield running


@pytest.fixture
def srv(embedding_server: EmbeddingServer) -> Iterator[EmbeddingServer]:
    """The shared embedding server with its faults, counters and API key reset around the test."""
    embedding_server.reset()
    embedding_server.api_key = EMBEDDING_API_KEY
    yield embedding_server
    embedding_server.reset()
    embedding_server.api_key = EMBEDDING_API_KEY


@pytest.fixture(scope="session")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The server app called in process, no socket: an httpx client whose transport calls the ASGI app.

    The lifespan runs around the session (databases open and close as in ``rookdb serve``). Unhandled
    errors come back as the 500 the server would send, so tests see what a client would.
    """
    app = create_app(Settings(), data_dir=tmp_path_factory.mktemp("rookdb-app"))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def app_database(app_client: httpx.Client) -> str:
    """A fresh, empty database in the in-process app."""
    name = f"app{next(_database_numbers)}"
    app_client.put("/admin/databases", params={"name": name}, json={"DatabaseName": name}).raise_for_status()
    return name


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    """One rookdb server per test process, on a free loopback port, over a temporary data dir."""
    with BackgroundServer(tmp_path_factory.mktemp("rookdb-data")) as running:
        yield running


@pytest.fixture
def new_store(server: BackgroundServer) -> Iterator[StoreFactory]:
    """Create a fresh database and hand out an initialized official-client store for it."""
    stores: list[DocumentStore] = []

    def make(name: str | None = None) -> DocumentStore:
        store = open_store(server.url, name or f"db{next(_database_numbers)}")
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(new_store: StoreFactory) -> DocumentStore:
    return new_store()


@pytest.fixture(scope="session")
def northwind(server: BackgroundServer) -> Iterator[DocumentStore]:
    """A read-only Northwind database loaded through the sample-data endpoint."""
    store = open_store(server.url, "Northwind")
    response = httpx.post(f"{server.url}/databases/Northwind/studio/sample-data", timeout=60)
    response.raise_for_status()
    yield store
    store.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if boots_something(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fast_tests_boot_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("slow"):
        yield
        return
    with refusing_boots(request.node.nodeid):
        yield
