"""Cache entries: written once per text, the committed vector wins, sliding at half the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from rookdb.ai.embeddings.cache import EmbeddingsCache, needs_extension
from rookdb.ai.embeddings.layout import cache_document_id
from rookdb.ai.quantization import VectorEmbeddingType
from rookdb.storage.sqlite import SqliteStorage
from rookdb.wire import parse_timestamp

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD = timedelta(days=90)
SINGLE = VectorEmbeddingType.SINGLE


def test_needs_extension_below_half_the_period() -> None:
    assert not needs_extension(NOW + timedelta(days=46), PERIOD, NOW)
    assert needs_extension(NOW + timedelta(days=44), PERIOD, NOW)
    assert needs_extension(None, PERIOD, NOW)


def test_put_lookup_and_extend(storage: SqliteStorage) -> None:
    cache = EmbeddingsCache(storage, clock=lambda: NOW)
    with storage.write() as tx:
        assert cache.put_in(tx, "cs", "h1", SINGLE, b"\x01\x02\x03\x04", PERIOD) == b"\x01\x02\x03\x04"
    found = cache.lookup("cs", ["h1", "h2"], SINGLE)
    assert list(found) == ["h1"] and found["h1"].data == b"\x01\x02\x03\x04"
    assert found["h1"].expires == NOW + PERIOD
    assert cache.lookup("cs", ["h1"], VectorEmbeddingType.INT8) == {}  # another id per quantization
    later = EmbeddingsCache(storage, clock=lambda: NOW + timedelta(days=60))
    with storage.write() as tx:
        assert later.extend_in(tx, "cs", "h1", SINGLE, found["h1"], PERIOD)
    document = storage.get(cache_document_id("cs", "h1", SINGLE))
    assert document is not None
    assert parse_timestamp(orjson.loads(document.body)["@metadata"]["@expires"]) == NOW + timedelta(days=150)
    assert storage.attachments(document.id)[0].name == "h1"


def test_a_committed_entry_wins_over_a_concurrent_one(storage: SqliteStorage) -> None:
    cache = EmbeddingsCache(storage, clock=lambda: NOW)
    with storage.write() as tx:
        cache.put_in(tx, "cs", "h1", SINGLE, b"first", PERIOD)
    with storage.write() as tx:
        assert cache.put_in(tx, "cs", "h1", SINGLE, b"second", PERIOD) == b"first"
    assert cache.lookup("cs", ["h1"], SINGLE)["h1"].data == b"first"
