"""What saving a task would embed: every chunk planned as the worker plans it, priced against the cache."""

from __future__ import annotations

from datetime import timedelta

from rookdb.ai.chunking import ChunkingOptions
from rookdb.ai.connection_strings import AiConnectionString, EmbeddedSettings, OpenAiSettings
from rookdb.ai.embeddings.cache import EmbeddingsCache
from rookdb.ai.embeddings.estimate import estimate_embeddings
from rookdb.ai.quantization import VectorEmbeddingType, encode, text_hash
from rookdb.ai.task_config import EmbeddingPathConfiguration, EmbeddingsGenerationConfiguration
from rookdb.ai.tokens import count_tokens
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage
from tests.support.storage import delete, put

EMBEDDED = AiConnectionString("Embedded", "embedded", "TextEmbeddings", EmbeddedSettings())
OPENAI = AiConnectionString("Small", "small", "TextEmbeddings", OpenAiSettings(
    api_key="k", endpoint="http://127.0.0.1:1/v1", model="text-embedding-3-small"))
TASK = EmbeddingsGenerationConfiguration(
    name="Names", identifier="names", connection_string_name="Embedded", collection="Products",
    embeddings_path_configurations=(EmbeddingPathConfiguration("Name", ChunkingOptions()),))


def test_texts_tokens_and_what_the_cache_holds(storage: SqliteStorage) -> None:
    for number, name in enumerate(["Chai", "Chang", "Chai", "Tofu"]):
        put(storage, f"products/{number}", Name=name)
    put(storage, "products/9", Name="Gone")
    delete(storage, "products/9")
    put(storage, "orders/1", "Orders", Name="Not a product")
    with storage.write() as tx:  # "Tofu" is cached for the embedded connection string only
        EmbeddingsCache(storage).put_in(tx, "embedded", text_hash("Tofu"), VectorEmbeddingType.SINGLE,
                                        encode([1.0, 0.0], VectorEmbeddingType.SINGLE), timedelta(days=1))
    estimate = estimate_embeddings(storage, TASK, EMBEDDED, Settings(environ={}), page=2)
    assert (estimate.documents, estimate.texts, estimate.unique_texts) == (4, 4, 3)
    assert (estimate.cached_texts, estimate.texts_to_embed) == (1, 2)
    assert estimate.tokens_to_embed == count_tokens(None, ["Chai", "Chang"]).tokens
    assert estimate.cached_tokens == count_tokens(None, ["Tofu"]).tokens and not estimate.tokens_estimated
    other = estimate_embeddings(storage, TASK, OPENAI, Settings(environ={}))
    assert (other.cached_texts, other.texts_to_embed) == (0, 3)
    assert other.tokens_estimated  # no tokenizer of OpenAI's model ships with rookdb
    assert other.to_json()["TextsToEmbed"] == 3
