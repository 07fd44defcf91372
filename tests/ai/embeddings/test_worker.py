"""One task's worker over real SQLite storage and the local embedding server (TEI over HTTP)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from ravendb.documents.queries.vector import VectorQuantizer

from rookdb.ai.chunking import ChunkingMethod, ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.embeddings.layout import cache_document_id
from rookdb.ai.embeddings.progress import TaskState
from rookdb.ai.embeddings.throttles import TaskThrottles
from rookdb.ai.embeddings.usage import UsageCounts, usage_key
from rookdb.ai.embeddings.worker import EmbeddingsWorker, provider_batches, state_key
from rookdb.ai.quantization import VectorEmbeddingType, encode, text_hash, vector_hash
from rookdb.ai.task_config import (
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    EmbeddingsTransformation,
)
from rookdb.background import ProviderLoop
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage
from rookdb.testing.embedding_server import EmbeddingServer
from rookdb.wire import parse_timestamp
from tests.support.embeddings import sections, tei_connection_string, tei_inputs, tei_requests
from tests.support.providers import CountingProvider
from tests.support.scripting import ENGINE_CRASH, UNREACHED_TIME_LIMIT_MS
from tests.support.storage import delete, put
from tests.support.waiting import wait_for

SETTINGS = Settings({"Ai.Embeddings.MaxFallbackTimeInSec": 0.3, "Ai.Embeddings.MaxBatchSize": 4})
START = datetime(2026, 1, 1, tzinfo=UTC)


NAME_ONLY = (EmbeddingPathConfiguration("Name", ChunkingOptions()),)


def paths_task(**changes: Any) -> EmbeddingsGenerationConfiguration:
    values: dict[str, Any] = {
        "name": "Products", "identifier": "products-task", "connection_string_name": "local-tei",
        "collection": "Products", "task_id": 1,
        "embeddings_path_configurations": (
            EmbeddingPathConfiguration("Name", ChunkingOptions()),
            EmbeddingPathConfiguration("Description", ChunkingOptions(
                ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, max_tokens_per_chunk=12, overlap_tokens=2,
                context_prefix="Product description:")),
        ),
    }
    values.update(changes)
    return EmbeddingsGenerationConfiguration(**values)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


WorkerFactory = Callable[..., EmbeddingsWorker]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_worker(storage: SqliteStorage, srv: EmbeddingServer, clock: Clock, provider_loop: ProviderLoop
                ) -> Iterator[WorkerFactory]:
    workers: list[EmbeddingsWorker] = []

    def make(task: EmbeddingsGenerationConfiguration | None = None,
             connection: AiConnectionString | None = None, settings: Settings = SETTINGS,
             throttles: TaskThrottles | None = None) -> EmbeddingsWorker:
        used = connection or tei_connection_string(srv)
        worker = EmbeddingsWorker(storage, task or paths_task(), lambda name: used, settings, loop=provider_loop,
                                  clock=clock, drain_timeout=5.0, throttles=throttles)
        workers.append(worker)
        worker.start()
        return worker

    yield make
    for worker in workers:
        assert worker.stop()


def idle(worker: EmbeddingsWorker, storage: SqliteStorage) -> Callable[[], bool]:
    def done() -> bool:
        worker.wake()
        pending = storage.changes_since(worker.position, 1, worker.task.collection)
        return worker.state is TaskState.IDLE and not pending

    return done


def cached_vector(storage: SqliteStorage, text: str, kind: VectorEmbeddingType = VectorEmbeddingType.SINGLE,
                  connection: str = "local-tei") -> bytes:
    digest = text_hash(text)
    found = storage.attachment_content(cache_document_id(connection, digest, kind), digest)
    assert found is not None, f"no cache entry for {text!r}"
    return found[1]


def test_provider_batches_spread_texts_over_the_allowed_calls() -> None:
    assert [len(b) for b in provider_batches([str(n) for n in range(100)], 4, 128)] == [25, 25, 25, 25]
    assert [len(b) for b in provider_batches([str(n) for n in range(20)], 4, 128)] == [16, 4]
    assert [len(b) for b in provider_batches([str(n) for n in range(300)], 1, 128)] == [128, 128, 44]
    assert provider_batches([], 4, 128) == []


def test_paths_task_stores_sections_attachments_and_cache(
        storage: SqliteStorage, make_worker: WorkerFactory, clock: Clock) -> None:
    description = "Soft drink from the mountains.\n\nBrewed with black tea leaves and spices."
    put(storage, "products/1-A", Name="Chai", Description=description, Price=18)
    put(storage, "products/2-A", Name="Chang", Price=19)
    put(storage, "products/3-A", Price=10)  # nothing to embed
    worker = make_worker()
    wait_for(idle(worker, storage), what="the task to catch up")
    [chai] = sections(storage, "products/1-A").values()
    assert chai["@quantization"] == "Single"
    assert len(chai["Name"]) == 1 and len(chai["Description"]) >= 2
    assert chai["Name"] == [vector_hash(cached_vector(storage, "Chai"))]
    expected_name = encode(get_embedded_model().embed(["Chai"])[0], VectorEmbeddingType.SINGLE)
    assert np.allclose(np.frombuffer(cached_vector(storage, "Chai"), "<f4"), np.frombuffer(expected_name, "<f4"),
                       atol=1e-5)
    document = storage.get("embeddings/products/1-A")
    assert document is not None and document.collection == "@embeddings/Products"
    names = {a.name for a in storage.attachments("embeddings/products/1-A")}
    assert names == set(chai["Name"]) | set(chai["Description"])
    assert orjson.loads(document.body)["@metadata"]["@flags"] == "HasAttachments"
    assert sections(storage, "products/3-A") == {}
    cache = storage.get(cache_document_id("local-tei", text_hash("Chai"), VectorEmbeddingType.SINGLE))
    assert cache is not None and cache.collection == "@embeddings-cache"
    assert parse_timestamp(orjson.loads(cache.body)["@metadata"]["@expires"]) == START + timedelta(days=90)
    assert storage.integrity_check() == []
    assert worker.snapshot().to_wire()["DocumentsChanged"] == 3 and worker.snapshot().to_wire()["Health"] == "Healthy"


def test_unchanged_text_is_a_cache_hit_and_slides_the_expiration(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer, clock: Clock) -> None:
    put(storage, "products/1-A", Name="Chai", Price=18)
    worker = make_worker()
    wait_for(idle(worker, storage))
    calls = tei_requests(srv)
    before = sections(storage, "products/1-A")
    cache_id = cache_document_id("local-tei", text_hash("Chai"), VectorEmbeddingType.SINGLE)
    clock.now = START + timedelta(days=50)  # 40 of 90 days left: less than half
    put(storage, "products/1-A", Name="Chai", Price=20)  # a change to a field that is not embedded
    worker.wake()
    wait_for(idle(worker, storage))
    assert tei_requests(srv) == calls
    assert sections(storage, "products/1-A") == before
    cache = storage.get(cache_id)
    assert cache is not None
    assert parse_timestamp(orjson.loads(cache.body)["@metadata"]["@expires"]) == clock.now + timedelta(days=90)
    assert worker.snapshot().to_wire()["CacheHits"] >= 1


def test_deleting_a_source_removes_its_section_and_attachments(
        storage: SqliteStorage, make_worker: WorkerFactory) -> None:
    put(storage, "products/1-A", Name="Chai")
    put(storage, "products/2-A", Name="Chang")
    worker = make_worker()
    wait_for(idle(worker, storage))
    assert sections(storage, "products/1-A")
    delete(storage, "products/1-A")
    worker.wake()
    wait_for(lambda: storage.get("embeddings/products/1-A") is None, what="the embeddings document to go")
    assert storage.attachments("embeddings/products/1-A") == []
    assert sections(storage, "products/2-A")
    assert storage.integrity_check() == []


def test_two_tasks_share_one_embeddings_document(storage: SqliteStorage, make_worker: WorkerFactory) -> None:
    put(storage, "products/1-A", Name="Chai", Description="Tea")
    first = make_worker(paths_task())
    second = make_worker(paths_task(name="Names", identifier="names-task", task_id=2,
                                    embeddings_path_configurations=NAME_ONLY))
    wait_for(idle(first, storage))
    wait_for(idle(second, storage))
    both = sections(storage, "products/1-A")
    assert set(both) == {"products-task", "names-task"}
    # Same connection string, same text: one vector, one attachment shared by both sections.
    assert both["names-task"]["Name"] == both["products-task"]["Name"]
    put(storage, "products/1-A", Description="Tea")  # Name removed
    first.wake()
    second.wake()
    wait_for(idle(first, storage))
    wait_for(idle(second, storage))
    assert set(sections(storage, "products/1-A")) == {"products-task"}
    remaining = sections(storage, "products/1-A")["products-task"]
    assert set(remaining) == {"@quantization", "Description"}
    assert {a.name for a in storage.attachments("embeddings/products/1-A")} == set(remaining["Description"])
    assert storage.integrity_check() == []


@pytest.mark.parametrize("kind", [VectorEmbeddingType.INT8, VectorEmbeddingType.BINARY])
def test_quantized_vectors_are_byte_equal_to_the_clients(
        storage: SqliteStorage, make_worker: WorkerFactory, kind: VectorEmbeddingType) -> None:
    put(storage, "products/1-A", Name="Ipoh Coffee")
    worker = make_worker(paths_task(quantization=kind,
                                    embeddings_path_configurations=NAME_ONLY))
    wait_for(idle(worker, storage))
    section = sections(storage, "products/1-A")["products-task"]
    assert section["@quantization"] == kind.value
    [digest] = section["Name"]
    stored = storage.attachment_content("embeddings/products/1-A", digest)
    assert stored is not None
    vector = [float(x) for x in get_embedded_model().embed(["Ipoh Coffee"])[0]]
    if kind is VectorEmbeddingType.INT8:
        client = VectorQuantizer.to_int8(vector)
        assert list(np.frombuffer(stored[1], dtype=np.int8)) == client
    else:
        client = VectorQuantizer.to_int1(vector)
        assert list(np.unpackbits(np.frombuffer(stored[1], dtype=np.uint8))[: len(vector)]) == client
    assert stored[1] == cached_vector(storage, "Ipoh Coffee", kind)


def test_script_task_with_context_prefix(storage: SqliteStorage, make_worker: WorkerFactory) -> None:
    script = ("embeddings.generate({ Name: this.Name, "
              "Notes: text.split(this.Notes, 20).withContextPrefix('Note about ' + this.Name + ':') })")
    put(storage, "products/1-A", Name="Chai", Notes="Best served hot with milk and honey")
    worker = make_worker(paths_task(embeddings_path_configurations=(),
                                    embeddings_transformation=EmbeddingsTransformation(script)))
    wait_for(idle(worker, storage))
    section = sections(storage, "products/1-A")["products-task"]
    assert section["Name"] == [vector_hash(cached_vector(storage, "Chai"))]
    prefixed = "Note about Chai: Best served hot with milk and honey"
    assert section["Notes"] == [vector_hash(cached_vector(storage, prefixed))]


def test_bad_script_fails_the_task_not_the_server(storage: SqliteStorage, make_worker: WorkerFactory) -> None:
    put(storage, "products/1-A", Name="Chai")
    broken = EmbeddingsTransformation("embeddings.generate({ Name: }")
    worker = make_worker(paths_task(embeddings_path_configurations=(), embeddings_transformation=broken))
    wait_for(lambda: worker.state is TaskState.FAILED, what="the task to fail")
    [error] = worker.errors.entries()
    assert error.kind == "Process" and error.step == "Transformation" and "syntax" in error.message


def test_script_error_for_one_document_is_an_item_error(storage: SqliteStorage, make_worker: WorkerFactory) -> None:
    script = "if (this.Name === 'Bad') throw new Error('no'); embeddings.generate({ Name: this.Name })"
    put(storage, "products/1-A", Name="Bad")
    put(storage, "products/2-A", Name="Good")
    worker = make_worker(paths_task(embeddings_path_configurations=(),
                                    embeddings_transformation=EmbeddingsTransformation(script)))
    wait_for(idle(worker, storage))
    assert sections(storage, "products/2-A") and not sections(storage, "products/1-A")
    [error] = worker.errors.entries()
    assert (error.kind, error.step, error.document_id) == ("Item", "Transformation", "products/1-A")
    assert storage.get_state(state_key(1, "errors"))["Items"][0]["DocumentId"] == "products/1-A"


def test_script_crashing_the_engine_is_an_item_error(storage: SqliteStorage, make_worker: WorkerFactory) -> None:
    # The crash aborts the engine's process (a script host, not the server).
    script = f"if (this.Name === 'Bad') {ENGINE_CRASH}; embeddings.generate({{ Name: this.Name }})"
    put(storage, "products/1-A", Name="Good")
    put(storage, "products/2-A", Name="Bad")
    put(storage, "products/3-A", Name="Fine")
    settings = SETTINGS.with_overrides({"Ai.Embeddings.ScriptTimeoutInMs": UNREACHED_TIME_LIMIT_MS})
    worker = make_worker(paths_task(embeddings_path_configurations=(),
                                    embeddings_transformation=EmbeddingsTransformation(script)), settings=settings)
    wait_for(idle(worker, storage), timeout=60)
    assert sections(storage, "products/1-A") and sections(storage, "products/3-A")
    assert not sections(storage, "products/2-A")
    [error] = worker.errors.entries()
    assert (error.kind, error.step, error.document_id) == ("Item", "Transformation", "products/2-A")
    assert "crashed the JavaScript engine" in error.message


@pytest.mark.parametrize("fault", ["server_error", "drop"])  # a 429 is no failure: see the rate-limit test
def test_connection_failure_enters_fallback_then_resumes(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer, fault: str) -> None:
    srv.add_fault(fault, times=None, routes=["tei-embed"], status=503, retry_after=0)  # type: ignore[arg-type]
    put(storage, "products/1-A", Name="Chai")
    worker = make_worker()
    wait_for(lambda: worker.state is TaskState.FALLBACK, what="fallback mode")
    assert worker.snapshot().to_wire()["FallbackUntil"] is not None
    wait_for(lambda: worker._policy.failures >= 2, what="a second attempt after the backoff")
    srv.clear_faults()
    wait_for(idle(worker, storage), what="the task to resume by itself")
    assert sections(storage, "products/1-A")
    assert worker._policy.failures == 0
    errors = worker.errors.entries()
    assert errors and all(e.kind == "Process" and e.step == "Model Inference" for e in errors)


def test_refused_text_is_an_item_error_for_its_document(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer) -> None:
    put(storage, "products/1-A", Name="Refused text")
    worker_settings = Settings({"Ai.Embeddings.MaxBatchSize": 1, "Ai.Embeddings.MaxFallbackTimeInSec": 0.3})
    srv.add_fault("server_error", times=2, routes=["tei-embed"], status=400)
    worker = make_worker(settings=worker_settings)
    wait_for(idle(worker, storage))
    [error] = worker.errors.entries()
    assert (error.kind, error.step, error.document_id) == ("Item", "Model Inference", "products/1-A")
    put(storage, "products/2-A", Name="Fine")
    worker.wake()
    wait_for(idle(worker, storage))
    assert sections(storage, "products/2-A")


@pytest.mark.parametrize(("kind", "value"), [(VectorEmbeddingType.SINGLE, "nan"), (VectorEmbeddingType.INT8, "inf")])
def test_non_finite_vector_is_an_item_error_and_the_batch_commits(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer, kind: VectorEmbeddingType,
        value: str) -> None:
    srv.add_fault("non_finite", times=None, routes=["tei-embed"], text="Broken", value=value)
    put(storage, "products/1-A", Name="Chai")
    put(storage, "products/2-A", Name="Broken gadget")
    put(storage, "products/3-A", Name="Chang")
    worker = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY, quantization=kind))
    wait_for(idle(worker, storage))
    assert sections(storage, "products/1-A") and sections(storage, "products/3-A")
    assert not sections(storage, "products/2-A")
    [error] = worker.errors.entries()
    assert (error.kind, error.step, error.document_id) == ("Item", "Model Inference", "products/2-A")
    assert "NaN or infinity" in error.message
    snapshot = worker.snapshot().to_wire()
    assert (snapshot["FailedItems"], snapshot["FailedBatches"], snapshot["DocumentsChanged"]) == (1, 0, 3)
    assert worker._policy.failures == 0 and worker.state is TaskState.IDLE
    cached_vector(storage, "Chai", kind)
    digest = text_hash("Broken gadget")
    assert storage.attachment_content(cache_document_id("local-tei", digest, kind), digest) is None
    # Once the provider answers properly, a change to the document embeds it.
    srv.clear_faults()
    put(storage, "products/2-A", Name="Broken gadget")
    worker.wake()
    wait_for(lambda: bool(sections(storage, "products/2-A")), what="the document to be embedded")


def test_stop_drains_and_restart_resumes_without_repeating(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer) -> None:
    for n in range(1, 9):
        put(storage, f"products/{n}-A", Name=f"Product number {n}")
    worker = make_worker()
    wait_for(idle(worker, storage))
    assert worker.stop()
    calls = tei_requests(srv)
    for n in range(9, 11):
        put(storage, f"products/{n}-A", Name=f"Product number {n}")
    again = make_worker()
    assert again.position == worker.position
    wait_for(idle(again, storage))
    assert tei_requests(srv) == calls + 1
    assert again.snapshot().to_wire()["DocumentsChanged"] == 10


@pytest.mark.parametrize("limit", [1, 3])
def test_provider_calls_in_flight_never_exceed_the_connection_strings_limit(
        storage: SqliteStorage, srv: EmbeddingServer, monkeypatch: pytest.MonkeyPatch, limit: int,
        provider_loop: ProviderLoop) -> None:
    provider = CountingProvider()
    monkeypatch.setattr("rookdb.ai.embeddings.worker.create_provider", lambda settings, options: provider)
    with storage.write() as tx:
        for n in range(200):
            tx.put(f"products/{n}-A", "Products", {"Name": f"Product {n}", "@metadata": {"@collection": "Products"}})
    settings = Settings({"Ai.Embeddings.MaxBatchSize": 200})
    worker = EmbeddingsWorker(storage, paths_task(embeddings_path_configurations=NAME_ONLY),
                              lambda name: tei_connection_string(srv, max_concurrent=limit), settings,
                              loop=provider_loop)
    worker.start()
    try:
        wait_for(idle(worker, storage))
    finally:
        assert worker.stop()
    assert provider.most == limit
    expected_calls = len(provider_batches([str(n) for n in range(200)], limit, 200))
    assert worker.snapshot().to_wire()["ProviderCalls"] == provider.calls == expected_calls


class StuckProvider(CountingProvider):
    """A provider that does not answer within any reasonable time."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        await asyncio.sleep(60)
        return []


def test_stop_cancels_a_batch_that_does_not_drain(
        storage: SqliteStorage, srv: EmbeddingServer, monkeypatch: pytest.MonkeyPatch,
        provider_loop: ProviderLoop, caplog: pytest.LogCaptureFixture) -> None:
    provider = StuckProvider()
    monkeypatch.setattr("rookdb.ai.embeddings.worker.create_provider", lambda settings, options: provider)
    put(storage, "products/1-A", Name="Chai")
    worker = EmbeddingsWorker(storage, paths_task(), lambda name: tei_connection_string(srv), SETTINGS,
                              loop=provider_loop, drain_timeout=0.2)
    worker.start()
    wait_for(lambda: provider.calls == 1, what="the provider call")
    with caplog.at_level(logging.WARNING, logger="rookdb.background"):
        assert worker.stop()  # True: the minute-long call was cancelled, not waited for
    assert "did not drain within 0.2s; cancelling its work" in caplog.text
    assert worker.position == 0 and storage.get_state(state_key(1, "position")) is None
    assert storage.get("embeddings/products/1-A") is None


def test_documents_are_embedded_after_the_models_document_prompt(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer) -> None:
    put(storage, "products/1-A", Name="Chai")
    e5 = tei_connection_string(srv, model="intfloat/e5-small-v2")
    worker = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY), e5)
    wait_for(idle(worker, storage), what="the task to embed")
    assert tei_inputs(srv) == ["passage: Chai"]
    expected = get_embedded_model().embed(["passage: Chai"])[0]
    assert np.allclose(np.frombuffer(cached_vector(storage, "passage: Chai"), dtype="<f4"), expected, atol=1e-5)
    assert storage.get(cache_document_id("local-tei", text_hash("Chai"), VectorEmbeddingType.SINGLE)) is None


def test_an_empty_document_prompt_sends_bare_text(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer) -> None:
    put(storage, "products/1-A", Name="Chai")
    bare = tei_connection_string(srv, model="intfloat/e5-small-v2", document_prompt="")
    worker = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY), bare)
    wait_for(idle(worker, storage), what="the task to embed")
    assert tei_inputs(srv) == ["Chai"]


def test_rate_limits_slow_the_task_down_and_fail_no_batch(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer) -> None:
    for n in range(1, 13):
        put(storage, f"products/{n}-A", Name=f"Product {n}")
    srv.add_fault("rate_limit", times=5, routes=["tei-embed"], retry_after=0.1)
    worker = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY))
    wait_for(idle(worker, storage), what="the task to embed through the 429s")
    assert all(sections(storage, f"products/{n}-A") for n in range(1, 13))
    assert worker.stats.counters.failed_batches == 0 and worker.errors.entries() == []
    assert worker.throttle is not None and worker.throttle.snapshot()["RateLimited"] == 5
    assert worker.snapshot().to_wire()["Throttle"]["WaitedSeconds"] > 0


def test_tasks_sharing_a_connection_string_share_its_declared_limits(
        storage: SqliteStorage, make_worker: WorkerFactory, srv: EmbeddingServer) -> None:
    limited = tei_connection_string(srv, requests_per_minute=6000, tokens_per_minute=100_000)
    put(storage, "products/1-A", Name="Chai", Description="Tea")
    throttles = TaskThrottles(SETTINGS)
    names = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY), limited, throttles=throttles)
    descriptions = make_worker(paths_task(name="Descriptions", identifier="descriptions", task_id=2,
                                          embeddings_path_configurations=(
                                              EmbeddingPathConfiguration("Description", ChunkingOptions()),)),
                               limited, throttles=throttles)
    wait_for(idle(names, storage), what="the first task")
    wait_for(idle(descriptions, storage), what="the second task")
    assert names.throttle is not None and names.throttle is descriptions.throttle
    other = throttles.get(tei_connection_string(srv, requests_per_minute=60))
    assert other is not names.throttle  # new limits, new throttle
    snapshot = names.snapshot().to_wire()["Throttle"]
    assert (snapshot["RequestsPerMinute"], snapshot["TokensPerMinute"]) == (6000, 100_000)


def test_usage_is_counted_per_day_with_the_tokens_the_cache_saved(
        storage: SqliteStorage, make_worker: WorkerFactory, clock: Clock) -> None:
    put(storage, "products/1-A", Name="Chai")
    put(storage, "products/2-A", Name="Chang")
    worker = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY))
    wait_for(idle(worker, storage), what="the task")
    put(storage, "products/3-A", Name="Chai")  # served by the cache
    wait_for(idle(worker, storage), what="the task")
    model = get_embedded_model()
    sent = model.count_tokens("Chai") + model.count_tokens("Chang")
    counters = worker.stats.counters
    assert (counters.tokens, counters.estimated_tokens, counters.tokens_saved) == (sent, 0, model.count_tokens("Chai"))
    stored = storage.get_state(usage_key("local-tei", "2026-01-01", "task-1"))
    assert UsageCounts.from_state(stored) == worker.usage.today()
    assert worker.usage.today().tokens == sent and worker.usage.today().cache_hits == 1


def test_a_daily_token_budget_cuts_batches_then_pauses_until_the_next_day(
        storage: SqliteStorage, make_worker: WorkerFactory, clock: Clock, srv: EmbeddingServer) -> None:
    for n in range(1, 7):
        put(storage, f"products/{n}-A", Name=f"Product {n}")
    per_document = get_embedded_model().count_tokens("Product 1")
    worker = make_worker(paths_task(embeddings_path_configurations=NAME_ONLY, daily_token_budget=2 * per_document + 1))
    wait_for(lambda: worker.snapshot().to_wire()["State"] == "BudgetExhausted", what="the budget to run out")
    assert [bool(sections(storage, f"products/{n}-A")) for n in range(1, 7)] == [True, True] + [False] * 4
    snapshot = worker.snapshot().to_wire()
    assert snapshot["BudgetRemainingToday"] == 1 and snapshot["BudgetResumesAt"] == "2026-01-02T00:00:00.0000000Z"
    assert worker.usage.today().tokens == 2 * per_document
    clock.now = START + timedelta(days=1)
    worker.wake()
    wait_for(lambda: worker.snapshot().to_wire()["State"] == "BudgetExhausted" and sections(storage, "products/4-A"),
             what="the next day's budget to be spent")
    assert not sections(storage, "products/5-A")
