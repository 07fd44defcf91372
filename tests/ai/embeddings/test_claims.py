"""Claims on a task's change feed: ranges taken once, completed in any order with the position moving
over the lowest finished ones only, taken over from a holder that is gone, and several workers sharing
one task's feed over one storage (each document embedded once, every section exact)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.embeddings.claims import ClaimedBatch, ClaimLostError, FeedClaims, superseded
from rookdb.ai.embeddings.layout import cache_document_id
from rookdb.ai.embeddings.progress import TaskState
from rookdb.ai.embeddings.worker import EmbeddingsWorker, state_key
from rookdb.ai.quantization import VectorEmbeddingType, text_hash, vector_hash
from rookdb.ai.task_config import EmbeddingPathConfiguration, EmbeddingsGenerationConfiguration
from rookdb.background import ProviderLoop
from rookdb.settings import Settings
from rookdb.storage.base import DocumentStorage
from rookdb.storage.postgresql import PostgresBackend
from rookdb.storage.sqlite import SqliteStorage
from rookdb.testing.embedding_server import EmbeddingServer
from rookdb.testing.postgres_server import PostgresServer
from tests.support.embeddings import sections, tei_connection_string, tei_inputs
from tests.support.storage import delete, put
from tests.support.waiting import wait_for

COLLECTION = "Products"
_catalogs = itertools.count(1)


class Nodes:
    """Which (tag, incarnation) pairs are live nodes; a test drops one to play its death."""

    def __init__(self) -> None:
        self.live = {("A", "a1"), ("B", "b1"), ("C", "c1")}

    def __call__(self, tag: str, incarnation: str) -> bool:
        return (tag, incarnation) in self.live


def claims(storage: DocumentStorage, nodes: Nodes, tag: str, task_id: int = 1) -> FeedClaims:
    return FeedClaims(storage, lambda part: state_key(task_id, part), tag, f"{tag.lower()}1", nodes)


def commit(storage: DocumentStorage, holder: FeedClaims, batch: ClaimedBatch, up_to: int | None = None) -> int:
    """What a worker's commit does with the claim: complete it and store the position it returns."""
    with storage.write() as tx:
        position = holder.complete(tx, batch.claim, batch.end if up_to is None else up_to)
        tx.set_state(state_key(1, "position"), position)
    return position


def taken(holder: FeedClaims, limit: int = 4) -> ClaimedBatch:
    batch = holder.take(COLLECTION, limit)
    assert batch is not None
    return batch


@pytest.fixture
def products(storage: SqliteStorage) -> list[int]:
    """Ten products (and other collections' documents between them); their etags."""
    for n in range(10):
        put(storage, f"products/{n}", Name=f"product {n}")
        put(storage, f"orders/{n}", "Orders", Total=n)
    return [change.etag for change in storage.changes_since(0, 100, COLLECTION)]


def test_ranges_are_taken_once_and_the_position_passes_only_finished_ones(
        storage: SqliteStorage, products: list[int]) -> None:
    nodes = Nodes()
    on_a, on_b, on_c = claims(storage, nodes, "A"), claims(storage, nodes, "B"), claims(storage, nodes, "C")
    first, second, third = taken(on_a), taken(on_b), taken(on_c)
    assert [[change.id for change in batch.changes] for batch in (first, second, third)] == [
        [f"products/{n}" for n in range(0, 4)], [f"products/{n}" for n in range(4, 8)], ["products/8", "products/9"]]
    assert (first.claim.start, first.end, second.claim.start, second.end, third.end) == (
        0, products[3], products[3], products[7], products[9])
    assert on_a.take(COLLECTION, 4) is None  # everything is claimed
    # Finished out of order: the position waits for the lowest range, then passes every finished one.
    assert commit(storage, on_c, third) == 0
    assert commit(storage, on_b, second) == 0
    assert commit(storage, on_a, first) == products[9]
    assert on_a.position() == products[9] and on_b.take(COLLECTION, 4) is None
    put(storage, "products/10", Name="new")
    assert [change.id for change in taken(on_b).changes] == ["products/10"]


def test_a_range_of_a_holder_that_is_gone_is_redone_and_its_late_commit_refused(
        storage: SqliteStorage, products: list[int]) -> None:
    nodes = Nodes()
    on_a, on_b = claims(storage, nodes, "A"), claims(storage, nodes, "B")
    lost = taken(on_a)
    nodes.live.discard(("A", "a1"))  # A stops heartbeating: the others drop it
    redone = taken(on_b)
    assert (redone.claim.start, redone.end) == (lost.claim.start, lost.end)
    assert [change.id for change in redone.changes] == [change.id for change in lost.changes]
    with pytest.raises(ClaimLostError):
        commit(storage, on_a, lost)  # A was only presumed dead: it commits nothing
    assert commit(storage, on_b, redone) == lost.end
    assert taken(on_b).claim.start == lost.end


def test_a_worker_of_the_same_process_that_replaced_another_takes_its_ranges(
        storage: SqliteStorage, products: list[int]) -> None:
    nodes = Nodes()
    stopped = taken(claims(storage, nodes, "A"))
    assert taken(claims(storage, nodes, "B")).claim.start == stopped.end  # B's process still sees A live
    assert taken(claims(storage, nodes, "A")).claim.start == stopped.claim.start


def test_a_batch_cut_short_frees_the_rest_of_its_range_and_release_frees_all(
        storage: SqliteStorage, products: list[int]) -> None:
    nodes = Nodes()
    on_a, on_b = claims(storage, nodes, "A"), claims(storage, nodes, "B")
    batch = taken(on_a)
    assert commit(storage, on_a, batch, up_to=products[1]) == products[1]  # a daily budget paid for two
    rest = taken(on_b)
    assert (rest.claim.start, rest.end) == (products[1], products[3])
    assert [change.id for change in rest.changes] == ["products/2", "products/3"]
    held = taken(on_b)
    on_b.release()
    assert (taken(on_a).claim.start, taken(on_a).claim.start) == (rest.claim.start, held.claim.start)


def test_a_range_claimed_with_a_larger_batch_size_is_redone_in_parts(
        storage: SqliteStorage, products: list[int]) -> None:
    nodes = Nodes()
    big = taken(claims(storage, nodes, "A"), limit=8)
    nodes.live.discard(("A", "a1"))
    on_b = claims(storage, nodes, "B")
    part = taken(on_b, limit=3)
    assert (part.claim.end, part.end, len(part.changes)) == (big.end, products[2], 3)
    commit(storage, on_b, part)
    assert [change.id for change in taken(on_b, limit=8).changes] == [f"products/{n}" for n in range(3, 8)]


def test_documents_changed_after_their_range_was_claimed_are_superseded(
        storage: SqliteStorage, products: list[int]) -> None:
    batch = taken(claims(storage, Nodes(), "A"))
    planned = [(change.id, change.etag, change.deleted) for change in batch.changes]
    put(storage, "products/1", Name="renamed")
    delete(storage, "products/2")
    with storage.write():
        assert superseded(storage, planned) == {"products/1", "products/2"}
    put(storage, "products/2", Name="back")
    delete(storage, "products/3")
    with storage.write():
        assert superseded(storage, [("products/3", products[3], False), ("products/2", products[2], True),
                               ("products/0", products[0], False)]) == {"products/3", "products/2"}


# -- several workers over one PostgreSQL database ------------------------------------------------------

@pytest.fixture
def shared(postgres_server: PostgresServer) -> Iterator[DocumentStorage]:
    backend = PostgresBackend(postgres_server.url, catalog=f"claims_{next(_catalogs)}")
    storage = backend.create("Shared")
    yield storage
    storage.close()
    backend.close()


SHARED = Settings({"Ai.Embeddings.MaxBatchSize": 4, "Ai.Embeddings.MaxFallbackTimeInSec": 0.3})
TASK = EmbeddingsGenerationConfiguration(
    name="Products", identifier="products-task", connection_string_name="local-tei", collection=COLLECTION,
    task_id=1, embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),))


def start_workers(storage: DocumentStorage, srv: EmbeddingServer, loop: ProviderLoop, nodes: Nodes,
                  tags: str) -> list[EmbeddingsWorker]:
    connection = tei_connection_string(srv)
    workers = [EmbeddingsWorker(storage, TASK,
                                lambda name: connection, SHARED, loop=loop, drain_timeout=5.0,
                                claims=claims(storage, nodes, tag)) for tag in tags]
    for worker in workers:
        worker.start()
    return workers


def caught_up(storage: DocumentStorage, workers: list[EmbeddingsWorker]) -> Callable[[], bool]:
    def done() -> bool:
        for worker in workers:
            worker.wake()
        position = storage.get_state(state_key(1, "position"))
        return (isinstance(position, int) and not storage.changes_since(position, 1, COLLECTION)
                and all(worker.state is TaskState.IDLE for worker in workers))

    return done


@pytest.mark.slow
def test_workers_share_a_task_embedding_each_document_once(
        shared: DocumentStorage, srv: EmbeddingServer, provider_loop: ProviderLoop) -> None:
    for n in range(40):
        put(shared, f"products/{n}", Name=f"product number {n}")
    srv.add_fault("slow", times=None, delay=0.1)  # batches overlap: every worker gets some
    nodes = Nodes()
    workers = start_workers(shared, srv, provider_loop, nodes, "ABC")
    try:
        wait_for(lambda: sum(worker.this_node.batches for worker in workers) >= 2, timeout=60)
        put(shared, "products/3", Name="renamed while the task runs")
        delete(shared, "products/5")
        wait_for(caught_up(shared, workers), timeout=120)
        assert all(worker.this_node.batches > 0 for worker in workers)
    finally:
        for worker in workers:
            assert worker.stop()
    names = {f"products/{n}": f"product number {n}" for n in range(40) if n != 5}
    names["products/3"] = "renamed while the task runs"
    inputs = tei_inputs(srv)
    # No text embedded twice (no batch done twice, the cache is shared), each document's section is
    # its current text's vector.
    assert len(inputs) == len(set(inputs))
    assert set(names.values()) <= set(inputs)
    for doc_id, name in names.items():
        section = sections(shared, doc_id)
        assert section, doc_id
        [stored] = section["products-task"]["Name"]
        assert stored == _vector_hash_of(shared, name)
    assert sections(shared, "products/5") == {}
    stats = shared.get_state(state_key(1, "stats"))
    assert stats["batches"] == sum(worker.this_node.batches for worker in workers)


def _vector_hash_of(storage: DocumentStorage, text: str) -> str:
    digest = text_hash(text)
    found = storage.attachment_content(cache_document_id("local-tei", digest, VectorEmbeddingType.SINGLE), digest)
    assert found is not None, text
    return vector_hash(found[1])


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_its_range_to_another(
        shared: DocumentStorage, srv: EmbeddingServer, provider_loop: ProviderLoop) -> None:
    for n in range(24):
        put(shared, f"products/{n}", Name=f"item {n}")
    srv.add_fault("slow", times=None, delay=0.3)
    nodes = Nodes()
    [doomed] = start_workers(shared, srv, provider_loop, nodes, "A")
    wait_for(lambda: doomed.this_node.batches >= 1, timeout=60)
    nodes.live.discard(("A", "a1"))
    doomed.stop(drain=False, timeout=0.01)  # its claims stay behind, held by a node that is gone
    held = shared.get_state(state_key(1, "claims"))
    assert any(claim["Node"] == "A" and not claim["Done"] for claim in held["Claims"])
    srv.clear_faults()
    survivors = start_workers(shared, srv, provider_loop, nodes, "BC")
    try:
        wait_for(caught_up(shared, survivors), timeout=120)
    finally:
        for worker in survivors:
            assert worker.stop()
    time.sleep(0.2)
    for n in range(24):
        [stored] = sections(shared, f"products/{n}")["products-task"]["Name"]
        assert stored == _vector_hash_of(shared, f"item {n}")
    stats = shared.get_state(state_key(1, "stats"))
    assert stats["documents"] == 24  # every range committed once
    assert shared.get_state(state_key(1, "claims"))["Claims"] == []


def test_a_busy_worker_claims_without_looking_first_and_reports_its_wait_for_the_write_lock(
        storage: SqliteStorage, products: list[int]) -> None:
    holder = claims(storage, Nodes(), "A")
    assert taken(holder).end == products[3]  # a full claim: the worker is busy
    released = threading.Event()

    def hold_the_write_lock() -> None:
        with storage.write():
            released.wait(timeout=10)

    writer = threading.Thread(target=hold_the_write_lock)
    writer.start()
    try:
        time.sleep(0.1)  # the writer holds the lock before the claim asks for it
        threading.Timer(0.3, released.set).start()
        assert taken(holder).end == products[7]
    finally:
        released.set()
        writer.join()
    assert holder.lock_wait >= 0.2
    assert taken(holder).end == products[9]  # two changes: not a full claim, the worker is no longer busy
    released.clear()
    writer = threading.Thread(target=hold_the_write_lock)
    writer.start()
    try:
        time.sleep(0.1)
        assert holder.take(COLLECTION, 4) is None  # looked without the lock: nothing left, no wait
        assert holder.lock_wait == 0.0
    finally:
        released.set()
        writer.join()
