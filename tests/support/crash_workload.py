"""The embeddings workload the crash tests run (products with mostly unique text and a shared line,
embedded by one task) and its check: every document has exactly the embeddings it should.

The expected embeddings are recomputed from the documents: chunks from the task's chunking options,
their cache entries by text hash, and each stored vector hash from the cached vector bytes. A sample
of cached vectors is compared with the embedded model run in this process.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import orjson

from rookdb.ai import chunking
from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.embeddings.layout import cache_document_id, sections_of
from rookdb.ai.quantization import VectorEmbeddingType, text_hash, vector_hash
from rookdb.storage.base import DocumentStorage

TASK = "crash-task"
CONNECTION = "crash-embedded"
DESCRIPTION_OPTIONS = chunking.ChunkingOptions(chunking.ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, 24)
NAME_OPTIONS = chunking.ChunkingOptions()
WORDS = ("tea", "spicy", "black", "leaves", "lager", "northern", "hills", "oak", "barrels", "winters",
         "family", "business", "cheese", "bread", "glass", "bottles", "flavour", "finish", "chilled",
         "summer", "afternoon", "sweet", "bitter", "smooth", "roasted", "malt", "citrus", "honey", "vanilla",
         "pepper", "smoky", "fresh", "aged", "dry", "crisp", "golden", "amber", "dark", "rich", "light",
         "bold")


class Product:
    def __init__(self, Name: str, Description: str, Category: str) -> None:
        self.Name = Name
        self.Description = Description
        self.Category = Category


def product(n: int, rng: random.Random) -> Product:
    # Mostly unique text (real provider work), with a shared closing line (cache hits).
    paragraphs = [" ".join(rng.choices(WORDS, k=rng.randint(5, 9))) + "." for _ in range(rng.randint(1, 2))]
    paragraphs.append("Shipped in recyclable glass bottles.")
    return Product(f"Product {n} {rng.choice(['Tea', 'Beer', 'Wine', 'Cheese'])}", "\n\n".join(paragraphs),
                   f"categories/{n % 8 + 1}-A")


def expected_chunks(body: dict[str, Any]) -> dict[str, list[str]]:
    fields = {}
    for field, options in (("Name", NAME_OPTIONS), ("Description", DESCRIPTION_OPTIONS)):
        value = body.get(field)
        if isinstance(value, str) and value.strip():
            fields[field] = chunking.chunk(value, options)
    return fields


def check_embeddings(storage: DocumentStorage) -> None:
    sources = {document.id: orjson.loads(document.body) for document in storage.iter_collection("Products")}
    embeddings = {document.id: document for document in storage.iter_collection("@embeddings/Products")}
    assert set(embeddings) == {f"embeddings/{source_id}" for source_id in sources}, "missing or orphan documents"
    sampled: list[tuple[str, bytes]] = []
    for source_id, body in sources.items():
        document = embeddings[f"embeddings/{source_id}"]
        sections = sections_of(orjson.loads(document.body))
        assert list(sections) == [TASK], f"{document.id} has sections {list(sections)}"
        section = sections[TASK]
        expected = expected_chunks(body)
        assert {key for key in section if key != "@quantization"} == set(expected), document.id
        referenced: set[str] = set()
        for field, chunks in expected.items():
            hashes = []
            for piece in chunks:
                digest = text_hash(piece)
                cached = storage.attachment_content(cache_document_id(CONNECTION, digest, VectorEmbeddingType.SINGLE),
                                                    digest)
                assert cached is not None, f"no cache entry for a chunk of {source_id}"
                hashes.append(vector_hash(cached[1]))
                if len(sampled) < 24 and piece not in (text for text, _ in sampled):
                    sampled.append((piece, cached[1]))
            assert section[field] == hashes, f"{source_id}.{field}"
            referenced |= set(hashes)
        attachments = {attachment.name: attachment for attachment in storage.attachments(document.id)}
        assert set(attachments) == referenced, f"{document.id}: orphan or missing attachments"
    model = get_embedded_model()
    texts = [text for text, _ in sampled]
    for (_, data), vector in zip(sampled, model.embed(texts), strict=True):
        stored = np.frombuffer(data, dtype="<f4")
        assert float(np.dot(stored, vector)) > 0.999
