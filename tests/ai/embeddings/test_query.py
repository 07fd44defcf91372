"""Query-text embeddings: cached under the connection string, sliding expiration, no repeated calls."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from rookdb.ai.chunking import ChunkingMethod, ChunkingOptions
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.embeddings.layout import cache_document_id
from rookdb.ai.embeddings.query import QueryEmbedder
from rookdb.ai.embeddings.usage import UsageCounts, usage_key
from rookdb.ai.quantization import VectorEmbeddingType, text_hash
from rookdb.ai.task_config import EmbeddingPathConfiguration, EmbeddingsGenerationConfiguration
from rookdb.background import ProviderLoop
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage
from rookdb.testing.embedding_server import EmbeddingServer
from rookdb.wire import parse_timestamp
from tests.support.embeddings import tei_connection_string, tei_inputs, tei_requests
from tests.support.providers import CountingProvider
from tests.support.waiting import wait_for

START = datetime(2026, 1, 1, tzinfo=UTC)


def _task(**changes: object) -> EmbeddingsGenerationConfiguration:
    values: dict[str, object] = {
        "name": "Products", "identifier": "products-task", "connection_string_name": "local-tei",
        "collection": "Products",
        "embeddings_path_configurations": (EmbeddingPathConfiguration("Name", ChunkingOptions()),),
        "quantization": VectorEmbeddingType.INT8,
    }
    values.update(changes)
    return EmbeddingsGenerationConfiguration(**values)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def embedder(storage: SqliteStorage, clock: FakeClock, provider_loop: ProviderLoop) -> Iterator[QueryEmbedder]:
    created = QueryEmbedder(storage, Settings(), provider_loop)
    created.clock = clock
    yield created
    created.close()


def test_query_is_embedded_once_then_served_from_the_cache(
        embedder: QueryEmbedder, storage: SqliteStorage, srv: EmbeddingServer) -> None:
    connection = tei_connection_string(srv)
    first = embedder.embed(connection, _task(), "italian food")
    assert len(first) == 1 and first[0].dtype == np.float32 and first[0].shape == (384,)
    expected = get_embedded_model().embed(["italian food"])[0]
    assert np.allclose(first[0], expected, atol=1e-5)
    calls = tei_requests(srv)
    assert calls == 1
    again = embedder.embed(connection, _task(), "  Italian FOOD ")  # same text once trimmed and upper-cased
    assert tei_requests(srv) == calls
    assert np.array_equal(again[0], first[0])
    cached = storage.get(cache_document_id("local-tei", text_hash("italian food"), VectorEmbeddingType.SINGLE))
    assert cached is not None and cached.collection == "@embeddings-cache"
    assert parse_timestamp(orjson.loads(cached.body)["@metadata"]["@expires"]) == START + timedelta(days=14)


def test_query_chunks_with_the_querying_options(embedder: QueryEmbedder, srv: EmbeddingServer) -> None:
    options = ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, max_tokens_per_chunk=4)
    vectors = embedder.embed(tei_connection_string(srv), _task(chunking_options_for_querying=options),
                             "red wine from tuscany and cheese from parma")
    assert len(vectors) > 1
    assert embedder.embed(tei_connection_string(srv), _task(), "") == []


def test_query_hit_extends_only_past_half_the_period(
        embedder: QueryEmbedder, storage: SqliteStorage, clock: FakeClock, srv: EmbeddingServer) -> None:
    connection, task = tei_connection_string(srv), _task()
    embedder.embed(connection, task, "cheese")
    doc_id = cache_document_id("local-tei", text_hash("cheese"), VectorEmbeddingType.SINGLE)
    etag = storage.get(doc_id).etag  # type: ignore[union-attr]
    clock.now = START + timedelta(days=6)
    embedder.embed(connection, task, "cheese")
    assert storage.get(doc_id).etag == etag  # type: ignore[union-attr]  # 8 of 14 days left: no write
    clock.now = START + timedelta(days=8)
    embedder.embed(connection, task, "cheese")
    document = storage.get(doc_id)
    assert document is not None and document.etag > etag
    assert parse_timestamp(orjson.loads(document.body)["@metadata"]["@expires"]) == clock.now + timedelta(days=14)
    assert tei_requests(srv) == 1


def test_cache_is_per_connection_string(embedder: QueryEmbedder, srv: EmbeddingServer) -> None:
    embedder.embed(tei_connection_string(srv, "first"), _task(), "bread")
    embedder.embed(tei_connection_string(srv, "second"), _task(), "bread")
    assert tei_requests(srv) == 2


def test_concurrent_queries_respect_the_connection_strings_limit(
        storage: SqliteStorage, srv: EmbeddingServer, monkeypatch: pytest.MonkeyPatch,
        provider_loop: ProviderLoop) -> None:
    provider = CountingProvider()
    monkeypatch.setattr("rookdb.ai.embeddings.query.create_provider", lambda settings, options: provider)
    embedder = QueryEmbedder(storage, Settings(), provider_loop)
    connection = tei_connection_string(srv, max_concurrent=2)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda n: embedder.embed(connection, _task(), f"query number {n}"), range(6)))
    finally:
        embedder.close()
    assert provider.most == 2 and provider.calls == 6
    assert all(len(vectors) == 1 and vectors[0].dtype == np.float32 for vectors in results)


def test_queries_are_embedded_after_the_query_prompt_and_cached_under_it(
        embedder: QueryEmbedder, storage: SqliteStorage, srv: EmbeddingServer) -> None:
    e5 = tei_connection_string(srv, model="intfloat/e5-small-v2")
    vector = embedder.embed(e5, _task(), "italian food")[0]
    assert tei_inputs(srv) == ["query: italian food"]
    assert np.allclose(vector, get_embedded_model().embed(["query: italian food"])[0], atol=1e-5)
    kind = VectorEmbeddingType.SINGLE
    assert storage.get(cache_document_id("local-tei", text_hash("query: italian food"), kind)) is not None
    changed = tei_connection_string(srv, model="intfloat/e5-small-v2", query_prompt="Find: ")
    embedder.embed(changed, _task(), "italian food")  # another prompt is another cache entry
    assert tei_inputs(srv) == ["query: italian food", "Find: italian food"]
    embedder.embed(e5, _task(), "italian food")
    assert tei_requests(srv) == 2


def test_search_terms_count_their_usage_under_the_connection_string(
        embedder: QueryEmbedder, storage: SqliteStorage, srv: EmbeddingServer) -> None:
    connection = tei_connection_string(srv)
    embedder.embed(connection, _task(), "italian food")  # a miss: written with its cache entry
    model = get_embedded_model()
    key = usage_key("local-tei", "2026-01-01", "queries")
    assert UsageCounts.from_state(storage.get_state(key)) == UsageCounts(
        provider_calls=1, tokens=model.count_tokens("italian food"))
    embedder.embed(connection, _task(), "italian food")  # a hit: no write now...
    embedder.close()  # ...but stored when the embedder closes
    stored = UsageCounts.from_state(storage.get_state(key))
    assert (stored.cache_hits, stored.tokens_saved) == (1, model.count_tokens("italian food"))


def test_several_texts_are_embedded_together_as_each_would_be_alone(
        embedder: QueryEmbedder, srv: EmbeddingServer) -> None:
    connection = tei_connection_string(srv)
    alone = embedder.embed(connection, _task(), "italian food")
    together = embedder.embed_many(connection, _task(), ["french wine", "italian food", "french wine", "  "])
    assert tei_requests(srv) == 2 and tei_inputs(srv) == ["italian food", "french wine"]  # "french wine" once
    assert [len(vectors) for vectors in together] == [1, 1, 1, 0]
    assert np.array_equal(together[1][0], alone[0]) and np.array_equal(together[0][0], together[2][0])
    assert np.array_equal(embedder.embed(connection, _task(), "french wine")[0], together[0][0])
    assert tei_requests(srv) == 2


def test_a_cached_term_never_waits_for_the_write_lock_to_store_usage(
        embedder: QueryEmbedder, storage: SqliteStorage, srv: EmbeddingServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    connection = tei_connection_string(srv)
    embedder.embed(connection, _task(), "italian food")
    monkeypatch.setattr("rookdb.ai.embeddings.query.DEFAULT_USAGE_FLUSH_SECONDS", 0.0)  # usage due at once
    key = usage_key("local-tei", "2026-01-01", "queries")
    with ThreadPoolExecutor(1) as pool, storage.write():  # another writer holds the lock meanwhile
        served = pool.submit(embedder.embed, connection, _task(), "italian food").result(timeout=10)
        assert served and UsageCounts.from_state(storage.get_state(key)).cache_hits == 0
    wait_for(lambda: UsageCounts.from_state(storage.get_state(key)).cache_hits == 1, what="the usage write")
