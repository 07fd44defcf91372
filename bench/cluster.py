"""One rookdb node on SQLite vs. on PostgreSQL: bulk insert, small transactions, loads and queries;
then one embeddings task shared by 1, 2 and 3 nodes over one PostgreSQL database.

Run: .venv/bin/python bench/cluster.py [--documents 20000] [--operations 2000] [--embeddings 3000]
     [--provider-latency 0.25]

Every node runs as users run it (``rookdb serve`` in its own process, ``--storage`` for
PostgreSQL); the official client runs here. PostgreSQL is a throwaway local server on loopback
(Debian's binaries, fsync off as in the tests: the cost measured is rookdb's and the wire's, not
the disk's).

Embeddings: N nodes over one PostgreSQL database, one task embedding the products' names through
the local embedding server (``python -m rookdb.testing.embedding_server``, TEI protocol). That server
computes the vectors on this machine's cores, so it is made a provider "that can take it" by giving
every request a fixed latency (``--provider-latency``, its ``slow`` fault) — as a remote API has:
nodes then wait on the provider, not on each other, and the speed-up shows what sharing the batches
gives. Each node reports (progress ``ThisNode``) the time its worker spent claiming ranges (reading
the feed included), embedding and committing, the part of its commits the claims add, and how long
claiming and committing waited for the database's one write lock while another writer held it.
Coordination is the work the claims add: claiming (without the wait) plus that part of the commit; its
share is coordination / (claiming + embedding + committing, waits left out), per batch. The waits are
shown beside it, and so is the time a batch holds the write lock (claiming and committing, waits left
out): the lock is what every node shares, so 1 / that time bounds the batches per second of any number
of nodes, which is how the scaling on a machine with more cores can be computed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bulk_insert import Product, products  # run as bench/cluster.py: its folder is on the path
from ravendb import DocumentStore
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.hugging_face_settings import HuggingFaceSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation
from table import Table

from rookdb.server.runner import free_port
from rookdb.settings import env_name
from rookdb.testing.postgres_server import PostgresServer
from rookdb.testing.server_process import ChildProcess, ServerProcess

DATABASE = "Bench"
SAVE_BATCH = 100
API_KEY = "bench-key"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDINGS_BATCH = 64
TIMEOUT_SECONDS = 900.0


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


def start_nodes(count: int, directory: Path, postgres: PostgresServer, catalog: str) -> list[ServerProcess]:
    env = {env_name("Storage.Url"): postgres.url, env_name("Storage.PostgreSql.Catalog"): catalog,
           env_name("Ai.Embeddings.MaxBatchSize"): str(EMBEDDINGS_BATCH),
           env_name("Ai.Embeddings.MaxConcurrentBatches"): "1", env_name("Cluster.HeartbeatIntervalInSec"): "0.5",
           # One key for every node: it decrypts the connection string's API key wherever it is read.
           env_name("Security.MasterKeyPath"): str(directory / "master.key")}
    nodes: list[ServerProcess] = []
    try:
        for number in range(count):
            nodes.append(ServerProcess(directory / f"{catalog}-{number}", env=env).start())
        deadline = time.monotonic() + 30
        while len(httpx.get(f"{nodes[0].url}/cluster/topology", timeout=10).json()["Topology"]["Members"]) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} nodes did not all join")
            time.sleep(0.2)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def task_progress(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/databases/{DATABASE}/ai/tasks/progress", timeout=30)
    response.raise_for_status()
    [entry] = response.json()["Results"]
    return entry  # type: ignore[no-any-return]


@dataclass
class EmbeddingsRun:
    nodes: int
    documents: int
    seconds: float
    batches: list[int]
    """Batches each node committed."""
    claim: float
    embed: float
    commit: float
    coordination: float
    claim_wait: float
    commit_wait: float
    """Seconds summed over the nodes (see the module's docstring)."""

    @property
    def rate(self) -> float:
        return self.documents / self.seconds

    @property
    def coordinating(self) -> float:
        return self.claim - self.claim_wait + self.coordination

    @property
    def holding(self) -> float:
        return self.claim - self.claim_wait + self.commit - self.commit_wait

    @property
    def share(self) -> float:
        return self.coordinating / (self.holding + self.embed)

    @property
    def share_with_waits(self) -> float:
        return (self.claim + self.coordination) / (self.claim + self.embed + self.commit)

    def per_batch_ms(self, seconds: float) -> float:
        return 1000 * seconds / max(1, sum(self.batches))


def embeddings_run(count: int, directory: Path, postgres: PostgresServer, tei_url: str, documents: int
                   ) -> EmbeddingsRun:
    """One task over ``count`` fresh nodes (a catalog of their own) embedding ``documents`` names."""
    nodes = start_nodes(count, directory, postgres, f"bench_embeddings_{count}")
    try:
        store = DocumentStore(urls=[node.url for node in nodes], database=DATABASE)
        store.initialize()
        try:
            store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
            with store.bulk_insert() as bulk:
                for n, item in enumerate(products(documents)):
                    bulk.store_as(item, f"products/{n}-A")
            store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
                "Bench", "bench-tei", model_type=AiModelType.TEXT_EMBEDDINGS,
                huggingface_settings=HuggingFaceSettings(API_KEY, MODEL, tei_url))))
            started = time.perf_counter()
            store.maintenance.send(AddEmbeddingsGenerationOperation(EmbeddingsGenerationConfiguration(
                name="Names", identifier="names", connection_string_name="Bench", collection="Products",
                embeddings_path_configurations=[EmbeddingPathConfiguration(
                    "Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512))],
                chunking_options_for_querying=ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512))))
            while True:
                entry = task_progress(nodes[0].url)
                if entry["DocumentsProcessed"] == documents and entry["DocumentsChanged"] >= documents:
                    break
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise RuntimeError(f"the task did not finish in {TIMEOUT_SECONDS}s: {entry}")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            assert entry["DocumentsChanged"] == documents, entry  # no range committed twice
        finally:
            store.close()
        work = [task_progress(node.url)["ThisNode"] for node in nodes]
    finally:
        for node in nodes:
            node.stop()
    return EmbeddingsRun(count, documents, seconds, [node["Batches"] for node in work],
                         *(sum(node[key] for node in work)
                           for key in ("ClaimSeconds", "EmbedSeconds", "CommitSeconds", "CoordinationSeconds",
                                       "ClaimLockWaitSeconds", "CommitLockWaitSeconds")))


EMBEDDINGS_COLUMNS = ["nodes", "docs/s", "vs 1 node", "batches per node", "embed ms/batch", "claim ms/batch (wait)",
                      "commit ms/batch (wait)", "lock held ms/batch", "coordination ms/batch", "coordination share",
                      "share with waits"]


def embeddings_rows(directory: Path, postgres: PostgresServer, documents: int, latency: float) -> None:
    port = free_port()
    tei_url = f"http://127.0.0.1:{port}"
    tei = ChildProcess([sys.executable, "-m", "rookdb.testing.embedding_server", "--port", str(port),
                        "--api-key", API_KEY], f"{tei_url}/health").start()
    try:
        httpx.post(f"{tei_url}/_control/faults", json={"kind": "slow", "times": None, "delay": latency},
                   timeout=10).raise_for_status()
        print(f"\nembeddings: {documents:,} names, batches of {EMBEDDINGS_BATCH}, one provider call in flight per"
              f" node, provider latency {latency * 1000:.0f} ms per call", flush=True)
        table = Table(EMBEDDINGS_COLUMNS, [7, 7, 9, 16, 14, 21, 22, 18, 21, 18, 16])
        single: float | None = None
        for count in (1, 2, 3):
            run = embeddings_run(count, directory, postgres, tei_url, documents)
            single = single or run.rate
            table.row(f"{count} node{'s' if count > 1 else ''}", f"{run.rate:,.0f}", f"{run.rate / single:.2f}",
                      "/".join(str(batches) for batches in run.batches), f"{run.per_batch_ms(run.embed):.1f}",
                      f"{run.per_batch_ms(run.claim):.1f} ({run.per_batch_ms(run.claim_wait):.1f})",
                      f"{run.per_batch_ms(run.commit):.1f} ({run.per_batch_ms(run.commit_wait):.1f})",
                      f"{run.per_batch_ms(run.holding):.1f}", f"{run.per_batch_ms(run.coordinating):.1f}",
                      f"{100 * run.share:.1f}% (goal ≤ 5%)", f"{100 * run.share_with_waits:.1f}%")
    finally:
        tei.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20_000, help="documents bulk-inserted (200 for a smoke run)")
    parser.add_argument("--operations", type=int, default=2_000,
                        help="documents saved in transactions of 100, and loads by id; queries are 1/20 of it")
    parser.add_argument("--embeddings", type=int, default=3_000, help="documents embedded by 1, 2 and 3 nodes")
    parser.add_argument("--provider-latency", type=float, default=0.25, help="seconds every provider call takes")
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
        embeddings_rows(directory, postgres, args.embeddings, args.provider_latency)


if __name__ == "__main__":
    main()
