"""Bulk loading: 100k small documents through the official clients vs. raw SQLite.

Run: .venv/bin/python bench/bulk_insert.py [--documents 100000]   (the test suite runs --documents 200)

The limit is the same JSON written straight into a fresh SQLite file (WAL) with ``executemany`` in
one transaction. It takes a second where a path takes up to minutes, and the machine's load moves in
between: it is measured again after every path, and each path is rated against the mean of the limits
measured just before and just after it. The official Python client's ceiling, its whole ``store()``
path with the stream going nowhere (no server behind it), is measured just before and just after
``store.bulk_insert()`` the same way. rookdb runs as users run it (``rookdb serve`` in its own
process); the clients run here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation
from table import Table

from rookdb.testing.server_process import ServerProcess


class Product:
    def __init__(self, Name: str, PricePerUnit: float, Category: str, UnitsInStock: int) -> None:
        self.Name = Name
        self.PricePerUnit = PricePerUnit
        self.Category = Category
        self.UnitsInStock = UnitsInStock


def products(count: int) -> list[Product]:
    return [Product(f"Product {n}", n * 1.5, f"categories/{n % 8 + 1}-A", n % 100) for n in range(count)]


def document(n: int) -> dict[str, Any]:
    """Product ``n`` as the official Python client encodes it (the limit and the pre-encoded stream store it)."""
    return {"Name": f"Product {n}", "PricePerUnit": n * 1.5, "Category": f"categories/{n % 8 + 1}-A",
            "UnitsInStock": n % 100, "@metadata": {"@collection": "Products", "Raven-Python-Type": "bench.Product"}}


def raw_sqlite_limit(count: int, path: Path) -> float:
    """Documents per second ``executemany`` writes into a new SQLite file at ``path``, in one transaction."""
    rows = [(f"products/{n}-a", f"products/{n}-A", json.dumps(document(n)).encode()) for n in range(count)]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE documents (lower_id TEXT PRIMARY KEY, id TEXT, body BLOB)")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO documents VALUES (?, ?, ?)", rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def through_bulk_insert(url: str, count: int) -> float:
    """``store.bulk_insert()`` end to end: the official client streaming to rookdb."""
    store = DocumentStore(urls=[url], database="BulkInsert")
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("BulkInsert")))
    items = products(count)
    started = time.perf_counter()
    with store.bulk_insert() as bulk:
        for product in items:
            bulk.store(product)
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


def client_only(url: str, database: str, count: int) -> float:
    """The official client's whole ``store()`` path with no server behind the stream (its ceiling).

    Everything ``store.bulk_insert()`` does for a document on the caller's thread runs as it does there:
    a HiLo id (its ranges come from rookdb: a dozen requests for 100k documents), the key and metadata,
    escaping, the entity's encoding, and the hand-over of each full buffer to the sending thread, which
    here drains the buffers instead of sending them."""
    from ravendb.documents.bulk_insert_operation import BulkInsertOperation

    class Unsent(BulkInsertOperation):
        def _get_bulk_insert_operation_id(self) -> None:
            self._operation_id = 1

        def _start_executing_bulk_insert_command(self) -> None:
            def drain() -> None:
                for _ in self._buffer_exposer.send_data():
                    pass

            self._ongoing_bulk_insert_execute_task = self._thread_pool_executor.submit(drain)
            self._current_data_buffer += b"["

    httpx.put(f"{url}/admin/databases", params={"name": database}, json={}).raise_for_status()
    store = DocumentStore(urls=[url], database=database)
    store.initialize()
    items = products(count)
    started = time.perf_counter()
    with Unsent(database, store) as bulk:
        for product in items:
            bulk.store(product)
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_only(url: str, count: int) -> float:
    """The bulk_insert endpoint fed a pre-encoded stream: the server's own ingest rate."""
    httpx.put(f"{url}/admin/databases", params={"name": "ServerOnly"}, json={}).raise_for_status()
    encoded = [json.dumps({"Id": f"products/{n}-A", "Type": "PUT", "Document": document(n)}).encode()
               for n in range(count)]

    def body() -> Iterator[bytes]:
        yield b"["
        for offset in range(0, count, 1000):
            yield (b"," if offset else b"") + b",".join(encoded[offset:offset + 1000])
        yield b"]"

    started = time.perf_counter()
    httpx.post(f"{url}/databases/ServerOnly/bulk_insert", params={"id": 1}, content=body(),
               timeout=600).raise_for_status()
    return count / (time.perf_counter() - started)


NODE_SCRIPT = Path(__file__).resolve().parent / "bulk_insert_node.mjs"
NODE_CLIENT = Path(__file__).resolve().parents[1] / "tests" / "node" / "node_modules" / "ravendb"


def through_node_bulk_insert(url: str, count: int) -> float | None:
    """``store.bulkInsert()`` of the official Node.js client; None when node or the client is missing."""
    if shutil.which("node") is None or not NODE_CLIENT.is_dir():
        return None
    httpx.put(f"{url}/admin/databases", params={"name": "NodeBulkInsert"}, json={}).raise_for_status()
    finished = subprocess.run(["node", str(NODE_SCRIPT), url, "NodeBulkInsert", str(count)], capture_output=True,
                              text=True, check=True, timeout=3600)
    rate: float = json.loads(finished.stdout.strip().splitlines()[-1])["rate"]
    return rate


def through_bulk_docs(url: str, count: int, batch: int = 1000) -> float:
    store = DocumentStore(urls=[url], database="BulkDocs")
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("BulkDocs")))
    items = products(count)
    started = time.perf_counter()
    for offset in range(0, count, batch):
        with store.open_session() as session:
            for product in items[offset:offset + batch]:
                session.store(product, f"products/{offset}-{id(product)}")
            session.save_changes()
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


class _Run:
    """The table of one run: the limit measured between the paths, each path rated against the limits around it."""

    def __init__(self, count: int, directory: Path) -> None:
        self.count = count
        self.directory = directory
        self.table = Table(["path", "docs/s", "vs limit"], [54, 10, 8])
        self.limits = 0
        self.limit = self._measure_limit()
        self._limit_row(self.limit)

    def _measure_limit(self) -> float:
        self.limits += 1
        return raw_sqlite_limit(self.count, self.directory / f"limit-{self.limits}.sqlite3")

    def _limit_row(self, rate: float) -> None:
        self.table.row("raw SQLite executemany (limit)", f"{rate:,.0f}".rjust(10), "".rjust(8))

    def path(self, label: str, measure: Callable[[], float | None]) -> tuple[float, float] | None:
        """Measure one path, then the limit again: (its rate, its ratio to the mean of the limits around it)."""
        rate = measure()
        before, self.limit = self.limit, self._measure_limit()
        measured = None if rate is None else (rate, rate / ((before + self.limit) / 2))
        if measured is None:
            self.table.row(label, "-".rjust(10), "skipped (scripts/node-client)")
        else:
            self.table.row(label, f"{measured[0]:,.0f}".rjust(10), f"{measured[1]:.2f}".rjust(8))
        self._limit_row(self.limit)
        return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100_000, help="documents per path (200 for a smoke run)")
    args = parser.parse_args()
    count = args.documents
    print(f"documents: {count:,}", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        run = _Run(count, directory)
        server = ServerProcess(directory / "data").start()
        try:
            assert server.process is not None
            cpu_before = process_cpu_seconds(server.process.pid)
            endpoint = run.path("bulk_insert endpoint, pre-encoded stream", lambda: server_only(server.url, count))
            # Its CPU time per document hardly moves with the machine's load, where its rate does.
            server_cpu = (process_cpu_seconds(server.process.pid) - cpu_before) / count
            run.path("Node.js client `store.bulkInsert()` over HTTP",
                     lambda: through_node_bulk_insert(server.url, count))
            ceiling = "official Python client `store()`, no server (ceiling)"
            before = run.path(ceiling, lambda: client_only(server.url, "CeilingBefore", count))
            bulk = run.path("`store.bulk_insert()` over HTTP", lambda: through_bulk_insert(server.url, count))
            after = run.path(ceiling, lambda: client_only(server.url, "CeilingAfter", count))
            run.path("`session.save_changes()` x1000 (`bulk_docs`)", lambda: through_bulk_docs(server.url, count))
        finally:
            server.stop()
    assert endpoint is not None and bulk is not None and before is not None and after is not None
    print(f"bulk_insert endpoint: {server_cpu * 1e6:.1f} us of server CPU per document (all its threads)")
    print(f"bulk_insert endpoint / limit: {endpoint[1]:.2f} (goal >= 0.6); store.bulk_insert() / the client's "
          f"ceiling (mean of the two around it): {bulk[0] / ((before[0] + after[0]) / 2):.2f} (goal >= 0.9)")

if __name__ == "__main__":
    main()
