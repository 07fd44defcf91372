"""A node's membership: its tag (kept in the data directory), the live nodes, topology changes."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.membership import NODE_TAG_FILE, NodeMembership
from rookdb.settings import Settings
from rookdb.storage.postgresql import PostgresBackend
from rookdb.testing.postgres_server import PostgresServer

_catalogs = itertools.count(1)
SETTINGS = Settings({"Cluster.HeartbeatIntervalInSec": 0.05}, environ={})


@pytest.fixture
def backend(postgres_server: PostgresServer) -> Iterator[PostgresBackend]:
    opened = PostgresBackend(postgres_server.url, catalog=f"membership_{next(_catalogs)}")
    yield opened
    opened.close()


def test_a_node_keeps_the_tag_it_got_and_comes_back_under_it(backend: PostgresBackend, tmp_path: Path) -> None:
    first = NodeMembership(lambda: backend, tmp_path / "a", SETTINGS, "http://a")
    second = NodeMembership(lambda: backend, tmp_path / "b", SETTINGS, "http://b")
    first.start()
    second.start()
    assert (first.tag, second.tag) == ("A", "B")
    assert (tmp_path / "b" / NODE_TAG_FILE).read_text().strip() == "B"
    second.stop()
    again = NodeMembership(lambda: backend, tmp_path / "b", SETTINGS, "http://b2")
    again.start()
    try:
        node = again.node("B")
        assert again.tag == "B" and node is not None and node.url == "http://b2"
    finally:
        again.stop()
        first.stop()


def test_a_configured_tag_wins_and_listeners_hear_the_node_set_change(backend: PostgresBackend,
                                                                      tmp_path: Path) -> None:
    tagged = NodeMembership(lambda: backend, tmp_path / "x",
                            SETTINGS.with_overrides({"Cluster.NodeTag": "x"}), "http://x")
    tagged.start()
    heard: list[int] = []
    tagged.on_change(lambda: heard.append(tagged.etag))
    other = NodeMembership(lambda: backend, tmp_path / "y", SETTINGS, "http://y")
    other.start()
    try:
        assert tagged.tag == "X" and other.tag == "A"
        deadline = 200
        while not heard and deadline:
            tagged.wake()
            deadline -= 1
            time.sleep(0.05)
        assert heard and [node.tag for node in tagged.nodes] == ["A", "X"]
    finally:
        other.stop()
        tagged.stop()


def test_a_node_on_sqlite_files_is_alone_and_has_no_membership(tmp_path: Path) -> None:
    catalog = DatabaseCatalog(tmp_path, Settings(environ={}), node_url="http://here")
    try:
        catalog.join()
        assert catalog.membership is None and not (tmp_path / NODE_TAG_FILE).exists()
    finally:
        catalog.close()
