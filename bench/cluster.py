"""One rookdb node on SQLite vs. on PostgreSQL (bulk insert, small transactions, loads and queries),
then embeddings throughput with 1, 2 and 3 nodes over one PostgreSQL.

Run: .venv/bin/python bench/cluster.py [--documents 20000] [--operations 2000] [--embeddings 3000]

Every node runs as users run it (``rookdb serve`` in its own process, ``--storage`` for
PostgreSQL); the official client runs here. PostgreSQL is a throwaway local server on loopback
(Debian's binaries, fsync off as in the tests: the cost measured is rookdb's and the wire's, not
the disk's).

Embeddings: three tasks (one per collection, ``--embeddings`` documents in all) against the local
embedding server (TEI protocol); each task runs on the node holding its lease, so with three nodes
each node runs one. The time is from the tasks' creation to all three caught up. Coordination per
batch is what several nodes add to a batch: the lease check inside its write transaction and the
wait for the database's write lock that every node shares; it is sampled here, on the same
PostgreSQL, while the tasks run, and set against the mean time of a batch
(``Ai.Embeddings.MaxBatchSize`` documents). "once" checks the tasks' committed counters: every
document counted exactly once, so no batch was committed twice.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import embeddings_task as embeddings
import httpx
from bulk_insert import Product, products  # run as bench/cluster.py: its folder is on the path
from ravendb import DocumentStore
from ravendb.documents.operations.ai import AddEmbeddingsGenerationOperation
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation
from table import Table

from rookdb.documents.task_leases import lease_key
from rookdb.server.runner import free_port
from rookdb.settings import env_name
from rookdb.storage.postgresql import PostgresBackend
from rookdb.testing.postgres_server import PostgresServer
from rookdb.testing.server_process import ChildProcess, ServerProcess

DATABASE = "Bench"
SAVE_BATCH = 100
TASKS = 3
POLL_SECONDS = 0.2
TIMEOUT_SECONDS = 1800.0


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


EMBEDDING_COLUMNS = ["nodes", "documents", "task s", "docs/s", "batch ms", "coordination ms", "coordination %",
                     "once"]


def shelf(number: int) -> type:
    """A document class of its own per task: the client names the collection after it."""
    return type(f"Shelf{number}", (embeddings.Product,), {})


def tasks_progress(url: str) -> list[dict[str, object]]:
    response = httpx.get(f"{url}/databases/{DATABASE}/ai/tasks/progress", timeout=30)
    response.raise_for_status()
    return list(response.json()["Results"])


def coordination_sample(backend: PostgresBackend) -> float:
    """Seconds a batch's commit spends on coordination: the shared write lock and the lease check."""
    storage = backend.open(DATABASE)
    try:
        started = time.perf_counter()
        with storage.write():
            storage.get_state(lease_key(1))
        return time.perf_counter() - started
    finally:
        storage.close()


def embeddings_run(directory: Path, postgres: PostgresServer, tei_url: str, nodes: int, documents: int
                   ) -> dict[str, float]:
    catalog = f"bench_{nodes}_nodes"
    env = {env_name("Storage.PostgreSql.Catalog"): catalog, env_name("Cluster.HeartbeatIntervalInSec"): "0.5"}
    servers = [ServerProcess(directory / f"{nodes}-{n}", env=env, arguments=["--storage", postgres.url]).start()
               for n in range(nodes)]
    samples: list[float] = []
    try:
        store = DocumentStore(urls=[server.url for server in servers], database=DATABASE)
        store.initialize()
        store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
        items = embeddings.products(documents)
        with store.bulk_insert() as bulk:
            for n, item in enumerate(items):
                bulk.store_as(shelf(n % TASKS + 1)(**vars(item)), f"items/{n}")
        store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
            "Bench", "bench-tei", model_type=AiModelType.TEXT_EMBEDDINGS,
            huggingface_settings=HuggingFaceSettings(embeddings.API_KEY, embeddings.MODEL, tei_url))))
        started = time.perf_counter()
        for number in range(1, TASKS + 1):
            config = embeddings.task_config()
            config.name, config.identifier = f"Shelf{number}", f"shelf-{number}"
            config.collection = f"Shelf{number}s"
            store.maintenance.send(AddEmbeddingsGenerationOperation(config))
        store.close()
        backend = PostgresBackend(postgres.url, catalog=catalog, max_connections=2)
        try:
            while True:
                entries = tasks_progress(servers[0].url)
                done = len(entries) == TASKS and all(
                    entry["State"] == "Idle" and entry["DocumentsProcessed"] == entry["DocumentsTotal"]
                    and int(str(entry["DocumentsChanged"])) > 0 for entry in entries)
                if done:
                    break
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise RuntimeError(f"the tasks did not finish in {TIMEOUT_SECONDS}s: {entries}")
                samples.append(coordination_sample(backend))
                time.sleep(POLL_SECONDS)
            elapsed = time.perf_counter() - started
        finally:
            backend.close()
    finally:
        for server in servers:
            server.stop()
    batches_per_task = -(-documents // TASKS // embeddings.BATCH)
    batch = elapsed / max(1, batches_per_task)
    coordination = statistics.median(samples) if samples else 0.0
    changed = sum(int(str(entry["DocumentsChanged"])) for entry in entries)
    return {"seconds": elapsed, "rate": documents / elapsed, "batch": batch, "coordination": coordination,
            "once": float(changed == documents)}


def embeddings_rows(directory: Path, postgres: PostgresServer, documents: int) -> None:
    port = free_port()
    tei_url = f"http://127.0.0.1:{port}"
    tei = ChildProcess([sys.executable, "-m", "rookdb.testing.embedding_server", "--port", str(port),
                        "--api-key", embeddings.API_KEY], f"{tei_url}/health").start()
    table = Table(EMBEDDING_COLUMNS, [5, 9, 6, 7, 8, 15, 14, 4])
    try:
        for nodes in (1, 2, 3):
            figures = embeddings_run(directory, postgres, tei_url, nodes, documents)
            table.row(str(nodes), f"{documents:,}", f"{figures['seconds']:.1f}", f"{figures['rate']:,.0f}",
                      f"{figures['batch'] * 1000:,.0f}", f"{figures['coordination'] * 1000:.1f}",
                      f"{100 * figures['coordination'] / figures['batch']:.1f}",
                      "yes" if figures["once"] else "NO")
    finally:
        tei.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20_000, help="documents bulk-inserted (200 for a smoke run)")
    parser.add_argument("--operations", type=int, default=2_000,
                        help="documents saved in transactions of 100, and loads by id; queries are 1/20 of it")
    parser.add_argument("--embeddings", type=int, default=3_000,
                        help="documents embedded by the three tasks (90 for a smoke run)")
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
        table.row("PostgreSQL / SQLite",
                  *(f"{figures['PostgreSQL'][key] / figures['SQLite'][key]:.2f}" for key in KEYS))
        print(f"\nembeddings: {args.embeddings:,} documents, {TASKS} tasks, local TEI server", flush=True)
        embeddings_rows(directory, postgres, args.embeddings)


if __name__ == "__main__":
    main()
