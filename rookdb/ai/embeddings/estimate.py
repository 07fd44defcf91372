"""What embedding a task's collection would take, before the task is saved: the texts to embed, their
tokens, and how many of them the embeddings cache already holds.

It plans every document as the worker would (extraction, chunking, the connection string's document
prompt, the text hash) and looks each distinct text up in the cache of the connection string it
names, so a migration to another model, or a reset, is priced before it starts. Nothing is written
and no provider is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rookdb.ai.connection_strings import AiConnectionString
from rookdb.ai.embeddings.batch import plan_batch
from rookdb.ai.embeddings.cache import EmbeddingsCache
from rookdb.ai.embeddings.extraction import create_extractor
from rookdb.ai.prompts import prompts_for
from rookdb.ai.task_config import EmbeddingsGenerationConfiguration
from rookdb.ai.tokens import count_tokens
from rookdb.settings import Settings
from rookdb.storage.base import DocumentStorage

__all__ = ["DEFAULT_ESTIMATE_PAGE", "EmbeddingsEstimate", "estimate_embeddings"]

# Documents planned (and, for a script task, sent to the script host) at a time.
DEFAULT_ESTIMATE_PAGE = 512


@dataclass(frozen=True)
class EmbeddingsEstimate:
    """``texts`` counts every chunk of every document; ``unique_texts`` counts each distinct text once
    (the cache and the provider see each once). ``tokens_estimated``: the model's tokenizer is not
    bundled, so tokens are length / 4."""

    documents: int
    failed_documents: int
    texts: int
    unique_texts: int
    cached_texts: int
    texts_to_embed: int
    tokens_to_embed: int
    cached_tokens: int
    tokens_estimated: bool

    def to_json(self) -> dict[str, Any]:
        return {"Documents": self.documents, "FailedDocuments": self.failed_documents, "Texts": self.texts,
                "UniqueTexts": self.unique_texts, "CachedTexts": self.cached_texts,
                "TextsToEmbed": self.texts_to_embed, "TokensToEmbed": self.tokens_to_embed,
                "CachedTokens": self.cached_tokens, "TokensEstimated": self.tokens_estimated}


def estimate_embeddings(storage: DocumentStorage, task: EmbeddingsGenerationConfiguration,
                        connection_string: AiConnectionString, settings: Settings,
                        page: int = DEFAULT_ESTIMATE_PAGE) -> EmbeddingsEstimate:
    """Plan every document of ``task.collection`` with ``connection_string`` and price it.

    Raises ``ScriptError`` when the task's script does not compile. Reads committed data only.
    """
    extractor = create_extractor(task, settings)
    prompt = prompts_for(connection_string).document
    unique: dict[str, str] = {}
    documents = failed = texts = 0
    try:
        after = 0
        while True:
            changes = storage.changes_since(after, page, task.collection)
            if not changes:
                break
            plan = plan_batch(changes, extractor, prompt)
            alive = [document for document in plan.documents if not document.deleted]
            documents += len(alive)
            failed += sum(1 for document in alive if document.error is not None)
            texts += plan.chunk_count
            unique.update(plan.texts)
            after = changes[-1].etag
    finally:
        extractor.close()
    hits = EmbeddingsCache(storage).lookup(connection_string.identifier, unique, task.quantization)
    model: str | None = getattr(connection_string.settings, "model", None)
    to_embed = count_tokens(model, [text for digest, text in unique.items() if digest not in hits])
    cached = count_tokens(model, [unique[digest] for digest in hits])
    return EmbeddingsEstimate(documents, failed, texts, len(unique), len(hits), len(unique) - len(hits),
                              to_embed.tokens, cached.tokens, to_embed.estimated or cached.estimated)
