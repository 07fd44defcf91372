"""Embeddings task leases over one PostgreSQL: spread over the live nodes, taken over when a node goes,
and a node that lost a lease commits nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.documents.membership import NodeMembership
from rookdb.documents.task_leases import TaskLeases
from rookdb.errors import NotResponsibleError
from rookdb.settings import Settings
from rookdb.storage.postgresql import PostgresBackend
from rookdb.testing.postgres_server import PostgresServer

_catalogs = itertools.count(1)
SETTINGS = Settings({"Cluster.HeartbeatIntervalInSec": 60}, environ={})


@pytest.fixture
def backend(postgres_server: PostgresServer) -> Iterator[PostgresBackend]:
    opened = PostgresBackend(postgres_server.url, catalog=f"leases_{next(_catalogs)}")
    yield opened
    opened.close()


def test_leases_spread_over_the_nodes_and_move_when_one_leaves(backend: PostgresBackend, tmp_path: Path) -> None:
    storage = backend.create("Shop")
    node_a = NodeMembership(lambda: backend, tmp_path / "a", SETTINGS, "http://a")
    node_b = NodeMembership(lambda: backend, tmp_path / "b", SETTINGS, "http://b")
    node_a.start()
    node_b.start()
    node_a.refresh()  # A learns of B (heartbeats are a minute apart here)
    on_a, on_b = TaskLeases(storage, node_a), TaskLeases(storage, node_b)
    try:
        assert on_a.claim([0, 1, 2]) == {0, 2}
        assert on_b.claim([0, 1, 2]) == {1}
        holder = on_a.holder(1)
        assert holder is not None and (holder.tag, holder.url) == ("B", "http://b")
        on_b.check(1)
        with pytest.raises(NotResponsibleError):
            on_a.check(1)

        node_b.stop()  # leaves the topology
        node_a.refresh()
        assert on_a.claim([0, 1, 2]) == {0, 1, 2}
        # B, presumed gone but still running, finds its lease taken: its batch is not committed.
        with pytest.raises(NotResponsibleError):
            on_b.check(1)
    finally:
        node_a.stop()
        storage.close()
