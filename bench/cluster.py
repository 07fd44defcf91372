"""One rookdb node on SQLite vs. on PostgreSQL: bulk insert, small transactions, loads and queries.

Run: .venv/bin/python bench/cluster.py [--documents 20000] [--operations 2000]

Both nodes run as users run them (``rookdb serve`` in its own process, ``--storage`` for
PostgreSQL); the official client runs here. PostgreSQL is a throwaway local server on loopback
(Debian's binaries, fsync off as in the tests: the cost measured is rookdb's and the wire's, not
the disk's). The rows with several nodes over one PostgreSQL come with the multi-node work.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bulk_insert import Product, products  # run as bench/cluster.py: its folder is on the path
from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation
from table import Table

from rookdb.testing.postgres_server import PostgresServer
from rookdb.testing.server_process import ServerProcess

DATABASE = "Bench"
SAVE_BATCH = 100


def rate(count: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def measure(url: str, documents: int, operations: int) -> dict[str, float]:
    """Every row's figure for the node at ``url``, on a fresh database."""
    store = DocumentStore(urls=[url], database=DATABASE)
    store.initialize()
    store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
    try:
        items, orders = products(documents), products(operations)

        def bulk_insert() -> None:
            with store.bulk_insert() as bulk:
                for n, item in enumerate(items):
                    bulk.store_as(item, f"products/{n}-A")

        def save_changes() -> None:
            for offset in range(0, operations, SAVE_BATCH):
                with store.open_session() as session:
                    for n, order in enumerate(orders[offset:offset + SAVE_BATCH], start=offset):
                        session.store(order, f"orders/{n}-A")
                    session.save_changes()

        picks = random.Random(7).choices(range(documents), k=operations)

        def loads() -> None:
            for n in picks:
                with store.open_session() as session:
                    session.load(f"products/{n}-A", Product)

        queries = max(1, operations // 20)

        def query() -> None:
            for number in range(queries):
                with store.open_session() as session:
                    list(session.query(object_type=Product).where_equals("UnitsInStock", number % 100))

        return {
            "bulk": rate(documents, bulk_insert),
            "save": rate(operations, save_changes),
            "load": rate(operations, loads),
            "query": rate(queries, query),
        }
    finally:
        store.close()


COLUMNS = ["storage (1 node)", "bulk_insert docs/s", f"save_changes of {SAVE_BATCH} docs/s", "loads/s", "queries/s"]
KEYS = ["bulk", "save", "load", "query"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20_000, help="documents bulk-inserted (200 for a smoke run)")
    parser.add_argument("--operations", type=int, default=2_000,
                        help="documents saved in transactions of 100, and loads by id; queries are 1/20 of it")
    args = parser.parse_args()
    print(f"documents: {args.documents:,}; operations: {args.operations:,}; one node", flush=True)
    table = Table(COLUMNS, [20, 18, 22, 8, 9])
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as scratch, PostgresServer() as postgres:
        directory = Path(scratch)
        for label, arguments in (("SQLite", []), ("PostgreSQL", ["--storage", postgres.url])):
            server = ServerProcess(directory / label, arguments=arguments).start()
            try:
                figures[label] = measure(server.url, args.documents, args.operations)
            finally:
                server.stop()
            table.row(label, *(f"{figures[label][key]:,.0f}" for key in KEYS))
    table.row("PostgreSQL / SQLite", *(f"{figures['PostgreSQL'][key] / figures['SQLite'][key]:.2f}" for key in KEYS))


if __name__ == "__main__":
    main()
