"""Several ``rookdb serve`` processes over one PostgreSQL, killed with SIGKILL or cut off from it:
the official client fails over, acknowledged writes are all there, an embeddings task that both nodes
embed goes on on the survivor and finishes with exactly the embeddings it should (no range committed
twice, nothing orphaned), a restarted node resumes its indexes from their checkpoints, and a node that
lost PostgreSQL answers 503 and recovers without a restart."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.settings import env_name
from rookdb.storage.postgresql import PostgresBackend
from rookdb.testing.postgres_server import PostgresServer
from rookdb.testing.server_process import ServerProcess
from tests.support.crash_workload import CONNECTION, TASK, Product, check_embeddings, product

pytestmark = pytest.mark.slow

DATABASE = "CrashTest"
DOCUMENTS = 200
_catalogs = itertools.count(1)


class Node(ServerProcess):
    """A node of the cluster under test, restartable over its own data directory."""

    def __init__(self, data_dir: Path, postgres: PostgresServer, catalog: str) -> None:
        super().__init__(data_dir, log=data_dir.with_suffix(".log"), env={
            env_name("Storage.Url"): postgres.url, env_name("Storage.PostgreSql.Catalog"): catalog,
            env_name("Storage.PostgreSql.ConnectTimeoutInSec"): "1",
            env_name("Cluster.HeartbeatIntervalInSec"): "0.2", env_name("Cluster.NodeTimeoutInSec"): "3",
            env_name("Ai.Embeddings.MaxBatchSize"): "8", env_name("Ai.Embeddings.LocalModelThreads"): "1"})

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()


Cluster = Callable[[int], list[Node]]


@pytest.fixture
def catalog() -> str:
    return f"chaos_{next(_catalogs)}"


@pytest.fixture
def cluster(postgres_server: PostgresServer, tmp_path: Path, catalog: str) -> Iterator[Cluster]:
    started: list[Node] = []

    def start(count: int, postgres: PostgresServer = postgres_server) -> list[Node]:
        for _ in range(count):
            started.append(Node(tmp_path / f"node{len(started)}", postgres, catalog).start())
        return list(started)

    yield start
    for node in started:
        node.kill()


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def client(nodes: list[Node]) -> DocumentStore:
    store = DocumentStore(urls=[node.url for node in nodes], database=DATABASE)
    store.initialize()
    return store


def progress(node: Node) -> dict[str, Any]:
    [entry] = node.get(f"/databases/{DATABASE}/ai/tasks/progress")["Results"]
    return entry  # type: ignore[no-any-return]


def responsible(node: Node) -> str | None:
    [task] = node.get(f"/databases/{DATABASE}/tasks")["OngoingTasks"]
    return task["ResponsibleNode"]["NodeTag"]  # type: ignore[no-any-return]


def add_task(store: DocumentStore) -> None:
    store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
        "Embedded", CONNECTION, model_type=AiModelType.TEXT_EMBEDDINGS, embedded_settings=EmbeddedSettings())))
    store.maintenance.send(AddEmbeddingsGenerationOperation(EmbeddingsGenerationConfiguration(
        name="Crash", identifier=TASK, connection_string_name="Embedded", collection="Products",
        embeddings_path_configurations=[
            EmbeddingPathConfiguration("Name", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512)),
            EmbeddingPathConfiguration("Description", ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, 24))],
        chunking_options_for_querying=ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512))))


def test_killing_the_node_running_an_embeddings_task_moves_it_without_loss_or_repeat(
        cluster: Cluster, postgres_server: PostgresServer, catalog: str) -> None:
    nodes = cluster(2)
    rng = random.Random(14)
    with client(nodes) as store:
        store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
        with store.bulk_insert() as bulk:
            for n in range(1, DOCUMENTS + 1):
                bulk.store_as(product(n, rng), f"products/{n}-A")
        add_task(store)
    wait_for(lambda: responsible(nodes[1]) is not None)
    runner = next(node for node in nodes if node.get("/cluster/topology")["NodeTag"] == responsible(nodes[1]))
    survivor = next(node for node in nodes if node is not runner)
    wait_for(lambda: progress(runner)["DocumentsProcessed"] > 0, timeout=60)
    assert progress(runner)["DocumentsProcessed"] < DOCUMENTS
    runner.kill()

    survivor_tag = survivor.get("/cluster/topology")["NodeTag"]
    wait_for(lambda: responsible(survivor) == survivor_tag)
    wait_for(lambda: progress(survivor)["State"] == "Idle" and progress(survivor)["DocumentsProcessed"] == DOCUMENTS,
             timeout=300)
    final = progress(survivor)
    # Counters are committed with each batch: a batch written twice would count its documents twice.
    assert final["DocumentsChanged"] == DOCUMENTS and final["FailedItems"] == 0
    backend = PostgresBackend(postgres_server.url, catalog=catalog)
    try:
        storage = backend.open(DATABASE)
        assert storage.integrity_check() == []
        check_embeddings(storage)
        storage.close()
    finally:
        backend.close()


def test_the_client_fails_over_when_a_node_is_killed_during_writes(cluster: Cluster) -> None:
    nodes = cluster(2)
    with client(nodes[:1]) as store:
        store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
        acknowledged: list[str] = []
        failures: list[BaseException] = []
        killed = threading.Event()

        def write() -> None:
            try:
                for batch in range(60):
                    with store.open_session() as session:
                        ids = [f"products/{batch}-{n}" for n in range(5)]
                        for doc_id in ids:
                            session.store(Product(doc_id, "written", "categories/1-A"), doc_id)
                        session.save_changes()
                    acknowledged.extend(ids)
                    if batch == 20:
                        killed.wait(30)
            except BaseException as error:  # reported below
                failures.append(error)

        writer = threading.Thread(target=write)
        writer.start()
        wait_for(lambda: len(acknowledged) >= 50)
        nodes[0].kill()  # the client's preferred node: every write went there
        killed.set()
        writer.join(timeout=180)
        assert not failures and len(acknowledged) == 300
    with DocumentStore(urls=[nodes[1].url], database=DATABASE) as reader:
        reader.initialize()
        with reader.open_session() as session:
            loaded = session.load(acknowledged, Product)
            assert all(loaded[doc_id] is not None for doc_id in acknowledged)


def test_nodes_answer_503_while_postgresql_is_down_and_recover_without_a_restart(
        cluster: Cluster, tmp_path: Path) -> None:
    with PostgresServer() as postgres:
        nodes = cluster(2, postgres)  # type: ignore[call-arg]
        with client(nodes) as store:
            store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
            with store.open_session() as session:
                session.store(Product("before", "", ""), "products/1")
                session.save_changes()
            postgres.stop()
            for node in nodes:
                response = httpx.get(f"{node.url}/databases/{DATABASE}/docs", params={"id": "products/1"}, timeout=30)
                assert response.status_code == 503, response.text
                envelope = response.json()
                assert {"Type", "Message", "Error"} <= set(envelope)
                assert "PostgreSQL is unavailable" in envelope["Message"]
            postgres.start()
            with store.open_session() as session:
                session.store(Product("after", "", ""), "products/2")
                session.save_changes()
        # Each node follows the other's writes again: a query on B sees a write made through A.
        with DocumentStore(urls=[nodes[0].url], database=DATABASE) as on_a, \
                DocumentStore(urls=[nodes[1].url], database=DATABASE) as on_b:
            on_a.conventions.disable_topology_updates = True
            on_b.conventions.disable_topology_updates = True
            on_a.initialize()
            on_b.initialize()
            with on_a.open_session() as session:
                session.store(Product("through A", "", ""), "products/3")
                session.save_changes()
            with on_b.open_session() as session:
                found = list(session.query(object_type=Product).wait_for_non_stale_results()
                             .where_equals("Name", "through A"))
                assert len(found) == 1
        wait_for(lambda: len(nodes[0].get("/topology", name=DATABASE)["Nodes"]) == 2)


def only(node: Node) -> DocumentStore:
    """A store that talks to ``node`` alone (no failover to the others)."""
    store = DocumentStore(urls=[node.url], database=DATABASE)
    store.conventions.disable_topology_updates = True
    store.initialize()
    return store


def test_a_node_killed_during_writes_while_both_embed_loses_no_write_and_the_task_ends_exact(
        cluster: Cluster, postgres_server: PostgresServer, catalog: str) -> None:
    nodes = cluster(2)
    rng = random.Random(41)
    with client(nodes[:1]) as store:
        store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
        with store.bulk_insert() as bulk:
            for n in range(1, DOCUMENTS + 1):
                bulk.store_as(product(n, rng), f"products/{n}-A")
        add_task(store)
        # Both nodes embed batches of the one task.
        # A node reports no ThisNode until its worker for the task has started (it learns of the task
        # from the shared record a moment after the node that added it).
        wait_for(lambda: all((progress(node)["ThisNode"] or {}).get("Batches", 0) > 0 for node in nodes),
                 timeout=180)
        acknowledged: list[str] = []
        failures: list[BaseException] = []
        writes = random.Random(42)

        def write() -> None:
            try:
                for batch in range(40):
                    with store.open_session() as session:
                        ids = [f"products/w{batch}-{n}" for n in range(5)]
                        for number, doc_id in enumerate(ids):
                            session.store(product(1000 + 5 * batch + number, writes), doc_id)
                        session.save_changes()
                    acknowledged.extend(ids)
                    time.sleep(0.05)
            except BaseException as error:  # reported below
                failures.append(error)

        writer = threading.Thread(target=write)
        writer.start()
        wait_for(lambda: len(acknowledged) >= 50)
        survivor_batches = progress(nodes[1])["ThisNode"]["Batches"]
        nodes[0].kill()  # the client's preferred node, in the middle of writes and of batches
        writer.join(timeout=240)
        assert not failures and len(acknowledged) == 200
    total = DOCUMENTS + 200
    wait_for(lambda: progress(nodes[1])["State"] == "Idle" and progress(nodes[1])["DocumentsProcessed"] == total,
             timeout=300)
    final = progress(nodes[1])
    # Counters are added by each committed batch: a range committed twice would count its documents twice.
    assert final["DocumentsChanged"] == total and final["FailedItems"] == 0
    assert final["ThisNode"]["Batches"] > survivor_batches  # the survivor did the rest, the dead node's ranges too
    with only(nodes[1]) as reader, reader.open_session() as session:
        loaded = session.load(acknowledged, Product)
        assert all(loaded[doc_id] is not None for doc_id in acknowledged)
    backend = PostgresBackend(postgres_server.url, catalog=catalog)
    try:
        storage = backend.open(DATABASE)
        assert storage.integrity_check() == []
        check_embeddings(storage)  # every document's embeddings exact, no orphan, no missing one
        storage.close()
    finally:
        backend.close()


def index_statistics(node: Node, name: str) -> dict[str, Any]:
    found = [entry for entry in node.get(f"/databases/{DATABASE}/indexes/stats")["Results"] if entry["Name"] == name]
    assert len(found) == 1, found
    return found[0]  # type: ignore[no-any-return]


def by_category(store: DocumentStore, category: str) -> list[Product]:
    with store.open_session() as session:
        return list(session.query(object_type=Product).wait_for_non_stale_results()
                    .where_equals("Category", category))


def test_a_node_killed_and_restarted_resumes_its_indexes_from_their_checkpoints(cluster: Cluster) -> None:
    nodes = cluster(2)
    rng = random.Random(43)
    with client(nodes[:1]) as store:
        store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
        with store.bulk_insert() as bulk:
            for n in range(1, 101):
                bulk.store_as(product(n, rng), f"products/{n}-A")
        with only(nodes[1]) as on_b:
            assert len(by_category(on_b, "categories/1-A")) == 12
            with store.open_session() as session:  # 10 documents changed: mapped twice
                for n in range(1, 11):
                    session.store(product(n, rng), f"products/{n}-A")
                session.save_changes()
            assert len(by_category(on_b, "categories/1-A")) == 12
        [index] = [entry["Name"] for entry in nodes[1].get(f"/databases/{DATABASE}/indexes/stats")["Results"]]
        before = index_statistics(nodes[1], index)
        assert (before["MapAttempts"], before["EntriesCount"]) == (110, 100)
        nodes[1].kill()
        with store.open_session() as session:  # written while B is down
            for n in range(101, 131):
                session.store(product(n, rng), f"products/{n}-A")
            session.save_changes()
    nodes[1].start()
    with only(nodes[1]) as on_b:
        assert len(by_category(on_b, "categories/1-A")) == 16
    after = index_statistics(nodes[1], index)
    # Resumed, not rebuilt: the index was created once and mapped only the 30 documents written since
    # (a rebuild would have mapped 130 documents from scratch: 130 attempts, or 240 on kept counters).
    assert after["CreatedTimestamp"] == before["CreatedTimestamp"]
    assert (after["MapAttempts"], after["EntriesCount"]) == (140, 130)
    assert after["Collections"]["Products"]["LastProcessedDocumentEtag"] > \
        before["Collections"]["Products"]["LastProcessedDocumentEtag"]
