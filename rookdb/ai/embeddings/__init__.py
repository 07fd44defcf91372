"""Embeddings generation: storage layout, cache, extraction, the per-task worker and query embedding."""

from rookdb.ai.embeddings.layout import task_vectors
from rookdb.ai.embeddings.query import QueryEmbedder

__all__ = ["QueryEmbedder", "task_vectors"]
