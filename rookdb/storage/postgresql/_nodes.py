"""The nodes serving a catalog: one row each, kept alive by heartbeats timed by PostgreSQL's clock.

Times come from ``now()`` in PostgreSQL, never from the nodes, so nodes whose clocks disagree still
agree on who is alive. A node that stops or goes silent is marked not live but keeps its row, so its
tag stays its own (a restarted node comes back under it, a new node never takes it): a free tag is
the first of A…Z, then AA…, that no node ever registered.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator

from rookdb.storage.base import ClusterNode, Membership
from rookdb.storage.postgresql._connections import Connection
from rookdb.storage.postgresql._schema import CLUSTER_LOCK

__all__ = ["heartbeat", "leave"]


def _tags() -> Iterator[str]:
    for size in itertools.count(1):
        for letters in itertools.product(string.ascii_uppercase, repeat=size):
            yield "".join(letters)


def heartbeat(connection: Connection, catalog: str, tag: str | None, url: str, incarnation: str,
              timeout: float) -> Membership:
    """Run inside a transaction: register or refresh the node, drop silent ones, read the topology."""
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTER_LOCK,))
    dropped = connection.execute(
        f"UPDATE {catalog}.nodes SET live = false WHERE live AND heartbeat < now() - make_interval(secs => %s) "
        "AND tag IS DISTINCT FROM %s RETURNING tag", (timeout, tag)).fetchall()
    if tag is None:
        taken = {row[0] for row in connection.execute(f"SELECT tag FROM {catalog}.nodes")}
        tag = next(candidate for candidate in _tags() if candidate not in taken)
    mine = connection.execute(f"SELECT url, incarnation, live FROM {catalog}.nodes WHERE tag = %s",
                              (tag,)).fetchone()
    changed = bool(dropped) or mine is None or tuple(mine) != (url, incarnation, True)
    connection.execute(
        f"INSERT INTO {catalog}.nodes VALUES (%s, %s, %s, now(), true) ON CONFLICT (tag) DO UPDATE "
        "SET url = EXCLUDED.url, incarnation = EXCLUDED.incarnation, heartbeat = EXCLUDED.heartbeat, live = true",
        (tag, url, incarnation))
    if changed:
        connection.execute(f"UPDATE {catalog}.topology SET etag = etag + 1")
    nodes = tuple(ClusterNode(*row) for row in connection.execute(
        f"SELECT tag, url, incarnation FROM {catalog}.nodes WHERE live ORDER BY tag"))
    row = connection.execute(f"SELECT etag FROM {catalog}.topology").fetchone()
    assert row is not None
    return Membership(tag, nodes, int(row[0]))


def leave(connection: Connection, catalog: str, tag: str, incarnation: str) -> None:
    """Run inside a transaction: mark the node gone unless another incarnation holds its tag now."""
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTER_LOCK,))
    gone = connection.execute(f"UPDATE {catalog}.nodes SET live = false WHERE tag = %s AND incarnation = %s "
                              "AND live RETURNING 1", (tag, incarnation)).fetchone()
    if gone is not None:
        connection.execute(f"UPDATE {catalog}.topology SET etag = etag + 1")
