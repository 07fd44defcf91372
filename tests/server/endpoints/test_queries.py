"""How many queries run at once (``QuerySlots``), and queries beyond that number answered all the same."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from ravendb import DocumentStore

from rookdb.server.endpoints.queries import QuerySlots
from rookdb.server.runner import BackgroundServer


def test_a_query_waits_for_a_free_slot_at_most_the_wait_then_runs_anyway() -> None:
    async def run() -> None:
        slots = QuerySlots(2, wait_seconds=0.2)
        assert await slots.acquire() and await slots.acquire()
        started = time.monotonic()
        assert await slots.acquire() is False  # none came free: the caller runs without one
        assert 0.15 < time.monotonic() - started < 2
        waiting = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0.05)
        slots.release()
        assert await waiting is True  # the slot given back went to the query waiting for it
        slots.release()
        slots.release()
        assert await slots.acquire() and await slots.acquire()

    asyncio.run(run())


def test_sixteen_queries_at_once_all_get_their_answers(northwind: DocumentStore, server: BackgroundServer) -> None:
    body = {"Query": "from Products where Category = $c", "QueryParameters": {"c": "categories/1-A"}}
    path = f"/databases/{northwind.database}/queries"
    with httpx.Client(base_url=server.url, timeout=60) as client:
        expected = client.post(path, json={**body, "WaitForNonStaleResults": True}).json()["TotalResults"]

        def ask(_: int) -> int:
            response = client.post(path, json=body)
            response.raise_for_status()
            total: int = response.json()["TotalResults"]
            return total

        with ThreadPoolExecutor(16) as pool:
            assert list(pool.map(ask, range(64))) == [expected] * 64
    assert expected == 12
