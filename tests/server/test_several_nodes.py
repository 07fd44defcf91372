"""Several nodes over one PostgreSQL database, through the official client: one topology, every
write visible on every node, change-vector concurrency across nodes, indexes on each node."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.indexes.definitions import IndexDefinition
from ravendb.documents.operations.indexes import PutIndexesOperation
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.server.runner import BackgroundServer
from rookdb.settings import Settings
from rookdb.testing.postgres_server import PostgresServer

pytestmark = pytest.mark.slow

_catalogs = itertools.count(1)
DATABASE = "Shop"


class Item:
    def __init__(self, Name: str = "", Price: int = 0) -> None:
        self.Name = Name
        self.Price = Price


def node_settings(postgres: PostgresServer, catalog: str) -> Settings:
    return Settings({"Storage.Url": postgres.url, "Storage.PostgreSql.Catalog": catalog,
                     "Cluster.HeartbeatIntervalInSec": 0.2, "Cluster.NodeTimeoutInSec": 5.0}, environ={})


@pytest.fixture
def nodes(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[list[BackgroundServer]]:
    """Two nodes (A, B) over one catalog, with the database created through A."""
    settings = node_settings(postgres_server, f"several_{next(_catalogs)}")
    with ExitStack() as stack:
        started = [stack.enter_context(BackgroundServer(tmp_path / name, settings=settings)) for name in "AB"]
        with DocumentStore(urls=[started[0].url], database=DATABASE) as store:
            store.initialize()
            store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
        wait_for(lambda: len(topology(started[0])["Nodes"]) == 2)
        yield started


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def topology(node: BackgroundServer) -> dict[str, Any]:
    response = httpx.get(f"{node.url}/topology", params={"name": DATABASE}, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def cluster_tags(node: BackgroundServer) -> list[str]:
    nodes = topology(node)["Nodes"]
    assert isinstance(nodes, list)
    return [str(entry["ClusterTag"]) for entry in nodes]


def client(node: BackgroundServer) -> DocumentStore:
    store = DocumentStore(urls=[node.url], database=DATABASE)
    store.initialize()
    return store


def test_every_node_lists_every_live_node(nodes: list[BackgroundServer]) -> None:
    for node in nodes:
        listed = topology(node)
        assert [(entry["ClusterTag"], entry["Url"]) for entry in listed["Nodes"]] == [
            ("A", nodes[0].url), ("B", nodes[1].url)]
        cluster = httpx.get(f"{node.url}/cluster/topology", timeout=10).json()
        assert cluster["Topology"]["Members"] == {"A": nodes[0].url, "B": nodes[1].url}
        assert cluster["NodeTag"] == "AB"[nodes.index(node)]


def test_a_node_that_stops_leaves_the_topology_and_clients_are_told(nodes: list[BackgroundServer]) -> None:
    before = topology(nodes[0])["Etag"]
    nodes[1].stop()
    wait_for(lambda: len(topology(nodes[0])["Nodes"]) == 1)
    after = topology(nodes[0])
    assert after["Etag"] > before
    response = httpx.get(f"{nodes[0].url}/databases/{DATABASE}/stats",
                         headers={"Topology-Etag": f'"{before}"'}, timeout=10)
    assert response.headers.get("Refresh-Topology") == "true"
    current = httpx.get(f"{nodes[0].url}/databases/{DATABASE}/stats",
                        headers={"Topology-Etag": f'"{after["Etag"]}"'}, timeout=10)
    assert "Refresh-Topology" not in current.headers


def test_a_write_through_one_node_is_read_and_queried_through_the_other(nodes: list[BackgroundServer]) -> None:
    with client(nodes[0]) as on_a, client(nodes[1]) as on_b:
        with on_b.open_session() as session:  # B builds its auto-index before A writes
            assert list(session.query(object_type=Item).where_equals("Name", "lamp")) == []
        with on_a.open_session() as session:
            session.store(Item("lamp", 12), "items/1")
            session.save_changes()
        with on_b.open_session() as session:
            loaded = session.load("items/1", Item)
            assert loaded is not None and loaded.Price == 12
            found = list(session.query(object_type=Item).wait_for_non_stale_results().where_equals("Name", "lamp"))
            assert [item.Price for item in found] == [12]


def test_the_same_expected_change_vector_wins_on_one_node_only(nodes: list[BackgroundServer]) -> None:
    first = httpx.put(f"{nodes[0].url}/databases/{DATABASE}/docs", params={"id": "items/race"},
                      json={"Name": "start", "@metadata": {"@collection": "Items"}}, timeout=10)
    vector = first.json()["ChangeVector"]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def update(node: BackgroundServer) -> None:
        barrier.wait()
        response = httpx.put(f"{node.url}/databases/{DATABASE}/docs", params={"id": "items/race"},
                             headers={"If-Match": f'"{vector}"'},
                             json={"Name": node.url, "@metadata": {"@collection": "Items"}}, timeout=10)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=update, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409]


def test_an_index_defined_through_one_node_serves_queries_on_the_other(nodes: list[BackgroundServer]) -> None:
    with client(nodes[0]) as on_a, client(nodes[1]) as on_b:
        with on_a.open_session() as session:
            for n in range(5):
                session.store(Item(f"item {n}", n), f"items/{n}")
            session.save_changes()
        definition = IndexDefinition(name="Items/ByPrice",
                                     maps={"from item in docs.Items select new { item.Price }"})
        on_a.maintenance.send(PutIndexesOperation(definition))
        def defined_on_b() -> bool:
            listed = httpx.get(f"{nodes[1].url}/databases/{DATABASE}/indexes", timeout=10).json()["Results"]
            return any(index["Name"] == "Items/ByPrice" for index in listed)
        wait_for(defined_on_b)
        with on_b.open_session() as session:
            found = list(session.query_index("Items/ByPrice", Item).wait_for_non_stale_results()
                         .where_greater_than("Price", 2))
            assert sorted(item.Price for item in found) == [3, 4]


def test_a_node_that_joins_late_or_restarts_catches_up_on_the_feed(nodes: list[BackgroundServer],
                                                                   postgres_server: PostgresServer,
                                                                   tmp_path: Path) -> None:
    settings = nodes[0].settings
    with client(nodes[0]) as on_a:
        with on_a.open_session() as session:
            for n in range(20):
                session.store(Item(f"item {n}", n % 4), f"items/{n}")
            session.save_changes()
        on_a.maintenance.send(PutIndexesOperation(
            IndexDefinition(name="Items/ByPrice", maps={"from item in docs.Items select new { item.Price }"})))
        nodes[1].stop()
        with on_a.open_session() as session:  # written while B is down
            session.store(Item("late", 3), "items/late")
            session.save_changes()
    with BackgroundServer(tmp_path / "C", settings=settings) as late, \
            BackgroundServer(tmp_path / "B", settings=settings) as restarted:
        for node in (late, restarted):
            with client(node) as store, store.open_session() as session:
                found = list(session.query_index("Items/ByPrice", Item).wait_for_non_stale_results()
                             .where_equals("Price", 3))
                assert sorted(item.Name for item in found) == [
                    "item 11", "item 15", "item 19", "item 3", "item 7", "late"]
        # Liveness comes from heartbeats: the restarted node is listed again once its first one is seen.
        wait_for(lambda: cluster_tags(late) == ["A", "B", "C"])
