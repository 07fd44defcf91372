"""A batch's plan: which documents a vector that cannot be stored fails, and what it leaves untouched."""

from __future__ import annotations

import math

import pytest

from rookdb.ai.embeddings.batch import BatchPlan, DocumentPlan
from rookdb.ai.embeddings.failure_policy import Step
from rookdb.ai.quantization import VectorEmbeddingType, encode


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
