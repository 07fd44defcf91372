"""A batch's plan: which documents a vector that cannot be stored fails, and what it leaves untouched;
a batch written at once stores what writing it entry by entry and document by document stores, and
with its sections prepared before the transaction what it stores without (written to since or not);
written in parts with pauses between them, it is still one transaction storing the same."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from rookdb.ai.embeddings.batch import (
    PREPARE_PAUSE_DOCUMENTS,
    WRITE_PAUSE_WRITES,
    BatchPlan,
    DocumentPlan,
    PreparedSections,
    prepare_sections,
    write_batch,
)
from rookdb.ai.embeddings.cache import CachedVector, EmbeddingsCache
from rookdb.ai.embeddings.failure_policy import Step
from rookdb.ai.embeddings.generations import store_sections
from rookdb.ai.embeddings.layout import cache_document_id, embeddings_document_id
from rookdb.ai.quantization import VectorEmbeddingType, encode, text_hash, vector_hash
from rookdb.storage.sqlite import SqliteStorage
from rookdb.wire import parse_timestamp
from tests.support.storage import snapshot


def plan() -> BatchPlan:
    return BatchPlan(last_etag=3, documents=[
        DocumentPlan("products/1", fields={"Name": ["shared", "one"]}),
        DocumentPlan("products/2", fields={"Name": ["two"], "Notes": ["shared"]}),
        DocumentPlan("products/3", fields={"Name": ["three"]}),
    ], texts={"shared": "Chai", "one": "tea", "two": "coffee", "three": "water"})


STORED_KINDS = [VectorEmbeddingType.SINGLE, VectorEmbeddingType.INT8, VectorEmbeddingType.BINARY]
UNSTORABLE = [(kind, bad) for kind in STORED_KINDS for bad in (math.nan, math.inf, -math.inf)] + [
    (VectorEmbeddingType.SINGLE, 1e39), (VectorEmbeddingType.INT8, 1e39)]  # past float32; one bit holds it


@pytest.mark.parametrize(("kind", "bad"), UNSTORABLE)
def test_unstorable_vector_fails_every_document_holding_its_chunk(kind: VectorEmbeddingType, bad: float) -> None:
    batch = plan()
    batch.store_vector("three", [0.5, -0.5], kind)
    batch.store_vector("shared", [0.5, bad], kind)
    assert batch.vectors == {"three": encode([0.5, -0.5], kind)}
    failed = {d.source_id: d.error for d in batch.documents if d.error is not None}
    assert set(failed) == {"products/1", "products/2"}
    step, message = failed["products/1"]
    assert step is Step.MODEL_INFERENCE and message.startswith("The provider returned an unusable vector")
    assert batch.documents[2].error is None and batch.documents[2].fields == {"Name": ["three"]}
    assert batch.chunk_count == 1


def test_fail_chunk_leaves_documents_without_it_alone() -> None:
    batch = plan()
    batch.fail_chunk("two", Step.MODEL_INFERENCE, "refused")
    assert [d.error for d in batch.documents] == [None, (Step.MODEL_INFERENCE, "refused"), None]
    assert batch.documents[1].fields == {}


NOW = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD = timedelta(days=90)
SINGLE = VectorEmbeddingType.SINGLE
T1, T2, T3, T4 = (text_hash(text) for text in ("Chai", "Chang", "Tofu", "Ikura"))


def _write(storage: SqliteStorage, plan: BatchPlan, prepared: PreparedSections | None = None,
           pause: Callable[[], None] | None = None) -> None:
    with storage.write() as tx:
        write_batch(tx, EmbeddingsCache(storage, clock=lambda: NOW), plan, task_identifier="names",
                    source_collection="Products", connection_string_identifier="cs", quantization=SINGLE,
                    cache_period=PERIOD, prepared=prepared, pause=pause)


def _prepare(storage: SqliteStorage, plan: BatchPlan, pause: Callable[[], None] | None = None) -> PreparedSections:
    return prepare_sections(storage, plan, task_identifier="names", source_collection="Products",
                            quantization=SINGLE, pause=pause)


def _per_document(storage: SqliteStorage, plan: BatchPlan) -> None:
    """The batch written entry by entry and document by document, through the single-document calls."""
    cache = EmbeddingsCache(storage, clock=lambda: NOW)
    with storage.write() as tx:
        stored = dict(plan.vectors)
        for digest in plan.misses:
            stored[digest] = cache.put_in(tx, "cs", digest, SINGLE, stored[digest], PERIOD)
        for digest in plan.hits:
            cache.extend_in(tx, "cs", digest, SINGLE, plan.hits[digest], PERIOD)
        for document in plan.documents:
            if document.error is not None:
                continue
            doc_id = embeddings_document_id(document.source_id)
            existing = tx.get(doc_id)
            before = orjson.loads(existing.body) if existing is not None else {}
            body = dict(before)  # the section keeps its place among the keys
            if document.fields:
                body["names"] = {"@quantization": "Single", **{
                    name: [vector_hash(stored[digest]) for digest in hashes]
                    for name, hashes in document.fields.items()}}
            else:
                body.pop("names", None)
            store_sections(tx, doc_id, "Products", existing, before, body,
                           {vector_hash(stored[digest]): stored[digest]
                            for hashes in document.fields.values() for digest in hashes})


def _seeded(path: Path) -> SqliteStorage:
    storage = SqliteStorage(path)
    # T1 cached with 10 days left (due for its slide); T3 cached by another writer since the lookup.
    with storage.write() as tx:
        EmbeddingsCache(storage, clock=lambda: NOW - timedelta(days=80)).put_in(tx, "cs", T1, SINGLE, b"v1", PERIOD)
        EmbeddingsCache(storage, clock=lambda: NOW).put_in(tx, "cs", T3, SINGLE, b"committed v3", PERIOD)
    _write(storage, BatchPlan(1, [DocumentPlan("products/2", fields={"Name": [T4]}),
                                  DocumentPlan("products/3", fields={"Name": [T4]})],
                              {T4: "Ikura"}, vectors={T4: b"v4"}))
    return storage


def batch() -> BatchPlan:
    return BatchPlan(9, [
        DocumentPlan("products/1", fields={"Name": [T1, T2]}),
        DocumentPlan("products/2", fields={"Name": [T2, T3]}),  # its T4 vector goes
        DocumentPlan("products/3", deleted=True),  # its embeddings document goes
        DocumentPlan("products/5", error=(Step.EXTRACTION, "not JSON")),
    ], {T1: "Chai", T2: "Chang", T3: "Tofu"}, hits={T1: CachedVector(b"v1", NOW + timedelta(days=10))},
        vectors={T1: b"v1", T2: b"v2", T3: b"provider v3"})


def test_a_batch_stores_what_the_per_document_path_stores(tmp_path: Path) -> None:
    batched, reference = _seeded(tmp_path / "batched.sqlite3"), _seeded(tmp_path / "reference.sqlite3")
    try:
        _write(batched, batch())
        _per_document(reference, batch())
        assert snapshot(batched) == snapshot(reference)
        assert batched.integrity_check() == []
        assert batched.get(embeddings_document_id("products/3")) is None
        section = orjson.loads(batched.get(embeddings_document_id("products/2")).body)["names"]  # type: ignore[union-attr]
        assert section["Name"] == [vector_hash(b"v2"), vector_hash(b"committed v3")]  # the committed entry won
        expires = orjson.loads(batched.get(cache_document_id("cs", T1, SINGLE)).body)["@metadata"]["@expires"]  # type: ignore[union-attr]
        assert parse_timestamp(expires) == NOW + PERIOD  # slid
    finally:
        batched.close()
        reference.close()


def _another_task_writes(storage: SqliteStorage, source_id: str) -> None:
    """Another task's section added to ``source_id``'s embeddings document (written between preparing
    and committing)."""
    doc_id = embeddings_document_id(source_id)
    with storage.write() as tx:
        existing = tx.get(doc_id)
        before = orjson.loads(existing.body) if existing is not None else {}
        store_sections(tx, doc_id, "Products", existing, before,
                       {**before, "other": {"@quantization": "Single", "Name": [vector_hash(b"o")]}},
                       {vector_hash(b"o"): b"o"})


@pytest.mark.parametrize("written_between", [False, True])
def test_sections_prepared_before_the_transaction_store_what_the_transaction_alone_stores(
        tmp_path: Path, written_between: bool) -> None:
    alone, prepared = _seeded(tmp_path / "alone.sqlite3"), _seeded(tmp_path / "prepared.sqlite3")
    try:
        if written_between:
            _another_task_writes(alone, "products/1")
        _write(alone, batch())
        plan = batch()
        sections = _prepare(prepared, plan)
        # T3's cache entry was committed by another writer with other bytes: its document is not prepared
        # with the bytes that win, so the transaction works it out again, as it does one written since.
        assert set(sections.writes) == {embeddings_document_id(f"products/{n}") for n in (1, 2, 3)}
        if written_between:
            _another_task_writes(prepared, "products/1")
        _write(prepared, plan, sections)
        assert snapshot(prepared) == snapshot(alone)
        assert prepared.integrity_check() == []
    finally:
        alone.close()
        prepared.close()


def test_preparing_pauses_between_documents_and_leaves_unknown_vectors_to_the_transaction(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "db.sqlite3")
    try:
        count = 2 * PREPARE_PAUSE_DOCUMENTS + 1
        plan = BatchPlan(count, [DocumentPlan(f"products/{n}", fields={"Name": [T1]}) for n in range(count)]
                         + [DocumentPlan("products/late", fields={"Name": [T2]})],
                         {T1: "Chai", T2: "Chang"}, vectors={T1: b"v1"})
        pauses: list[int] = []
        sections = _prepare(storage, plan, pause=lambda: pauses.append(1))
        assert len(pauses) == 2
        assert embeddings_document_id("products/late") not in sections.writes
        assert len(sections.writes) == count
    finally:
        storage.close()


def test_a_batch_written_in_parts_pauses_between_them_inside_one_transaction(tmp_path: Path) -> None:
    count = WRITE_PAUSE_WRITES + 8  # a cache entry and an embeddings document each: 2 pauses
    texts = {text_hash(f"product {n}"): f"product {n}" for n in range(count)}

    def plan() -> BatchPlan:
        return BatchPlan(count, [DocumentPlan(f"products/{n}", etag=n + 1, fields={"Name": [digest]})
                                 for n, digest in enumerate(texts)],
                         dict(texts), vectors={digest: encode([n, 1.0], SINGLE) for n, digest in enumerate(texts)})

    whole, parts = _seeded(tmp_path / "whole.sqlite3"), _seeded(tmp_path / "parts.sqlite3")
    try:
        _write(whole, plan())
        seen: list[int] = []

        def pause() -> None:  # what another reader sees meanwhile: nothing of the batch yet
            seen.append(sum(parts.get(embeddings_document_id(f"products/{n}")) is not None for n in range(count)
                            if n not in (2, 3)))  # those two were seeded

        _write(parts, plan(), pause=pause)
        assert seen == [0, 0]
        assert snapshot(parts) == snapshot(whole)
        assert parts.integrity_check() == []
    finally:
        whole.close()
        parts.close()
