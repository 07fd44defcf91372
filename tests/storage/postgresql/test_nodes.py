"""Nodes over one PostgreSQL catalog: tags, heartbeats, the topology etag, leaving."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.storage.postgresql import PostgresBackend
from rookdb.storage.sqlite_backend import SqliteBackend
from rookdb.testing.postgres_server import PostgresServer

_catalogs = itertools.count(1)


@pytest.fixture
def backend(postgres_server: PostgresServer) -> Iterator[PostgresBackend]:
    opened = PostgresBackend(postgres_server.url, catalog=f"registry_{next(_catalogs)}")
    yield opened
    opened.close()


def test_nodes_get_the_first_free_tags_and_the_etag_grows_only_when_the_set_changes(backend: PostgresBackend) -> None:
    first = backend.heartbeat(None, "http://a", "one", 60)
    second = backend.heartbeat(None, "http://b", "two", 60)
    assert (first.tag, second.tag) == ("A", "B")
    assert [(node.tag, node.url) for node in second.nodes] == [("A", "http://a"), ("B", "http://b")]
    again = backend.heartbeat("A", "http://a", "one", 60)
    assert again.etag == second.etag > first.etag
    moved = backend.heartbeat("A", "http://a2", "one", 60)
    assert moved.etag > again.etag and moved.nodes[0].url == "http://a2"


def test_a_restarted_node_takes_its_tag_back(backend: PostgresBackend) -> None:
    backend.heartbeat("C", "http://c", "old process", 60)
    restarted = backend.heartbeat("C", "http://c", "new process", 60)
    assert [(node.tag, node.incarnation) for node in restarted.nodes] == [("C", "new process")]
    backend.leave("C", "old process")  # the old process may not unregister the new one
    assert [node.tag for node in backend.heartbeat(None, "http://d", "d", 60).nodes] == ["A", "C"]
    assert backend.heartbeat("C", "http://c", "new process", 60).tag == "C"


def test_a_silent_node_is_dropped_but_keeps_its_tag(backend: PostgresBackend) -> None:
    backend.heartbeat(None, "http://a", "a", 60)
    backend.heartbeat(None, "http://b", "b", 60)
    time.sleep(0.6)
    alive = backend.heartbeat("A", "http://a", "a", 0.5)
    assert [node.tag for node in alive.nodes] == ["A"]
    assert backend.heartbeat(None, "http://c", "c", 60).tag == "C"
    back = backend.heartbeat("B", "http://b", "b again", 60)
    assert [node.tag for node in back.nodes] == ["A", "B", "C"] and back.etag > alive.etag


def test_a_node_that_leaves_is_gone_at_once(backend: PostgresBackend) -> None:
    backend.heartbeat(None, "http://a", "a", 60)
    before = backend.heartbeat(None, "http://b", "b", 60)
    backend.leave("B", "b")
    after = backend.heartbeat("A", "http://a", "a", 60)
    assert [node.tag for node in after.nodes] == ["A"] and after.etag > before.etag


def test_catalogs_have_nodes_of_their_own(backend: PostgresBackend, postgres_server: PostgresServer) -> None:
    backend.heartbeat(None, "http://a", "a", 60)
    other = PostgresBackend(postgres_server.url, catalog=f"registry_{next(_catalogs)}")
    try:
        assert other.heartbeat(None, "http://x", "x", 60).tag == "A"
    finally:
        other.close()


def test_a_sqlite_node_is_alone(tmp_path: Path) -> None:
    membership = SqliteBackend(tmp_path).heartbeat(None, "http://here", "me", 5)
    assert membership.tag == "A" and [node.url for node in membership.nodes] == ["http://here"]
