"""Patching by query and the changes API under load.

Run: .venv/bin/python bench/patch.py [--documents 100000] [--writes 5000]
     (the test suite runs --documents 300 --writes 200)

1. ``PatchByQueryOperation`` setting one field on every document of a collection, end to end (the
   official client starts the operation and waits for it, polling its state every 0.5 s as the client
   does), next to the limit: the same documents in a
   fresh SQLite file (WAL) updated with ``json_set`` in one transaction, measured in the same run just
   before and just after the patch (the ratio uses their mean). Goal: at least 0.3 of the limit.
2. Changes-API latency: a ``for_all_documents`` subscription of the official client while writers put
   documents at a steady rate (1,000 writes/s by default, in batches of 20 every 20 ms); latency is from
   just before a batch is sent to the notification of each of its documents.

rookdb runs as users run it (``rookdb serve`` in its own process); the clients run here.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ravendb import DocumentStore
from ravendb.documents.operations.misc import QueryOperationOptions
from ravendb.documents.operations.patch import PatchByQueryOperation
from ravendb.documents.queries.index_query import IndexQuery
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation
from table import Table

from rookdb.testing.server_process import ServerProcess

BATCH = 20
"""Documents per write in the changes run (one ``save_changes`` each)."""
PATCH = "from Products update { this.Discontinued = true; }"


class Product:
    def __init__(self, Name: str, PricePerUnit: float, Discontinued: bool = False) -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit
        self.Discontinued = Discontinued


def raw_sqlite_limit(count: int, path: Path) -> float:
    """Documents per second that ``json_set`` updates in one transaction (the limit), in a new file."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE documents (lower_id TEXT PRIMARY KEY, id TEXT, body BLOB)")
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO documents VALUES (?, ?, ?)", (
        (f"products/{n}-a", f"products/{n}-A", json.dumps({
            "Name": f"Product {n}", "PricePerUnit": n * 1.5, "Discontinued": False,
            "@metadata": {"@collection": "Products", "Raven-Python-Type": "bench.Product"}}))
        for n in range(count)))
    connection.execute("COMMIT")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.execute("UPDATE documents SET body = json_set(body, '$.Discontinued', json('true'))")
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    updated = connection.execute(
        "SELECT count(*) FROM documents WHERE json_extract(body, '$.Discontinued') = 1").fetchone()[0]
    connection.close()
    assert updated == count, updated
    return count / elapsed


def open_database(url: str, name: str) -> DocumentStore:
    store = DocumentStore(urls=[url], database=name)
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(name)))
    return store


def patch_by_query(url: str, count: int) -> float:
    """Documents per second ``PatchByQueryOperation`` updates, from the request to its completion."""
    store = open_database(url, "Patch")
    with store.bulk_insert() as bulk:
        for n in range(count):
            bulk.store_as(Product(f"Product {n}", n * 1.5), f"products/{n}-A")
    with store.open_session() as session:
        # The server's first RQL query builds its parser (about half a second, once per process): not
        # part of what a patch costs.
        session.query_collection("Products", Product).take(1).count()
    options = QueryOperationOptions(allow_stale=True)
    started = time.perf_counter()
    operation = store.operations.send_async(PatchByQueryOperation(IndexQuery(PATCH), options))
    operation.wait_for_completion()
    elapsed = time.perf_counter() - started
    patched = operation.fetch_operations_status()["Result"]["Total"]
    with store.open_session() as session:
        ends = session.load([f"products/{n}-A" for n in (0, count - 1)], Product)
    store.close()
    assert patched == count, patched
    assert all(product.Discontinued is True for product in ends.values()), ends
    return count / elapsed


def changes_latency(url: str, writes: int, rate: float) -> tuple[float, list[float]]:
    """Writes per second achieved and each notification's latency in ms, writing ``writes`` documents
    at ``rate`` documents per second while ``for_all_documents`` listens."""
    store = open_database(url, "Changes")
    sent: dict[str, float] = {}
    latencies: list[float] = []
    everything = threading.Event()

    def heard(change: Any) -> None:
        began = sent.get(change.key)
        if began is not None:
            latencies.append((time.perf_counter() - began) * 1000)
            if len(latencies) == writes:
                everything.set()

    observable = store.changes().for_all_documents()
    close = observable.subscribe(heard)
    observable.ensure_subscribe_now()
    interval = BATCH / rate
    started = time.perf_counter()
    for batch_number, offset in enumerate(range(0, writes, BATCH)):
        pause = started + batch_number * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        ids = [f"products/{n}-A" for n in range(offset, min(offset + BATCH, writes))]
        with store.open_session() as session:
            for doc_id in ids:
                session.store(Product(doc_id, 1.0), doc_id)
            began = time.perf_counter()
            sent.update(dict.fromkeys(ids, began))
            session.save_changes()
    achieved = writes / (time.perf_counter() - started)
    if not everything.wait(60):
        raise SystemExit(f"only {len(latencies)} of {writes} notifications arrived")
    close()
    store.close()
    return achieved, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100_000, help="documents patched (300 for a smoke run)")
    parser.add_argument("--writes", type=int, default=5_000, help="documents written while listening")
    parser.add_argument("--rate", type=float, default=1_000.0, help="documents written per second")
    args = parser.parse_args()
    print(f"documents: {args.documents:,}; changes: {args.writes:,} writes at {args.rate:,.0f}/s", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        table = Table(["patch path", "docs/s", "vs limit"], [40, 10, 8])
        before = raw_sqlite_limit(args.documents, directory / "before.sqlite3")
        table.row("raw SQLite json_set, before", f"{before:,.0f}".rjust(10), "".rjust(8))
        server = ServerProcess(directory / "data").start()
        try:
            patched = patch_by_query(server.url, args.documents)
            # The limit takes seconds where the patch takes minutes: measured on both sides of it, so
            # that a change of load during the run does not decide the ratio.
            after = raw_sqlite_limit(args.documents, directory / "after.sqlite3")
            table.row("raw SQLite json_set, after", f"{after:,.0f}".rjust(10), "".rjust(8))
            limit = (before + after) / 2
            table.row("`PatchByQueryOperation` over HTTP", f"{patched:,.0f}".rjust(10),
                      f"{patched / limit:.2f}".rjust(8))
            print(f"goal: PatchByQueryOperation >= 0.30 of the limit -> "
                  f"{'met' if patched / limit >= 0.3 else 'NOT met'}\n")
            achieved, latencies = changes_latency(server.url, args.writes, args.rate)
        finally:
            server.stop()
        changes = Table(["changes API", "writes/s", "p50 ms", "p99 ms", "max ms"], [30, 9, 7, 7, 7])
        changes.row("`for_all_documents` notification", f"{achieved:,.0f}".rjust(9),
                    f"{statistics.median(latencies):.1f}".rjust(7), f"{percentile(latencies, 0.99):.1f}".rjust(7),
                    f"{max(latencies):.1f}".rjust(7))


if __name__ == "__main__":
    main()
