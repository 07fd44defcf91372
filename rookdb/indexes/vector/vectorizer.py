"""Documents → vectors for a field: decoding stored vectors, embedding text, reading task embeddings.

The query layer does not embed anything itself: the documents layer hands in the embedded model
(for ``embedding.text(Field)``) and a reader of a task's stored embeddings (for
``embedding.text(Field, ai.task('id'))``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rookdb.errors import BadRequestError, RookError
from rookdb.indexes.vector.field_index import Vectors
from rookdb.indexes.vector.fields import SourceType, VectorFieldSpec
from rookdb.indexes.vector.values import document_texts, document_vectors

__all__ = ["DocumentVectorizer", "GenerationVectorReader", "SectionFingerprint", "TaskVectorReader", "TextEmbedder"]

TextEmbedder = Callable[[Sequence[str]], npt.NDArray[np.float32]]
"""Embeds texts into float32 rows, one per text (the embedded model)."""

TaskVectorReader = Callable[[str, str, str, str], list[npt.NDArray[np.float32]]]
"""(source collection, task identifier, source document id, field) → the task's vectors of that field
(of the generation serving queries)."""

GenerationVectorReader = Callable[[str, str, int, str, str], list[npt.NDArray[np.float32]]]
"""(source collection, task identifier, generation, source document id, field) → that generation's vectors."""

SectionFingerprint = Callable[[bytes, str, int, str], int | None]
"""(embeddings document body, task identifier, generation, field) → a fingerprint of that generation's
vectors of the field in it (None: none)."""


class DocumentVectorizer:
    """The ``Vectorizer`` of auto-indexes: text is embedded in one model call per batch of documents."""

    def __init__(self, embed_texts: TextEmbedder, task_vectors: GenerationVectorReader,
                 fingerprint: SectionFingerprint | None = None) -> None:
        self._embed_texts = embed_texts
        self._task_vectors = task_vectors
        self._fingerprint = fingerprint

    def from_documents(self, spec: VectorFieldSpec, documents: Sequence[dict[str, Any]]) -> list[Vectors]:
        if spec.source is not SourceType.TEXT:
            return [_decoded(document, spec) for document in documents]
        texts = [document_texts(document, spec.path) for document in documents]
        flat = [text for group in texts for text in group]
        # A model failure fails the whole batch, which is retried: it is not the documents' fault.
        embedded = self._embed_texts(flat) if flat else np.empty((0, 0), dtype=np.float32)
        results: list[Vectors] = []
        start = 0
        for group in texts:
            results.append([embedded[row] for row in range(start, start + len(group))])
            start += len(group)
        return results

    def from_task(self, spec: VectorFieldSpec, source_ids: Sequence[str], generation: int = 0) -> list[Vectors]:
        assert spec.task is not None
        field = ".".join(spec.path)
        return [list(self._task_vectors(spec.collection, spec.task, generation, source_id, field))
                for source_id in source_ids]

    def task_fingerprint(self, spec: VectorFieldSpec, embeddings_body: bytes, generation: int = 0) -> int | None:
        if self._fingerprint is None or spec.task is None:
            return None
        return self._fingerprint(embeddings_body, spec.task, generation, ".".join(spec.path))


def _decoded(document: dict[str, Any], spec: VectorFieldSpec) -> list[npt.NDArray[Any]] | RookError:
    try:
        return document_vectors(document, spec.path, spec.source)
    except BadRequestError as error:
        return error
